// Issue 13, item 6: when one metric is split over several batches (request parts) and some of
// them are dropped, stored + dropped = driven must hold exactly: each part counts the updates it
// carries. (On 6ede55a only the first part carried the metric's count: −15 of 80 when a later
// part was dropped, +15 of 60 when the first was.)
import { afterAll, beforeAll, expect, it } from "vitest";
import { Counter, Registry } from "../../src/index.ts";
import { type FaultProxy, startFaultProxy } from "../../tools/fault-proxy/proxy.ts";
import { parseChecked } from "../helpers/exposition.ts";
import { newClient, sharedStack, uniquePrefix } from "../helpers/stack.ts";

let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy({ target: sharedStack().url });
});
afterAll(() => proxy.stop());

/** 80 series of one counter, 1 to 3 calls each, 40-character label values: ~8 parts. */
function drive(counter: Counter, series: number, tag: string): number {
  let driven = 0;
  for (let i = 0; i < series; i++) {
    const calls = (i % 3) + 1;
    for (let k = 0; k < calls; k++)
      counter.inc({ v: `${tag}-${String(i).padStart(3, "0")}`.padEnd(40, "x") });
    driven += calls;
  }
  return driven;
}

async function storedTotal(registry: Registry): Promise<number> {
  let total = 0;
  for (const f of parseChecked(await registry.metrics())) {
    for (const s of f.samples) total += s.value;
  }
  return total;
}

it.each([
  ["a later part of the metric is dropped", ["clean", "http500"]],
  ["the first part of the metric is dropped", ["http500"]],
] as const)("%s: stored + dropped = driven", async (_, firstOutcomes) => {
  const registry = new Registry({
    redis: newClient({ url: proxy.url, retry: { retries: 0 } }),
    prefix: uniquePrefix("drops"),
    maxRequestBytes: 1024, // a part holds ~10 series
    maxPendingBytes: 6000, // holds one flush of 80 series, not two
    retries: 0,
    selfMetrics: false,
    onError: () => {},
  });
  const big = new Counter({
    name: "big_total",
    help: "h",
    labelNames: ["v"],
    registers: [registry],
  });
  const more = new Counter({
    name: "more_total",
    help: "h",
    labelNames: ["v"],
    registers: [registry],
  });
  let driven = drive(big, 80, "a");
  proxy.script(...firstOutcomes);
  await registry.flush();
  expect(registry.stats.failedFlushes).toBe(1);
  expect(registry.stats.droppedUpdates).toBe(0);
  // More data: the queue goes over maxPendingBytes and its oldest parts are dropped.
  driven += drive(more, 30, "b");
  await registry.flush(); // every request clean from now on
  expect(registry.stats.pendingBatches).toBe(0);
  const stored = await storedTotal(registry);
  expect(stored + registry.stats.droppedUpdates - driven).toBe(0);
  expect(stored).toBeLessThan(driven); // something was dropped indeed
});
