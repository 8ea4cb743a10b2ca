// NativeAccumulator against the mapping itself: since schemas nest exactly, whatever schema the
// accumulator ends at, its buckets must be those of mapping every observation straight at that
// schema; it may only have lowered the schema when the buckets (or the span of indices) at the
// schema above would not have fit; and it never loses a count.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bucketIndex,
  DEFAULT_ZERO_THRESHOLD,
  decodePacked,
  MIN_SCHEMA,
  NativeAccumulator,
} from "../../src/native/index.ts";
import { bucketsOf, encodePacked } from "./merge-model.ts";

const SEED = 20261202;

/** The buckets of `values` mapped straight at `schema`. */
function direct(values: readonly number[], schema: number, zeroThreshold: number) {
  const positive = new Map<number, number>();
  const negative = new Map<number, number>();
  let zero = 0;
  for (const v of values) {
    if (v > zeroThreshold) {
      const i = bucketIndex(v, schema);
      positive.set(i, (positive.get(i) ?? 0) + 1);
    } else if (v < -zeroThreshold) {
      const i = bucketIndex(-v, schema);
      negative.set(i, (negative.get(i) ?? 0) + 1);
    } else zero++;
  }
  const sorted = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]);
  return { positive: sorted(positive), negative: sorted(negative), zero };
}

function span(buckets: [number, number][]): number {
  return buckets.length === 0 ? 0 : buckets[buckets.length - 1]![0] - buckets[0]![0] + 1;
}

const values = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.double({ min: 1e-4, max: 100, noNaN: true }) },
    { weight: 2, arbitrary: fc.double({ min: -100, max: -1e-4, noNaN: true }) },
    { weight: 1, arbitrary: fc.double({ min: -1e300, max: 1e300, noNaN: true }) },
    { weight: 1, arbitrary: fc.constantFrom(0, -0, 1, 2, 0.5, 1e-40, -1e-40) },
  ),
  { maxLength: 400 },
);

describe("NativeAccumulator", () => {
  it("holds exactly the buckets of mapping every value at the schema it ended at", () => {
    fc.assert(
      fc.property(
        values,
        fc.integer({ min: -4, max: 8 }),
        fc.integer({ min: 1, max: 60 }),
        fc.constantFrom(0, DEFAULT_ZERO_THRESHOLD, 1e-3),
        (vs, schema, maxBuckets, zt) => {
          const acc = new NativeAccumulator(schema, zt, maxBuckets);
          for (const v of vs) acc.observe(v);
          const want = direct(vs, acc.schema, zt);
          expect(bucketsOf(acc)).toEqual({ positive: want.positive, negative: want.negative });
          expect(acc.zeroCount).toBe(want.zero);
          expect(acc.bucketCount).toBe(want.positive.length + want.negative.length);
          // Within the bounds, unless already at the lowest schema.
          const maxSpan = Math.max(4 * maxBuckets, 256);
          if (acc.schema > MIN_SCHEMA) expect(acc.bucketCount).toBeLessThanOrEqual(maxBuckets);
          expect(span(want.positive)).toBeLessThanOrEqual(maxSpan);
          expect(span(want.negative)).toBeLessThanOrEqual(maxSpan);
          // Lowered only when the schema above did not fit.
          expect(acc.schema).toBeLessThanOrEqual(schema);
          if (acc.schema < schema) {
            const above = direct(vs, acc.schema + 1, zt);
            const fits =
              above.positive.length + above.negative.length <= maxBuckets &&
              span(above.positive) <= maxSpan &&
              span(above.negative) <= maxSpan;
            expect(fits).toBe(false);
          }
        },
      ),
      { seed: SEED, numRuns: 400 },
    );
  });

  it("keeps its schema and arrays across clear(), and starts over empty", () => {
    const acc = new NativeAccumulator(8, DEFAULT_ZERO_THRESHOLD, 10);
    for (let i = 1; i <= 100; i++) acc.observe(i);
    const lowered = acc.schema;
    expect(lowered).toBeLessThan(8);
    acc.clear();
    expect(acc.isEmpty).toBe(true);
    expect(bucketsOf(acc)).toEqual({ positive: [], negative: [] });
    acc.observe(-1e6);
    acc.observe(0);
    expect(acc.schema).toBe(lowered);
    expect(bucketsOf(acc)).toEqual({ positive: [], negative: [[bucketIndex(1e6, lowered), 1]] });
    expect(acc.zeroCount).toBe(1);
  });

  it("encodes its delta as a packed string with the count and the sum given", () => {
    const acc = new NativeAccumulator(3, 0.001, 160);
    const vs = [0.0005, -0.0005, 0.25, 0.25, 1, 1.5, -3, 1e-9];
    let sum = 0;
    for (const v of vs) {
      acc.observe(v);
      sum += v;
    }
    const packed = acc.encode(sum);
    const want = direct(vs, 3, 0.001);
    expect(decodePacked(packed)).toEqual({
      schema: 3,
      zeroThreshold: 0.001,
      zeroCount: 3,
      count: vs.length,
      sum,
      positive: want.positive,
      negative: want.negative,
    });
    expect(packed).toBe(
      encodePacked({ ...decodePacked(packed), positive: want.positive, negative: want.negative }),
    );
  });

  it("writes the canonical packed form (encodePacked's) for any observations", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -4, max: 8 }),
        fc.array(
          fc.oneof(
            fc.double({ min: -1e6, max: 1e6, noNaN: true }),
            fc.constantFrom(0, 1, 2, 1.5, -3),
          ),
          { maxLength: 200 },
        ),
        (schema, values) => {
          const acc = new NativeAccumulator(schema, 1e-9, 40);
          for (const v of values) acc.observe(v);
          const { positive, negative } = direct(values, acc.schema, 1e-9);
          expect(acc.encode(1.25)).toBe(
            encodePacked({
              schema: acc.schema,
              zeroThreshold: 1e-9,
              zeroCount: acc.zeroCount,
              count: values.length,
              sum: 1.25,
              positive,
              negative,
            }),
          );
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("stays bounded when values spread over the whole double range", () => {
    const acc = new NativeAccumulator(8, DEFAULT_ZERO_THRESHOLD, 160);
    for (let k = -1074; k <= 1023; k += 3) {
      acc.observe(2 ** k * 1.3);
      acc.observe(-(2 ** k) * 1.7);
    }
    expect(acc.schema).toBe(MIN_SCHEMA);
    expect(acc.zeroCount + acc.bucketCount).toBeGreaterThan(0);
    const { positive, negative } = bucketsOf(acc);
    const total = [...positive, ...negative].reduce((n, [, c]) => n + c, 0) + acc.zeroCount;
    expect(total).toBe(2 * Math.floor((1023 + 1074) / 3 + 1));
  });
});
