// The packed encoding and its merge, in TypeScript: round trips, and the property that makes
// native histograms global: deltas of several instances, merged in any order, hold exactly the
// buckets of every observation mapped straight at the lowest schema any of them used.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bucketIndex,
  DEFAULT_ZERO_THRESHOLD,
  decodePacked,
  NativeAccumulator,
  type NativeHistogram,
  resolveNativeOptions,
} from "../../src/native/index.ts";
import { packFloat, packNumber } from "../../src/native/packed.ts";
import { mulberry32 } from "../../tools/prng.ts";
import { encodePacked, mergePacked } from "./merge-model.ts";

const SEED = 20261205;

const histogram = fc.record({
  schema: fc.integer({ min: -4, max: 8 }),
  zeroThreshold: fc.constantFrom(0, DEFAULT_ZERO_THRESHOLD, 0.001),
  zeroCount: fc.nat(),
  count: fc.nat(),
  sum: fc.double({ min: -1e300, max: 1e300, noNaN: true }),
  positive: fc
    .uniqueArray(fc.integer({ min: -60, max: 60 }), { maxLength: 30 }) // valid down to schema −4
    .map((is) => is.sort((a, b) => a - b).map((i) => [i, (i & 7) + 1] as [number, number])),
  negative: fc
    .uniqueArray(fc.integer({ min: -60, max: 60 }), { maxLength: 30 })
    .map((is) => is.sort((a, b) => a - b).map((i) => [i, (i & 3) + 2] as [number, number])),
});

