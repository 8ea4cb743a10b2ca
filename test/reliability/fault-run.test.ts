// The heavy run: 10,000 handler invocations across 20 simulated isolates (registries), each
// invocation recording a counter increment and a histogram observation and then flushing (as
// waitUntil would), through the fault proxy with one fault mode at 20 % of requests — and a
// mixed run with every mode at once. Afterwards the faults stop, every isolate flushes what it
// still holds, and Redis must hold exactly what was driven: per route, per histogram bucket.
import { afterAll, describe, expect, it } from "vitest";
import {
  FAULT_MODES,
  type FaultFractions,
  startFaultProxy,
} from "../../tools/fault-proxy/proxy.ts";
import { mulberry32 as seededRandom } from "../../tools/prng.ts";
import { uniquePrefix } from "../helpers/stack.ts";
import {
  BUCKETS,
  bucketOf,
  compareTotals,
  flushUntilSettled,
  type Isolate,
  makeIsolate,
  readTotals,
} from "./harness.ts";

const ISOLATES = 20;
const INVOCATIONS = 10_000;
const ROUTES = ["/", "/items", "/items/:id", "/cart", "/checkout"];
const DELAY_MS = 200;

interface RunFigures {
  run: string;
  requests: number;
  faults: number;
  libraryRetries: number;
  duplicatesSkipped: number;
  failedFlushes: number;
  dropped: number;
  lost: number;
  doubled: number;
  seconds: number;
}

const figures: RunFigures[] = [];
afterAll(() => {
  console.log(
    [
      `| run (${INVOCATIONS} invocations, ${ISOLATES} isolates) | requests | faults injected | library retries | resent batches skipped by number | failed flushes (carried) | dropped | lost | double-counted | seconds |`,
      "|---|---|---|---|---|---|---|---|---|---|",
      ...figures.map(
        (f) =>
          `| ${f.run} | ${f.requests} | ${f.faults} | ${f.libraryRetries} | ${f.duplicatesSkipped} | ${f.failedFlushes} | ${f.dropped} | ${f.lost} | ${f.doubled} | ${f.seconds} |`,
      ),
    ].join("\n"),
  );
});

async function run(name: string, faults: FaultFractions, seed: number): Promise<void> {
  const started = performance.now();
  const proxy = await startFaultProxy({
    target: (await import("../helpers/stack.ts")).sharedStack().url,
    seed,
    faults,
    delayMs: DELAY_MS,
    afterDelay: "forward",
  });
  const prefix = uniquePrefix(`fault-run-${name}`);
  const expectedRequests = new Map<string, number>(ROUTES.map((r) => [r, 0]));
  const expectedBuckets = new Map<string, number[]>(
    ROUTES.map((r) => [r, new Array<number>(BUCKETS.length + 1).fill(0)]),
  );
  const isolates: Isolate[] = Array.from({ length: ISOLATES }, () =>
    makeIsolate(proxy, prefix, { timeoutMs: 100, retries: 2, backoffMs: 5 }),
  );
  try {
    await Promise.all(
      isolates.map(async (iso, n) => {
        const random = seededRandom(seed * 1000 + n);
        for (let i = 0; i < INVOCATIONS / ISOLATES; i++) {
          const route = ROUTES[Math.floor(random() * ROUTES.length)]!;
          const seconds = Math.round(random() * 2000) / 100; // 0 … 20, two decimals
          iso.requests.inc({ route });
          iso.latency.observe({ route }, seconds);
          expectedRequests.set(route, expectedRequests.get(route)! + 1);
          expectedBuckets.get(route)![bucketOf(seconds)]!++;
          await iso.registry.flush(); // never rejects, whatever the fault
        }
      }),
    );
    const faultStats = proxy.stats();

    // Faults off: every isolate sends what it still holds, then its own counts.
    proxy.setFaults({});
    for (const iso of isolates) {
      await flushUntilSettled(iso.registry);
      await iso.registry.flush();
    }

    const totals = await readTotals(prefix, ROUTES);
    // Every bucket counts here: a lost or doubled update shows in all it belongs to.
    const c = compareTotals(totals.families, expectedRequests, expectedBuckets);
    const lost = c.lost + c.bucketsLost;
    const doubled = c.doubled + c.bucketsDoubled;
    const sum = (f: (iso: Isolate) => number) => isolates.reduce((n, iso) => n + f(iso), 0);
    figures.push({
      run: name,
      requests: faultStats.total,
      faults: Object.values(faultStats.faults).reduce((a, b) => a + b, 0),
      libraryRetries: sum((iso) => iso.registry.stats.retries),
      duplicatesSkipped: sum((iso) => iso.registry.stats.duplicateBatches),
      failedFlushes: sum((iso) => iso.registry.stats.failedFlushes),
      dropped: sum((iso) => iso.registry.stats.droppedUpdates),
      lost,
      doubled,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    });
    expect(totals.requests).toBe(INVOCATIONS);
    expect(totals.observations).toBe(INVOCATIONS);
    expect({ lost, doubled }).toEqual({ lost: 0, doubled: 0 });
    expect(sum((iso) => iso.registry.stats.droppedUpdates)).toBe(0);
    for (const iso of isolates) {
      expect(iso.errors.every((e) => /flush failed after/.test(String(e)))).toBe(true);
    }
  } finally {
    await proxy.stop();
  }
}

describe(`${INVOCATIONS} invocations across ${ISOLATES} isolates, faults at 20 % of requests`, () => {
  FAULT_MODES.forEach((mode, i) => {
    it(
      `${mode}: zero lost, zero double-counted`,
      () => run(mode, { [mode]: 0.2 }, 100 + i),
      120_000,
    );
  });
  it(
    "every mode at once (10 % each, 60 % of requests faulty): zero lost, zero double-counted",
    () => run("mixed", Object.fromEntries(FAULT_MODES.map((m) => [m, 0.1])), 200),
    180_000,
  );
});
