// The packed tarball, installed into a fresh folder, in every runtime the README names: the
// lowest supported Node (the machine's own) and Node 22, Bun and Deno (the npm packages), and
// Vercel's edge runtime with prometheus-upstash/vercel. Each increments, flushes and reads its
// counters back from the run-wide local Upstash server.
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { EdgeRuntime } from "edge-runtime";
import { build } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { sharedStack, uniquePrefix } from "../helpers/stack.ts";
import {
  consumerProject,
  machineNode,
  nodeFloor,
  repoBin,
  runChecked,
  userEnv,
} from "./consumer.ts";

const fixtures = join(import.meta.dirname, "fixtures");
let app = "";

beforeAll(async () => {
  app = await consumerProject("app");
  // Copied in, so their imports resolve in the consumer folder, not in this repository.
  for (const file of ["smoke.mjs", "edge-route.js"])
    copyFileSync(join(fixtures, file), join(app, file));
}, 600_000);

/** Runs smoke.mjs with `command args… smoke.mjs` in the consumer folder; returns what it saw. */
async function smoke(command: string, args: string[], extraEnv: Record<string, string> = {}) {
  const { url, token } = sharedStack();
  const prefix = uniquePrefix("consumer");
  const { stdout } = await runChecked(command, [...args, "smoke.mjs"], {
    cwd: app,
    env: userEnv({ SMOKE_URL: url, SMOKE_TOKEN: token, SMOKE_PREFIX: prefix, ...extraEnv }),
    timeoutMs: 60_000,
  });
  const { text, stats } = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
    text: string;
    stats: { flushes: number; failedFlushes: number; droppedUpdates: number };
  };
  expect(text).toContain('smoke_hits_total{via="flush"} 2\n');
  expect(text).toContain('smoke_hits_total{via="lambda"} 1\n');
  expect(text).toContain('smoke_hits_total{via="vercel"} 4\n');
  expect(text).toContain('smoke_hits_total{via="node"} 3\n');
  expect(stats).toMatchObject({ flushes: 4, failedFlushes: 0, droppedUpdates: 0 });
}

describe("the packed tarball, installed into a fresh folder", { timeout: 120_000 }, () => {
  it(`runs on the lowest supported Node (${nodeFloor()}, the machine's own)`, async () => {
    const { bin, major } = await machineNode();
    // engines.node must name the Node this smoke runs on: a lower floor would go untested.
    expect(major, `engines.node says >=${nodeFloor()}, the machine's Node is ${major}`).toBe(
      nodeFloor(),
    );
    await smoke(bin, []);
  });

  it("runs on Node 22", async () => {
    const { stdout } = await runChecked(repoBin("node"), ["--version"], { cwd: app });
    expect(stdout).toMatch(/^v22\./);
    await smoke(repoBin("node"), []);
  });

  it("runs on Bun", async () => {
    // --no-install: Bun must use the installed folder, never fetch a missing package itself.
    await smoke(repoBin("bun"), ["--no-install"], { DO_NOT_TRACK: "1" });
  });

  it("runs on Deno", async () => {
    const denoDir = join(app, ".deno");
    mkdirSync(denoDir, { recursive: true });
    await smoke(
      repoBin("deno"),
      ["run", "--no-prompt", "--allow-env", "--allow-net=127.0.0.1", "--allow-read", "--allow-sys"],
      { DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: "1" },
    );
  });

  it("runs in Vercel's edge runtime with prometheus-upstash/vercel", async () => {
    const bundled = await build({
      entryPoints: [join(app, "edge-route.js")],
      bundle: true,
      format: "iife",
      platform: "neutral",
      target: "es2022",
      conditions: ["edge-light", "worker", "browser"],
      mainFields: ["module", "main"],
      write: false,
      logLevel: "silent",
    });
    const { url, token } = sharedStack();
    const runtime = new EdgeRuntime({
      initialCode: bundled.outputFiles[0]!.text,
      extend: (context) =>
        Object.assign(context, { SMOKE: { url, token, prefix: uniquePrefix("edge") } }),
    });
    for (let i = 0; i < 3; i++) {
      const res = await runtime.dispatchFetch("http://edge.test/api/hello");
      expect(await res.text()).toBe("hello");
      await res.waitUntil();
    }
    const scrape = await runtime.dispatchFetch("http://edge.test/api/metrics");
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(await scrape.text()).toContain("edge_hits_total 3\n");
  });
});
