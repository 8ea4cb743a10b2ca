// Flush reliability, one fault at a time, through the fault proxy in front of the local Upstash
// server: every batch is applied exactly once, failures stay inside flush(), what cannot be kept
// is counted, and the self-metrics say so.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { metricsResponse } from "../../src/adapters/metrics-endpoint.ts";
import { Counter, Registry } from "../../src/index.ts";
import { type FaultProxy, type Outcome, startFaultProxy } from "../../tools/fault-proxy/proxy.ts";
import { parseChecked } from "../helpers/exposition.ts";
import { sharedStack, uniquePrefix } from "../helpers/stack.ts";
import { makeIsolate, readTotals, selfMetric } from "./harness.ts";

let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy({ target: sharedStack().url, seed: 3, delayMs: 400 });
});
afterAll(() => proxy.stop());
beforeEach(async () => {
  proxy.setFaults({});
  proxy.setDelay(400, "forward");
  await proxy.setDown(false);
  proxy.resetStats();
});

// Well under the proxy's 400 ms delay, well over a request on a busy 2-core machine.
const FAST = { timeoutMs: 300, backoffMs: 5 };

describe("one fault on the first write attempt, then clean", () => {
  const faults: Outcome[] = ["refuse", "delay", "http500", "http502", "garbage", "applyThenDrop"];
  for (const fault of faults) {
    for (const clientRetry of ["default", "retries: 0"] as const) {
      it(`${fault}, client retry ${clientRetry}: applied exactly once, flush resolves`, async () => {
        const prefix = uniquePrefix(`flush-${fault}`);
        const client = clientRetry === "default" ? {} : { retry: { retries: 0 } };
        const iso = makeIsolate(proxy, prefix, FAST, client);
        proxy.script(fault);
        iso.requests.inc({ route: "/a" }, 3);
        iso.latency.observe({ route: "/a" }, 0.5);
        await expect(iso.registry.flush()).resolves.toBeUndefined();
        const totals = await readTotals(prefix, ["/a"]);
        expect(totals.requests).toBe(3);
        expect(totals.observations).toBe(1);
        expect(iso.registry.stats.pendingBatches).toBe(0);
        // The library retried unless the client's own retry already got through.
        const clientRecovered =
          clientRetry === "default" && (fault === "refuse" || fault === "applyThenDrop");
        expect(iso.registry.stats.retries).toBe(clientRecovered ? 0 : 1);
        // A resend after a lost response is skipped by its number and counted.
        expect(iso.registry.stats.duplicateBatches).toBe(fault === "applyThenDrop" ? 1 : 0);
      });
    }
  }

  it("the late arrival of a timed-out write is skipped: counted once, gauges keep the newest", async () => {
    const prefix = uniquePrefix("flush-late");
    const iso = makeIsolate(proxy, prefix, { ...FAST, retries: 0 });
    proxy.script("delay");
    iso.requests.inc({ route: "/a" });
    await iso.registry.flush(); // times out; the request lands 400 ms later
    expect(iso.registry.stats).toMatchObject({ failedFlushes: 1, pendingBatches: 1 });
    iso.requests.inc({ route: "/a" });
    await iso.registry.flush(); // resends the first batch with the second: both applied now
    await new Promise((r) => setTimeout(r, 500)); // the held request lands: its number is taken
    expect((await readTotals(prefix, ["/a"])).requests).toBe(2);
    expect(iso.registry.stats.pendingBatches).toBe(0);
  });
});

