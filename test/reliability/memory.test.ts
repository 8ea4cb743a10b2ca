// The memory bound with the default limits: Redis unreachable for the whole run while every
// invocation adds a new 100-character label value to three metrics (a cardinality flood). The
// heap must level off far inside a 128 MB isolate however long the run goes on.

import v8 from "node:v8";
import vm from "node:vm";
import { Redis } from "@upstash/redis";
import { describe, expect, it } from "vitest";
import { Counter, Gauge, Histogram, Registry } from "../../src/index.ts";
import { startFaultProxy } from "../../tools/fault-proxy/proxy.ts";
import { sharedStack, uniquePrefix } from "../helpers/stack.ts";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

function heapMiB(): number {
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

const INVOCATIONS = 60_000;
const FLUSH_EVERY = 200;

describe("memory under a label flood with Redis down (default limits)", () => {
  it(`${INVOCATIONS} invocations: the heap levels off`, async () => {
    const proxy = await startFaultProxy({ target: sharedStack().url });
    await proxy.setDown("redisDown");
    try {
      const registry = new Registry({
        redis: new Redis({ url: proxy.url, token: sharedStack().token, retry: { retries: 0 } }),
        prefix: uniquePrefix("memory"),
        retries: 0,
        onError: () => {},
      });
      const labelNames = ["user"] as const;
      const c = new Counter({ name: "c_total", help: "h", labelNames, registers: [registry] });
      const g = new Gauge({ name: "g", help: "h", labelNames, registers: [registry] });
      const h = new Histogram({ name: "h", help: "h", labelNames, registers: [registry] });
      const baseline = heapMiB();
      const samples: { at: number; heap: number; pending: number; dropped: number }[] = [];
      for (let i = 1; i <= INVOCATIONS; i++) {
        const user = `${i.toString(36).padStart(8, "0")}-${"u".repeat(91)}`;
        c.inc({ user });
        g.set({ user }, i);
        h.observe({ user }, i % 7);
        if (i % FLUSH_EVERY === 0) await registry.flush();
        if (i % 10_000 === 0) {
          samples.push({
            at: i,
            heap: heapMiB() - baseline,
            pending: registry.stats.pendingBytes / 1024 / 1024,
            dropped: registry.stats.droppedUpdates,
          });
        }
      }
      console.log(
        `label flood, Redis down, default limits: heap growth over baseline (MiB) ${samples
          .map((s) => `@${s.at / 1000}k ${s.heap.toFixed(1)}`)
          .join(
            ", ",
          )}; queued batches ≤ ${Math.max(...samples.map((s) => s.pending)).toFixed(1)} MiB; ` +
          `dropped updates ${samples.at(-1)!.dropped} of ${3 * INVOCATIONS}`,
      );
      const late = samples.slice(-3).map((s) => s.heap);
      expect(Math.max(...samples.map((s) => s.heap))).toBeLessThan(64);
      // Levelled off: the last samples differ by little, whatever the number of invocations.
      expect(Math.max(...late) - Math.min(...late)).toBeLessThan(4);
      expect(registry.stats.pendingBytes).toBeLessThanOrEqual(8 * 1024 * 1024);
    } finally {
      await proxy.stop();
    }
  }, 120_000);
});
