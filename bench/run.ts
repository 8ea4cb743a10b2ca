// `npm run bench` runs every benchmark; `npm run bench -- <name> [<name>…]` runs some.
// Each runs in a process of its own (its own heap and JIT state, its own Redis) and writes
// bench/results/<name>.json and .svg.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const BENCHES: Record<string, string> = {
  "hot-path": "synchronous metric calls vs prom-client",
  cost: "billed commands (Upstash's rule), requests and bytes per flush and per scrape vs @upstash/redis and the seed layout",
  scrape: "metrics() time vs prom-client, requests per scrape, Redis memory per series",
  "scrape-workerd": "workerd CPU of one /metrics request of the example Worker (Hono metrics)",
  "worker-overhead": "example Worker latency with vs without the middleware (Miniflare)",
  throughput: "invocations/s through several Miniflare instances, commands per invocation",
  "flush-cost": "billed commands per 1,000 requests at fixed rates, default interval vs 0",
  native:
    "native vs classic histograms: billed commands and bytes per flush, Redis memory per series",
  "scrape-size":
    "paged scrape of the Hono metrics at 1k-100k label sets: pages, billed commands, reply bytes vs the unpaged read, script time in Redis",
  "remote-write":
    "a remote write push of 1k and 10k series vs a scrape of the same: CPU after the read, bytes; snappy encoders compared",
};

const here = dirname(fileURLToPath(import.meta.url));
const asked = process.argv.slice(2);
for (const name of asked) {
  if (!(name in BENCHES)) {
    console.error(`unknown benchmark "${name}"; choose from: ${Object.keys(BENCHES).join(", ")}`);
    process.exit(2);
  }
}
const chosen = asked.length > 0 ? asked : Object.keys(BENCHES);

function runOne(name: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(here, `${name}.ts`)], { stdio: "inherit" });
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const failed: string[] = [];
const started = performance.now();
for (const name of chosen) {
  const file = join(here, `${name}.ts`);
  if (!existsSync(file)) {
    console.error(`\n### ${name}: ${file} is missing`);
    failed.push(name);
    continue;
  }
  console.log(`\n### ${name}: ${BENCHES[name]}`);
  const t = performance.now();
  const code = await runOne(name);
  console.log(
    `### ${name}: ${code === 0 ? "done" : `FAILED (exit ${code})`} in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  if (code !== 0) failed.push(name);
}
console.log(
  `\nall benchmarks: ${((performance.now() - started) / 1000).toFixed(1)} s${failed.length ? `; failed: ${failed.join(", ")}` : ""}`,
);
process.exit(failed.length > 0 ? 1 : 0);