describe("when every attempt fails", () => {
  it("keeps the batch, reports once, and sends it with the next flush in the same request", async () => {
    const prefix = uniquePrefix("flush-carry");
    const iso = makeIsolate(proxy, prefix, FAST, { retry: { retries: 0 } });
    await proxy.setDown("redisDown");
    iso.requests.inc({ route: "/a" }, 5);
    await expect(iso.registry.flush()).resolves.toBeUndefined();
    expect(iso.registry.stats).toMatchObject({
      flushes: 1,
      failedFlushes: 1,
      retries: 2,
      pendingBatches: 1,
      droppedUpdates: 0,
    });
    expect(iso.errors).toHaveLength(1);
    expect(String((iso.errors[0] as Error).message)).toMatch(
      /flush failed after 3 attempt\(s\); 1 batch\(es\) \(1\+ updates\) kept for the next flush/,
    );
    expect(String(((iso.errors[0] as Error).cause as Error).message)).toMatch(/unreachable/);

    await proxy.setDown(false);
    proxy.resetStats();
    iso.requests.inc({ route: "/a" }, 2);
    await iso.registry.flush();
    expect(proxy.stats().total).toBe(1); // old batch, new batch and self-metrics: one request
    const totals = await readTotals(prefix, ["/a"]);
    expect(totals.requests).toBe(7);
    // The failure is visible in the exposition once written.
    expect(selfMetric(totals.families, "prometheus_upstash_flush_failures_total")).toBe(1);
    expect(selfMetric(totals.families, "prometheus_upstash_flush_retries_total")).toBe(2);
  });

  for (const clientRetry of ["retries: 0", "default"] as const) {
    it(`drops the oldest batches beyond maxPendingBytes and counts exactly what was lost (client retry ${clientRetry})`, async () => {
      const prefix = uniquePrefix("flush-bound");
      const client = clientRetry === "default" ? {} : { retry: { retries: 0 } };
      const iso = makeIsolate(proxy, prefix, { ...FAST, retries: 0, maxPendingBytes: 600 }, client);
      await proxy.setDown("refuse");
      let driven = 0;
      for (let i = 0; i < 15; i++) {
        iso.requests.inc({ route: "/a" });
        driven++;
        await iso.registry.flush();
        expect(iso.registry.stats.pendingBytes).toBeLessThanOrEqual(600);
      }
      await proxy.setDown(false);
      // With the client's own retries, requests we gave up on may still land (≤ ~4.3 s): a
      // dropped batch counts as lost only once none of its requests did.
      await vi.waitFor(() => expect(iso.registry.stats.unsettledBatches).toBe(0), {
        timeout: 6000,
      });
      await iso.registry.flush();
      await iso.registry.flush(); // writes the drop counts the previous flush made
      const dropped = iso.registry.stats.droppedUpdates;
      // Without client retries the dropped batches are lost; with them, they may all land.
      if (clientRetry === "retries: 0") expect(dropped).toBeGreaterThan(0);
      const totals = await readTotals(prefix, ["/a"]);
      expect(totals.requests).toBe(driven - dropped);
      expect(
        selfMetric(totals.families, "prometheus_upstash_dropped_updates_total", {
          reason: "pending_limit",
        }),
      ).toBe(dropped);
      expect(
        iso.errors.filter((e) => /dropped 1 unwritten metric update/.test(String(e))),
      ).toHaveLength(dropped);
    });
  }
});

