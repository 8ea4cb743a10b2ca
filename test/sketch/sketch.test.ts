// The sketch end to end in memory: observations → SketchAccumulator → the hash fields a flush
// sends → SketchCounts → quantiles. Exact quantiles and @datadog/sketches-js are the oracles.
import { DDSketch, LogCollapsingLowestDenseDDSketch } from "@datadog/sketches-js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  collapseLowest,
  LogMapping,
  SketchAccumulator,
  SketchCounts,
} from "../../src/sketch/index.ts";
import { exactQuantile, lognormal, mulberry32, pareto, relativeError } from "./prng.ts";

const SEED = 20261125;
const QS = [0.5, 0.9, 0.99, 0.999];
/** Room for floating-point rounding in value(): the guarantee itself is exactly α. */
const SLACK = 1 + 1e-9;

/** Counts as Redis would hold them after one flush of `values`. */
function sketchOf(mapping: LogMapping, values: Iterable<number>, cap?: number): SketchCounts {
  const accumulator = new SketchAccumulator(mapping, cap);
  for (const v of values) accumulator.add(v);
  return new SketchCounts().addTokens(accumulator.tokens());
}

function sample(next: () => number, n: number): Float64Array {
  const values = new Float64Array(n);
  for (let j = 0; j < n; j++) values[j] = next();
  return values;
}

/** Magnitudes in [1e-6, 1e6] (1,382 buckets at α = 1%: no collapse under the default cap). */
const magnitude = fc.double({ min: 1e-6, max: 1e6, noNaN: true });
const narrowValues = fc.array(
  fc.oneof(
    magnitude,
    magnitude.map((v) => -v),
    fc.constant(0),
  ),
  {
    minLength: 1,
    maxLength: 400,
  },
);

/** Any finite doubles, spanning far more buckets than the cap: local collapses happen. */
const finiteValues = fc.array(
  fc.oneof(
    fc.double({ min: -1e12, max: 1e12, noNaN: true }),
    fc.constant(0),
    fc.double({ min: 1e-6, max: 10, noNaN: true }),
  ),
  { minLength: 1, maxLength: 400 },
);

