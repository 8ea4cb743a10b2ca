// One write per isolate per interval, in workerd (the example Worker as shipped, in Miniflare,
// so with the Hono adapter's default interval): each request's waitUntil lasts until a write
// holding its data was answered, so an isolate disposed of right after its last waitUntil
// settled has lost nothing — also when the first write fails — and no request ever waits on
// another request's promise (workerd would cancel it and warn).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { Redis } from "@upstash/redis";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Counter, Registry } from "../../src/index.ts";
import { bundleWorker } from "../../tools/bundle-worker.ts";
import { type FaultProxy, type Outcome, startFaultProxy } from "../../tools/fault-proxy/proxy.ts";
import { type LocalStack, startLocalStack } from "../../tools/local-upstash/stack.ts";

const PROBE_ENTRY = fileURLToPath(new URL("./fixtures/wait-until-probe.ts", import.meta.url));

let stack: LocalStack;
let proxy: FaultProxy;
let script: string;
let probe: Server;
let probeUrl: string;
/** Every "settled so far" the isolate reported when its pending waitUntil work reached 0. */
let reports: number[] = [];
let onReport: (() => void) | undefined;

beforeAll(async () => {
  // A stack of its own: the example Worker writes under the default prefix.
  stack = await startLocalStack();
  proxy = await startFaultProxy({ target: stack.url, seed: 11 });
  script = await bundleWorker(PROBE_ENTRY);
  probe = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => {
      body += d.toString();
    });
    req.on("end", () => {
      reports.push(Number(body));
      res.end("ok");
      onReport?.();
    });
  });
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  probeUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/settled`;
}, 60_000);

afterAll(async () => {
  probe?.closeAllConnections();
  await new Promise((r) => probe?.close(r));
  await proxy?.stop();
  await stack?.stop();
});

beforeEach(() => {
  proxy.setFaults({});
  proxy.setDelay(40, "forward");
  proxy.resetStats();
  reports = [];
});

/** A fresh isolate of the example Worker (behind the probe), its Redis behind the fault proxy. */
async function isolate(): Promise<{ mf: Miniflare; log: string[] }> {
  const log: string[] = [];
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script,
      compatibilityDate: "2026-11-02",
      bindings: {
        UPSTASH_REDIS_REST_URL: proxy.url,
        UPSTASH_REDIS_REST_TOKEN: stack.token,
        PROBE_URL: probeUrl,
      },
      handleStructuredLogs: ({ message }: { message: string }) => log.push(message),
    }),
  );
  await mf.ready;
  return { mf, log };
}

/** Resolves once the isolate reported that all `n` waitUntil promises have settled. */
function allSettled(n: number, timeoutMs = 40_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`settled: ${reports.join(",")}`)), timeoutMs);
    const check = () => {
      if (reports.some((settled) => settled >= n)) {
        clearTimeout(timer);
        onReport = undefined;
        resolve();
      }
    };
    onReport = check;
    check();
  });
}

/** GET /users/:id requests counted in Redis, read by a registry of our own (not the isolate). */
async function countedInRedis(): Promise<number> {
  const registry = new Registry({ redis: new Redis({ url: stack.url, token: stack.token }) });
  new Counter({
    name: "http_requests_total",
    help: "Total number of HTTP requests",
    labelNames: ["method", "status", "ok", "route"],
    registers: [registry],
  });
  const [family] = await registry.getMetricsAsJSON();
  return (family?.values ?? [])
    .filter((v) => v.labels["route"] === "/users/:id")
    .reduce((n, v) => n + v.value, 0);
}

async function get(mf: Miniflare, i: number): Promise<number> {
  const res = await mf.dispatchFetch(`http://example.test/users/${(i % 100) + 1}`);
  await res.arrayBuffer();
  return res.status;
}

/** `n` requests at `perSecond`, each sent whatever the previous ones are doing. */
async function steady(mf: Miniflare, n: number, perSecond: number): Promise<number[]> {
  const sent: Promise<number>[] = [];
  for (let i = 0; i < n; i++) {
    sent.push(get(mf, i));
    await new Promise((r) => setTimeout(r, 1000 / perSecond));
  }
  return Promise.all(sent);
}

const crossRequest = (log: string[]) => log.filter((m) => m.includes("different request context"));

describe("one write per isolate per interval (example Worker, default interval)", () => {
  it("N requests, then the isolate disposed after its last waitUntil settled: all N counted", async () => {
    const before = await countedInRedis();
    const { mf, log } = await isolate();
    const n = 60;
    const statuses = await steady(mf, n, 10); // 6 s: across two intervals
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    await allSettled(n);
    await mf.dispose();
    expect((await countedInRedis()) - before).toBe(n);
    // One write at once, then one per 5 s interval — not one per request.
    expect(proxy.stats().total).toBeLessThanOrEqual(4);
    expect(crossRequest(log)).toEqual([]);
  }, 60_000);

  const firstWriteFaults: [string, Outcome[]][] = [
    // every attempt of the first write fails: its data waits for the next interval's write
    ["HTTP 500 on every attempt of the first write", ["http500", "http500", "http500"]],
    // applied, but the answer is lost: the client's resend is skipped by the batch number
    ["the first write applied but its answer lost", ["applyThenDrop"]],
  ];
  for (const [name, outcomes] of firstWriteFaults) {
    it(`${name}: every request counted once after the retry`, async () => {
      const before = await countedInRedis();
      const { mf, log } = await isolate();
      proxy.script(...outcomes);
      const n = 30;
      const statuses = await steady(mf, n, 10);
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      await allSettled(n);
      await mf.dispose();
      expect((await countedInRedis()) - before).toBe(n);
      const faulted = proxy.stats().faults;
      expect(faulted.http500 + faulted.applyThenDrop).toBe(outcomes.length);
      expect(crossRequest(log)).toEqual([]);
    }, 60_000);
  }

  it("concurrent requests across an interval: 0 cross-request warnings, all counted", async () => {
    proxy.setFaults({ delay: 1 }); // a slow Redis (40 ms a request): writes overlap requests
    const before = await countedInRedis();
    const { mf, log } = await isolate();
    const statuses: number[] = [];
    const until = Date.now() + 6000;
    await Promise.all(
      Array.from({ length: 8 }, async (_, caller) => {
        for (let i = caller; Date.now() < until; i += 8) statuses.push(await get(mf, i));
      }),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    await allSettled(statuses.length);
    await mf.dispose();
    expect((await countedInRedis()) - before).toBe(statuses.length);
    expect(crossRequest(log)).toEqual([]);
    expect(proxy.stats().total).toBeLessThanOrEqual(4);
  }, 60_000);
});
