// Redis down for a whole run: 1,000 invocations of a real Hono app with the middleware all
// answer 200 at handler speed, flushes fail in the background (waitUntil) without rejecting,
// memory stays within the bounds, and once Redis is back the stored values plus the counted
// drops add up exactly to what was driven.

import v8 from "node:v8";
import vm from "node:vm";
import { Redis } from "@upstash/redis";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { prometheus } from "../../src/adapters/hono.ts";
import { Counter, Registry } from "../../src/index.ts";
import { startFaultProxy } from "../../tools/fault-proxy/proxy.ts";
import { startRedisServer } from "../../tools/local-upstash/redis-server.ts";
import { startUpstashServer } from "../../tools/local-upstash/server.ts";
import { type ParsedFamily, parseChecked } from "../helpers/exposition.ts";
import { sharedStack, uniquePrefix } from "../helpers/stack.ts";
import { flushUntilSettled } from "./harness.ts";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const INVOCATIONS = 1000;
const MAX_PENDING_BYTES = 4096;
const MAX_SERIES = 100;

function total(families: ParsedFamily[], sample: string): number {
  let n = 0;
  for (const f of families) for (const s of f.samples) if (s.name === sample) n += s.value;
  return n;
}

function heapMiB(): number {
  gc();
  return Math.round((process.memoryUsage().heapUsed / 1024 / 1024) * 10) / 10;
}

interface Outage {
  url: string;
  token: string;
  client: object;
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

/** The network is down: every connection to the REST endpoint is refused. */
async function networkDown(): Promise<Outage> {
  const proxy = await startFaultProxy({ target: sharedStack().url });
  return {
    url: proxy.url,
    token: sharedStack().token,
    client: {}, // the client's default retries, as most apps have them
    down: () => proxy.setDown("refuse"),
    up: () => proxy.setDown(false),
    stop: () => proxy.stop(),
  };
}

/** Upstash is reachable but its Redis is not: a real redis-server, killed (answers 503). */
async function redisKilled(): Promise<Outage> {
  const redis = await startRedisServer();
  const upstash = await startUpstashServer({ redisUrl: redis.url });
  return {
    url: upstash.url,
    token: upstash.token,
    client: {},
    async down() {
      redis.kill();
      await new Promise((r) => setTimeout(r, 100));
    },
    up: () => redis.restart(),
    async stop() {
      await upstash.stop();
      await redis.stop();
    },
  };
}

describe(`Redis down for a whole run of ${INVOCATIONS} invocations`, () => {
  for (const [name, start] of [
    ["network down (connection refused)", networkDown],
    ["Upstash up, its Redis killed (503)", redisKilled],
  ] as const) {
    it(`${name}: every response 200, memory bounded, drops counted exactly`, async () => {
      const outage = await start();
      try {
        const errors: unknown[] = [];
        const registry = new Registry({
          redis: new Redis({ url: outage.url, token: outage.token, ...outage.client }),
          prefix: uniquePrefix("redis-down"),
          timeoutMs: 100,
          retries: 1,
          backoffMs: 10,
          maxPendingBytes: MAX_PENDING_BYTES,
          maxSeriesPerMetric: MAX_SERIES,
          onError: (e) => errors.push(e),
        });
        const userHits = new Counter({
          name: "app_user_hits_total",
          help: "Hits per user: one new label value per request, a cardinality flood",
          labelNames: ["user"],
          registers: [registry],
        });
        const handedOver: Promise<unknown>[] = [];
        const { registerMetrics } = prometheus({
          registry,
          waitUntil: (p) => handedOver.push(p),
        });
        const app = new Hono();
        app.use("*", registerMetrics);
        app.get("/items/:id", (c) => {
          userHits.inc({ user: `user-${c.req.param("id")}` });
          return c.text("ok");
        });

        await outage.down();
        const heap: number[] = [heapMiB()];
        const latencies: number[] = [];
        for (let i = 0; i < INVOCATIONS; i++) {
          const t0 = performance.now();
          const res = await app.request(`/items/${i}`);
          latencies.push(performance.now() - t0);
          expect(res.status).toBe(200);
          expect(await res.text()).toBe("ok");
          if (i % 10 === 9) await new Promise((r) => setTimeout(r, 2)); // let flushes run
          if (i % 250 === 249) heap.push(heapMiB());
          expect(registry.stats.pendingBytes).toBeLessThanOrEqual(MAX_PENDING_BYTES);
        }
        const settled = await Promise.allSettled(handedOver);
        expect(settled.every((s) => s.status === "fulfilled")).toBe(true);
        const whileDown = { ...registry.stats };

        await outage.up();
        await flushUntilSettled(registry, { timeout: 15_000, interval: 100 });
        await registry.flush(); // the counts the last flushes made
        const families = parseChecked(await registry.metrics());
        const stored =
          total(families, "http_requests_total") +
          total(families, "http_request_duration_seconds_count") +
          total(families, "app_user_hits_total");
        const dropped = registry.stats.droppedUpdates;
        const droppedByReason = (reason: string) =>
          families
            .find((f) => f.name === "prometheus_upstash_dropped_updates_total")
            ?.samples.find((s) => s.labels.reason === reason)?.value ?? 0;

        latencies.sort((a, b) => a - b);
        console.log(
          `${name}: ${INVOCATIONS} responses 200; handler p50 ${latencies[499]!.toFixed(2)} ms, ` +
            `p99 ${latencies[989]!.toFixed(2)} ms, max ${latencies[999]!.toFixed(2)} ms; ` +
            `flushes ${whileDown.flushes} (failed ${whileDown.failedFlushes}); heap after GC ` +
            `${heap.join(" → ")} MiB; pending ≤ ${MAX_PENDING_BYTES} B; ` +
            `stored ${stored} + dropped ${dropped} (pending_limit ${droppedByReason("pending_limit")}, ` +
            `series_limit ${droppedByReason("series_limit")}) = ${stored + dropped} of ` +
            `${3 * INVOCATIONS} updates; onError calls ${errors.length}`,
        );

        // Every invocation made 3 updates: request count, duration, user hit.
        expect(stored + dropped).toBe(3 * INVOCATIONS);
        expect(droppedByReason("series_limit")).toBe(INVOCATIONS - MAX_SERIES);
        expect(droppedByReason("pending_limit") + droppedByReason("series_limit")).toBe(dropped);
        // All failures, including those while Redis was coming back, written by the last flush.
        expect(total(families, "prometheus_upstash_flush_failures_total")).toBe(
          registry.stats.failedFlushes,
        );
        // Memory: bounded by the limits, not by the number of invocations.
        expect(Math.max(...heap.slice(1)) - heap[1]!).toBeLessThan(8);
        expect(latencies[989]!).toBeLessThan(20);
        expect(errors.length).toBeGreaterThan(0);
      } finally {
        await outage.stop();
      }
    }, 120_000);
  }
});