describe("encodePacked / decodePacked", () => {
  it("round-trip every field exactly", () => {
    fc.assert(
      fc.property(histogram, (h) => {
        expect(decodePacked(encodePacked(h))).toEqual({ ...h, sum: h.sum + 0 }); // −0 reads as 0
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it("refuse what is not a packed histogram", () => {
    for (const bad of [
      "",
      "3 0 0",
      "3 0 0 0 x",
      "3 0 0 0 0 p1:x",
      "3 0 0 0 0 q1:2",
      "3 0 0 0 0 p:1",
    ]) {
      expect(() => decodePacked(bad), bad).toThrow(/^bad native histogram/);
    }
  });

  it("spell out the format", () => {
    // Numbers: continuation digits (base 27) then one terminal digit; signed ones keep the sign
    // in the terminal digit's low bit.
    expect([0, 61, 62, 1000, 2 ** 53].map((v) => packNumber(v))).toEqual([
      "0",
      "z",
      "#0",
      "?8", // 16·62 + 8
      "]#---+(-$_8",
    ]);
    expect([0, -0, 1, -1, 30, 31, -1000].map((v) => packNumber(v, true))).toEqual([
      "0",
      "0",
      "2",
      "3",
      "y",
      "#0",
      "#(H", // −(32·31 + 8): prefix 32 = 1·27 + 5, terminal 2·8 + 1
    ]);
    // Floats: odd mantissa, then exponent (1.5 = 3·2^−1, 2^−128 = 1·2^−128).
    expect([0, 1.5, -2, 2 ** -128].map(packFloat)).toEqual(["00", "63", "32", "2'9"]);
    const h: NativeHistogram = {
      schema: -2,
      zeroThreshold: 2 ** -10,
      zeroCount: 1,
      count: 9,
      sum: 1.5,
      positive: [
        [-3, 2],
        [-1, 1],
        [4, 3],
      ],
      negative: [[0, 2]],
    };
    // schema −2 · threshold 1·2^−10 · zero count 1 · count 9 · sum 3·2^−1 · positive: 2 spans,
    // at −3, 3 long, deltas +2 −2 +1 (the empty −2 filled); at 0 + 4, 1 long, delta +2 ·
    // negative: 1 span at 0, 1 long, delta +2.
    expect(encodePacked(h)).toBe("5 2L 1 9 63 2 7 3 4 5 2 8 1 4 1 0 1 4".replaceAll(" ", ""));
  });

  it("takes at most a third of the old text's bytes for a 105-bucket series", () => {
    /** The previous format: decimal text tokens, about 8 bytes a bucket. */
    const text = (h: NativeHistogram) =>
      `${h.schema} ${h.zeroThreshold} ${h.zeroCount} ${h.count} ${h.sum}` +
      h.positive.map(([i, n]) => ` p${i}:${n}`).join("") +
      h.negative.map(([i, n]) => ` n${i}:${n}`).join("");
    const random = mulberry32(7);
    for (const [observations, maxRatio] of [
      [500, 0.2],
      [1_000_000, 0.3],
    ] as const) {
      const acc = new NativeAccumulator(5, DEFAULT_ZERO_THRESHOLD, 160);
      let sum = 0;
      for (let k = 0; k < observations; k++) {
        const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
        const v = 0.05 * Math.exp(0.5 * z); // lognormal latencies around 50 ms
        acc.observe(v);
        sum += v;
      }
      const packed = acc.encode(sum);
      const h = decodePacked(packed);
      expect(h.positive.length).toBeGreaterThan(100);
      expect(packed.length / text(h).length).toBeLessThan(maxRatio);
    }
  });
});

/** The buckets of `values` mapped straight at `schema`, as a packed string. */
function direct(values: readonly number[], schema: number, zt: number): NativeHistogram {
  const pos = new Map<number, number>();
  const neg = new Map<number, number>();
  let zero = 0;
  for (const v of values) {
    const side = v > zt ? pos : v < -zt ? neg : undefined;
    if (!side) zero++;
    else {
      const i = bucketIndex(Math.abs(v), schema);
      side.set(i, (side.get(i) ?? 0) + 1);
    }
  }
  const sorted = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]);
  return {
    schema,
    zeroThreshold: zt,
    zeroCount: zero,
    count: values.length,
    sum: 0,
    positive: sorted(pos),
    negative: sorted(neg),
  };
}

describe("mergePacked", () => {
  it("adds instances' deltas into exactly the histogram of all their observations", () => {
    const observations = fc.array(
      fc.oneof(
        fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
        fc.double({ min: -1e3, max: -1e-3, noNaN: true }),
        fc.constant(0),
      ),
      { maxLength: 80 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -2, max: 8 }), observations), {
          minLength: 1,
          maxLength: 6,
        }),
        (instances) => {
          const maxBuckets = 10_000; // no cap reduction here: only the schemas differ
          let stored: string | undefined;
          const all: number[] = [];
          let lowest = 8;
          for (const [schema, values] of instances) {
            const acc = new NativeAccumulator(schema, DEFAULT_ZERO_THRESHOLD, maxBuckets);
            for (const v of values) acc.observe(v);
            // Sums are left at 0: float addition order is not what is tested here.
            stored = mergePacked(stored, acc.encode(0), maxBuckets);
            all.push(...values);
            lowest = Math.min(lowest, acc.schema);
          }
          expect(decodePacked(stored!)).toEqual(direct(all, lowest, DEFAULT_ZERO_THRESHOLD));
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("keeps a stored histogram within maxBuckets by lowering its schema, counts intact", () => {
    fc.assert(
      fc.property(histogram, histogram, fc.integer({ min: 1, max: 20 }), (a, b, maxBuckets) => {
        const merged = decodePacked(mergePacked(encodePacked(a), encodePacked(b), maxBuckets));
        const buckets = merged.positive.length + merged.negative.length;
        if (merged.schema > -4) expect(buckets).toBeLessThanOrEqual(maxBuckets);
        expect(merged.schema).toBeLessThanOrEqual(Math.min(a.schema, b.schema));
        const total = (h: NativeHistogram) =>
          h.zeroCount + [...h.positive, ...h.negative].reduce((n, [, c]) => n + c, 0);
        expect(total(merged)).toBe(total(a) + total(b));
        expect(merged.count).toBe(a.count + b.count);
        expect(merged.zeroThreshold).toBe(Math.max(a.zeroThreshold, b.zeroThreshold));
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it("gives the same string whichever side is old", () => {
    fc.assert(
      fc.property(histogram, histogram, fc.integer({ min: 1, max: 40 }), (a, b, maxBuckets) => {
        expect(mergePacked(encodePacked(a), encodePacked(b), maxBuckets)).toBe(
          mergePacked(encodePacked(b), encodePacked(a), maxBuckets),
        );
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});

describe("resolveNativeOptions", () => {
  it("turns native: true into client_java's defaults and checks every option", () => {
    expect(resolveNativeOptions("h", undefined)).toBeUndefined();
    expect(resolveNativeOptions("h", false)).toBeUndefined();
    expect(resolveNativeOptions("h", true)).toEqual({
      schema: 5,
      zeroThreshold: DEFAULT_ZERO_THRESHOLD,
      maxBuckets: 160,
    });
    expect(resolveNativeOptions("h", { bucketFactor: 1.1, maxBuckets: 100 })).toEqual({
      schema: 3,
      zeroThreshold: DEFAULT_ZERO_THRESHOLD,
      maxBuckets: 100,
    });
    expect(resolveNativeOptions("h", { schema: -4, zeroThreshold: 0 })).toEqual({
      schema: -4,
      zeroThreshold: 0,
      maxBuckets: 160,
    });
    for (const bad of [
      { schema: 9 },
      { schema: 1.5 },
      { schema: 3, bucketFactor: 1.1 },
      { bucketFactor: 1 },
      { zeroThreshold: -1 },
      { zeroThreshold: Number.POSITIVE_INFINITY },
      { maxBuckets: 0 },
      { maxBuckets: 2.5 },
      "yes",
    ]) {
      expect(() => resolveNativeOptions("h", bad as never), JSON.stringify(bad)).toThrow(
        /for histogram h$/,
      );
    }
  });
});
