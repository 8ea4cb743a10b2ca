// Issue 13, item 5: what summaries hold in an isolate is bounded by the registry's series budget
// (maxSeriesBytes, default 16 MiB), freed by the flush that writes it, and whatever the bound
// refuses is counted: stored + dropped = driven. Measured in a child Node process limited to a
// 128 MB heap (V8 heap + array buffers, after GC), 10,000 series × 200 observations.
//
// Before (b4cdbe5): latency-like 4,345 B/series (41 MiB); wide values of both signs 33,136
// B/series (316 MiB at the default 10,000-series cap).
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { SeriesLimits } from "../../src/limits.ts";
import { LogMapping, SketchAccumulator, SketchCounts } from "../../src/sketch/index.ts";
import { mulberry32 } from "../../tools/prng.ts";
import { sharedStack } from "../helpers/stack.ts";

const ROOT = process.env.HOSTILE_ROOT ?? fileURLToPath(new URL("../..", import.meta.url));
const CHILD = fileURLToPath(new URL("./fixtures/summary-memory.ts", import.meta.url));

interface Measured {
  bytesPerSeries: number;
  pendingMiB: number;
  afterFlushMiB: number;
  driven: number;
  stored: number;
  dropped: number;
  failedFlushes: number;
}

async function measure(shape: "latency" | "wide", budget?: number): Promise<Measured> {
  const { url, token } = sharedStack();
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      "--expose-gc",
      "--max-old-space-size=128",
      CHILD,
      ROOT,
      shape,
      "10000",
      "200",
      ...(budget ? [String(budget)] : []),
    ],
    { env: { ...process.env, UPSTASH_URL: url, UPSTASH_TOKEN: token }, timeout: 120_000 },
  );
  const m = JSON.parse(stdout.trim().split("\n").pop()!) as Measured;
  console.log(`summary memory, ${shape}: ${JSON.stringify(m)}`);
  return m;
}

it.each(["latency", "wide"] as const)(
  "10,000 %s series: within the series budget, freed by the flush, drops counted",
  async (shape) => {
    const m = await measure(shape);
    expect(m.failedFlushes).toBe(0);
    // 16 MiB of budget, plus what it does not see (strings, maps, V8's bookkeeping).
    expect(m.pendingMiB).toBeLessThan(24);
    expect(m.afterFlushMiB).toBeLessThan(8);
    expect(m.stored + m.dropped).toBe(m.driven);
  },
  120_000,
);

it("with a budget too small for them, the observations refused are counted exactly", async () => {
  const m = await measure("wide", 4 * 2 ** 20);
  expect(m.dropped).toBeGreaterThan(0);
  expect(m.pendingMiB).toBeLessThan(8);
  expect(m.stored + m.dropped).toBe(m.driven);
}, 120_000);

it("a sketch out of budget folds its lowest buckets: high quantiles keep their accuracy", () => {
  const mapping = new LogMapping(0.01);
  const limits = new SeriesLimits(10, 2 * 8 * 64, 1000); // growth up to 64 slots, not 2048
  const accumulator = new SketchAccumulator(mapping, 2048, limits);
  const random = mulberry32(7);
  const values = Array.from({ length: 20_000 }, () => 10 ** (12 * random() - 6));
  for (const v of values) expect(accumulator.add(v)).toBe(true);
  expect(accumulator.bytes).toBeLessThanOrEqual(8 * 64);
  const counts = new SketchCounts().addTokens(accumulator.tokens());
  expect(counts.count).toBe(values.length);
  const sorted = [...values].sort((a, b) => a - b);
  for (const q of [0.999, 0.9999, 1]) {
    const exact = sorted[Math.floor(q * (sorted.length - 1))]!;
    expect(Math.abs(counts.quantile(mapping, q) - exact) / exact).toBeLessThanOrEqual(0.01 + 1e-9);
  }
  accumulator.release();
  expect(limits.usedBytes).toBe(0);
});