describe("sketch quantiles", () => {
  const distributions = {
    "lognormal(μ=ln 0.05, σ=1)": lognormal(SEED, Math.log(0.05), 1),
    "pareto(scale=0.01, shape=1.5)": pareto(SEED + 1, 0.01, 1.5),
  };
  for (const [name, next] of Object.entries(distributions)) {
    it(`is within α of the exact quantile on 200,000 ${name} values`, () => {
      const values = sample(next, 200_000);
      const sorted = Float64Array.from(values).sort();
      // The cap must cover ln(max/min)/(2α) buckets: ~4,600 here at α = 0.1%.
      for (const [alpha, cap] of [
        [0.01, 2048],
        [0.001, 8192],
      ] as const) {
        const mapping = new LogMapping(alpha);
        const counts = sketchOf(mapping, values, cap);
        expect(counts.count).toBe(values.length);
        const estimates = counts.quantiles(mapping, QS);
        QS.forEach((q, k) => {
          const error = relativeError(estimates[k]!, exactQuantile(sorted, q));
          expect(error, `q=${q} α=${alpha}`).toBeLessThanOrEqual(alpha * SLACK);
        });
        fc.assert(
          fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (q) => {
            const error = relativeError(counts.quantile(mapping, q), exactQuantile(sorted, q));
            expect(error).toBeLessThanOrEqual(alpha * SLACK);
          }),
          { seed: SEED, numRuns: 300 },
        );
      }
    });
  }

  it("answers what sketches-js's DDSketch answers, negatives and zeros included", () => {
    fc.assert(
      fc.property(narrowValues, fc.double({ min: 0, max: 1, noNaN: true }), (values, q) => {
        const mapping = new LogMapping(0.01);
        const oracle = new DDSketch({ relativeAccuracy: 0.01 });
        for (const v of values) oracle.accept(v);
        expect(sketchOf(mapping, values).quantile(mapping, q)).toBe(oracle.getValueAtQuantile(q));
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });

  it("collapses a batch as sketches-js's LogCollapsingLowestDenseDDSketch does", () => {
    const mapping = new LogMapping(0.01);
    fc.assert(
      fc.property(
        finiteValues,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom(16, 64, 2048),
        (values, q, cap) => {
          const oracle = new LogCollapsingLowestDenseDDSketch({
            relativeAccuracy: 0.01,
            binLimit: cap,
          });
          for (const v of values) oracle.accept(v);
          const ours = sketchOf(mapping, values, cap);
          expect(ours.positive.size).toBeLessThanOrEqual(cap);
          expect(ours.negative.size).toBeLessThanOrEqual(cap);
          expect(ours.quantile(mapping, q)).toBe(oracle.getValueAtQuantile(q));
        },
      ),
      { seed: SEED, numRuns: 3_000 },
    );
  });

  it("keeps the relative-error guarantee on signed values, and answers exact zeros", () => {
    fc.assert(
      fc.property(narrowValues, fc.double({ min: 0, max: 1, noNaN: true }), (values, q) => {
        const mapping = new LogMapping(0.01);
        const sorted = Float64Array.from(values).sort();
        const exact = exactQuantile(sorted, q);
        const estimate = sketchOf(mapping, values).quantile(mapping, q);
        if (Math.abs(exact) <= mapping.minIndexable) {
          // Zero, or a magnitude too small to index (≈ 2e-308): counted as zero.
          expect(estimate).toBe(0);
        } else {
          expect(relativeError(estimate, exact)).toBeLessThanOrEqual(0.01 * SLACK);
          expect(Math.sign(estimate)).toBe(Math.sign(exact));
        }
      }),
      { seed: SEED, numRuns: 3_000 },
    );
  });

  it("merges as a union: the sketch of A ∪ B is the merge of the sketches of A and B (uncollapsed)", () => {
    fc.assert(
      fc.property(narrowValues, narrowValues, (a, b) => {
        const mapping = new LogMapping(0.01);
        const union = sketchOf(mapping, [...a, ...b]);
        const merged = sketchOf(mapping, a).merge(sketchOf(mapping, b));
        expect(merged.positive).toEqual(union.positive);
        expect(merged.negative).toEqual(union.negative);
        expect(merged.zero).toBe(union.zero);
        expect(merged.count).toBe(union.count);
        expect(merged.quantiles(mapping, QS)).toEqual(union.quantiles(mapping, QS));
        // Reading the two hashes back one after the other is the same merge.
        const read = new SketchCounts();
        for (const part of [a, b]) {
          const accumulator = new SketchAccumulator(mapping);
          for (const v of part) accumulator.add(v);
          read.addTokens(accumulator.tokens());
        }
        expect(read.positive).toEqual(union.positive);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it("coalesces repeated observations into one token per touched bucket", () => {
    const mapping = new LogMapping(0.01);
    const accumulator = new SketchAccumulator(mapping);
    expect(accumulator.tokens()).toBe("");
    for (let j = 0; j < 1_000; j++) accumulator.add(0.125);
    accumulator.add(0);
    accumulator.add(-3);
    expect(accumulator.tokens()).toBe(`${mapping.index(0.125)}:1000 n${mapping.index(3)}:1 z:1`);
  });

  it("is NaN when empty or for q outside [0, 1], and refuses NaN observations", () => {
    const mapping = new LogMapping(0.01);
    expect(new SketchCounts().quantiles(mapping, QS).every(Number.isNaN)).toBe(true);
    const counts = sketchOf(mapping, [1, 2, 3]);
    expect(counts.quantile(mapping, -0.1)).toBeNaN();
    expect(counts.quantile(mapping, 1.1)).toBeNaN();
    expect(() => new SketchAccumulator(mapping).add(Number.NaN)).toThrow(TypeError);
  });

  it("counts magnitudes too small to index as zero, Infinity in the top bucket", () => {
    const mapping = new LogMapping(0.01);
    const counts = sketchOf(mapping, [
      Number.MIN_VALUE,
      -Number.MIN_VALUE,
      0,
      -0,
      Number.POSITIVE_INFINITY,
    ]);
    expect(counts.zero).toBe(4);
    expect([...counts.positive.keys()]).toEqual([mapping.maxIndex]);
    expect(Number.isFinite(counts.quantile(mapping, 1))).toBe(true);
  });
});

describe("bucket cap", () => {
  it("stays bounded over a million distinct magnitudes and keeps the high quantiles", () => {
    const cap = 2048;
    const mapping = new LogMapping(0.01);
    const accumulator = new SketchAccumulator(mapping, cap);
    const uniform = mulberry32(SEED);
    const n = 1_000_000;
    const values = new Float64Array(n);
    let largestPending = 0;
    for (let j = 0; j < n; j++) {
      // Uniform in the exponent over 2^±1000: about 70,000 distinct buckets at α = 1%.
      // 53 random bits, so that the million values are distinct.
      const v = 2 ** (2000 * (uniform() + uniform() / 2 ** 32) - 1000);
      values[j] = v;
      accumulator.add(v);
      if ((j & 1023) === 0) largestPending = Math.max(largestPending, accumulator.bucketCount);
    }
    expect(new Set(values).size).toBe(n);
    expect(largestPending).toBeLessThanOrEqual(cap);
    const tokens = accumulator.tokens().split(" ");
    expect(tokens.length).toBeLessThanOrEqual(cap);
    const counts = new SketchCounts().addTokens(tokens.join(" "));
    collapseLowest(counts.positive, cap);
    expect(counts.positive.size).toBe(cap);
    expect(counts.count).toBe(n);
    const sorted = values.sort();
    for (const q of [0.99, 0.999, 1]) {
      expect(
        relativeError(counts.quantile(mapping, q), exactQuantile(sorted, q)),
      ).toBeLessThanOrEqual(0.01 * SLACK);
    }
    // Below the kept range the answer is the lowest kept bucket: too high, never too low.
    expect(counts.quantile(mapping, 0.5)).toBeGreaterThan(exactQuantile(sorted, 0.5));
  });

  it("collapseLowest folds the lowest buckets into the lowest kept one", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: -5000, max: 5000 }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 300 }),
        (indices, cap) => {
          const buckets = new Map(indices.map((index, j) => [index, j + 1]));
          const total = [...buckets.values()].reduce((s, c) => s + c, 0);
          const sorted = [...indices].sort((a, b) => a - b);
          const floor = collapseLowest(buckets, cap);
          expect(buckets.size).toBe(Math.min(cap, indices.length));
          expect([...buckets.values()].reduce((s, c) => s + c, 0)).toBe(total);
          if (indices.length <= cap) {
            expect(floor).toBeUndefined();
          } else {
            expect(floor).toBe(sorted[indices.length - cap]);
            expect(Math.min(...buckets.keys())).toBe(floor);
            expect([...buckets.keys()].sort((a, b) => a - b)).toEqual(sorted.slice(-cap));
          }
        },
      ),
      { seed: SEED, numRuns: 1_000 },
    );
  });
});