describe("bounds", () => {
  it("splits a flush bigger than maxRequestBytes into several requests, each applied", async () => {
    const prefix = uniquePrefix("flush-split");
    const iso = makeIsolate(proxy, prefix, { maxRequestBytes: 4096 });
    const routes = Array.from({ length: 300 }, (_, i) => `/route/${i}`);
    for (const route of routes) iso.requests.inc({ route }, 2);
    await iso.registry.flush();
    expect(proxy.stats().total).toBeGreaterThanOrEqual(3);
    const totals = await readTotals(prefix, routes);
    expect(totals.requests).toBe(600);
  });

  it("refuses new label sets beyond maxSeriesPerMetric without throwing, and counts them", async () => {
    const prefix = uniquePrefix("flush-cardinality");
    const iso = makeIsolate(proxy, prefix, { maxSeriesPerMetric: 5 });
    for (let i = 0; i < 8; i++) expect(() => iso.requests.inc({ route: `/r${i}` })).not.toThrow();
    iso.requests.inc({ route: "/r0" }); // a known series still counts
    expect(iso.registry.stats.droppedUpdates).toBe(3);
    await iso.registry.flush();
    await iso.registry.flush();
    const totals = await readTotals(
      prefix,
      Array.from({ length: 8 }, (_, i) => `/r${i}`),
    );
    expect(totals.requests).toBe(6);
    expect(
      selfMetric(totals.families, "prometheus_upstash_dropped_updates_total", {
        reason: "series_limit",
      }),
    ).toBe(3);
  });

  it("removing a series frees its place under the cap", () => {
    const registry = new Registry({ maxSeriesPerMetric: 2 });
    const c = new Counter({ name: "c_total", help: "h", labelNames: ["k"], registers: [registry] });
    c.inc({ k: "a" });
    c.inc({ k: "b" });
    c.inc({ k: "c" });
    expect(registry.stats.droppedUpdates).toBe(1);
    c.remove("a");
    c.inc({ k: "c" });
    expect(registry.stats.droppedUpdates).toBe(1);
  });

  it("rejects bad reliability options with a clear error", () => {
    expect(() => new Registry({ timeoutMs: 0 })).toThrow(/timeoutMs must be a positive/);
    expect(() => new Registry({ retries: -1 })).toThrow(/retries must be an integer/);
    expect(() => new Registry({ maxRequestBytes: 100 })).toThrow(/maxRequestBytes/);
    expect(() => new Registry({ maxSeriesPerMetric: 0 })).toThrow(/maxSeriesPerMetric/);
    expect(() => new Registry({ selfMetrics: "yes" as never })).toThrow(/selfMetrics/);
  });

  it("reserves the self-metric names", () => {
    const registry = new Registry();
    expect(
      () =>
        new Counter({
          name: "prometheus_upstash_flush_failures_total",
          help: "h",
          registers: [registry],
        }),
    ).toThrow(/reserved/);
    const own = new Registry({ selfMetrics: false });
    expect(
      () => new Counter({ name: "prometheus_upstash_x_total", help: "h", registers: [own] }),
    ).not.toThrow();
  });
});

describe("scrape under failure", () => {
  it("answers 503 quickly when Redis is unreachable, and never a partial exposition", async () => {
    const prefix = uniquePrefix("scrape-down");
    const iso = makeIsolate(proxy, prefix, { timeoutMs: 300 }, { retry: { retries: 0 } });
    iso.requests.inc({ route: "/a" });
    await iso.registry.flush();
    for (const down of ["refuse", "redisDown"] as const) {
      await proxy.setDown(down);
      const start = performance.now();
      const res = await metricsResponse(iso.registry, new Request("http://x/metrics"), {
        onError: () => {},
      });
      expect(res.status).toBe(503);
      expect(await res.text()).toMatch(/Metrics unavailable/);
      expect(performance.now() - start).toBeLessThan(300);
    }
    await proxy.setDown(false);
  });

  it("a Redis that does not answer makes metrics() reject after timeoutMs", async () => {
    const prefix = uniquePrefix("scrape-slow");
    const iso = makeIsolate(proxy, prefix, { timeoutMs: 200 });
    proxy.setDelay(2000, "drop");
    proxy.setFaults({ delay: 1 });
    const start = performance.now();
    await expect(iso.registry.metrics()).rejects.toThrow(
      /a scrape got no answer from Redis within 200 ms/,
    );
    const elapsed = performance.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(600);
  });

  it("with Redis healthy and nothing failed, no self-metric family is shown", async () => {
    const prefix = uniquePrefix("scrape-healthy");
    const iso = makeIsolate(proxy, prefix);
    iso.requests.inc({ route: "/a" });
    await iso.registry.flush();
    const text = await iso.registry.metrics();
    expect(text).not.toContain("prometheus_upstash_");
    parseChecked(text);
  });
});
