// CPU of one /metrics request inside workerd: the example Worker (worker/index.ts) in
// Miniflare, its Redis pre-populated with the Hono middleware's two metrics at N label sets
// (http_requests_total + http_request_duration_seconds with native: true, 5 observations per
// label set), then /metrics requests one after another. CPU is the workerd process' own
// (user + system from /proc/<pid>/stat, 10 ms ticks, so averaged over enough requests): the
// fetch to the local Upstash server, @upstash/redis' JSON and base64 work, decode, collect and
// render — what Workers bill — and not the Upstash server's or Redis' (other processes).
// Knobs: BENCH_SCRAPE_WORKERD_SERIES (default 1000,10000), BENCH_SCRAPE_WORKERD_CPU_S (CPU
// seconds to spend per row, default 3).
import { Redis } from "@upstash/redis";
import { Registry } from "../src/index.ts";
import { honoMetrics } from "./lib/hono-metrics.ts";
import { mulberry32 } from "./lib/prng.ts";
import { fmt, printTable, writeResults } from "./lib/report.ts";
import {
  bundleExampleWorker,
  startStackProcess,
  startWorkers,
  workerdCpuSeconds,
} from "./lib/workers.ts";

const SERIES = (process.env["BENCH_SCRAPE_WORKERD_SERIES"] ?? "1000,10000").split(",").map(Number);
const CPU_SECONDS = Number(process.env["BENCH_SCRAPE_WORKERD_CPU_S"] ?? 3);
const OBSERVATIONS = 5;

interface Row {
  labelSets: number;
  requests: number;
  cpuMsPerScrape: number;
  wallMsPerScrape: number;
  responseBytes: number;
  /** Label sets per ms of workerd CPU, and what fits in 10 ms and in 1 s at that rate. */
  within10ms: number;
  within1s: number;
}

/** The Worker's Redis (prefix "prom", its registry's default) holding N Hono label sets. */
async function populate(stack: { url: string; token: string }, n: number): Promise<void> {
  const random = mulberry32(n);
  const latency = () =>
    0.05 *
    Math.exp(0.5 * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
  for (let start = 0; start < n; start += 5000) {
    const registry = new Registry({
      redis: new Redis({ url: stack.url, token: stack.token }),
      prefix: "prom",
      onError: (e) => {
        throw e;
      },
    });
    const { requests: total, duration } = honoMetrics(registry);
    for (let i = start; i < Math.min(n, start + 5000); i++) {
      const labels = { method: "GET", status: "200", ok: "true", route: `/r/${i}` };
      for (let k = 0; k < OBSERVATIONS; k++) {
        total.inc(labels);
        duration.observe(labels, latency());
      }
    }
    await registry.flush();
  }
}

async function main(): Promise<void> {
  const stack = await startStackProcess();
  const [worker] = await startWorkers(await bundleExampleWorker("with"), 1, stack);
  const rows: Row[] = [];
  try {
    for (const n of SERIES) {
      await stack.redis.flushall();
      await populate(stack, n);
      const scrape = async () => {
        const res = await worker!.dispatchFetch("http://example.test/metrics");
        const body = await res.text();
        if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${body}`);
        return body.length;
      };
      let bytes = 0;
      for (let i = 0; i < 3; i++) bytes = await scrape(); // warm-up: EVAL, JIT
      if (!bytes) throw new Error("empty scrape");
      const cpu0 = workerdCpuSeconds(worker!);
      const t0 = performance.now();
      let requests = 0;
      while (requests < 3 || workerdCpuSeconds(worker!) - cpu0 < CPU_SECONDS) {
        await scrape();
        requests++;
      }
      const cpuMs = ((workerdCpuSeconds(worker!) - cpu0) * 1000) / requests;
      rows.push({
        labelSets: n,
        requests,
        cpuMsPerScrape: cpuMs,
        wallMsPerScrape: (performance.now() - t0) / requests,
        responseBytes: bytes,
        within10ms: Math.floor((10 / cpuMs) * n),
        within1s: Math.floor((1000 / cpuMs) * n),
      });
      console.log(`${n} label sets: ${fmt(cpuMs)} ms CPU per /metrics`);
    }
  } finally {
    await worker?.dispose();
    await stack.stop();
  }
  printTable(
    "CPU of one /metrics request in workerd (the example Worker, Miniflare), the Hono middleware's two metrics at N label sets; label sets within 10 ms / 1 s at that CPU per label set (linear)",
    ["label sets", "requests", "workerd CPU ms", "wall ms", "body bytes", "in 10 ms", "in 1 s"],
    rows.map((r) => [
      String(r.labelSets),
      r.requests,
      r.cpuMsPerScrape,
      r.wallMsPerScrape,
      r.responseBytes,
      r.within10ms,
      r.within1s,
    ]),
  );
  writeResults("scrape-workerd", {
    description:
      "workerd CPU (user + system of the workerd process) per /metrics request of the example Worker, Redis holding the Hono middleware's two metrics at N label sets",
    rows,
  });
}

await main();
