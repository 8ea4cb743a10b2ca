// The log mapping against @datadog/sketches-js's LogarithmicMapping (the test oracle: same
// indices, same bucket values) and against the relative-error guarantee itself.
import { LogarithmicMapping } from "@datadog/sketches-js/dist/ddsketch/mapping/index.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LogMapping } from "../../src/sketch/index.ts";

const SEED = 20261125;
const ALPHAS = [0.01, 0.001, 0.02, 0.05, 0.1];

/** Positive doubles spread over sketches-js's indexable range (uniform in the exponent). */
function magnitudes(oracle: LogarithmicMapping): fc.Arbitrary<number> {
  return fc
    .double({ min: oracle.minPossible, max: oracle.maxPossible, noNaN: true })
    .filter((v) => v > oracle.minPossible);
}

describe("LogMapping", () => {
  for (const alpha of ALPHAS) {
    it(`matches sketches-js's LogarithmicMapping indices and values (α=${alpha})`, () => {
      const ours = new LogMapping(alpha);
      const oracle = new LogarithmicMapping(alpha);
      expect(ours.gamma).toBe(oracle.gamma);
      // Ours goes on up to Number.MAX_VALUE; over its range, the same.
      expect(ours.minIndexable).toBe(oracle.minPossible);
      expect(ours.maxIndexable).toBe(Number.MAX_VALUE);
      fc.assert(
        fc.property(magnitudes(oracle), (v) => {
          const index = ours.index(v);
          expect(index).toBe(oracle.key(v));
          expect(ours.value(index)).toBe(oracle.value(index));
        }),
        { seed: SEED, numRuns: 20_000 },
      );
    });
  }

  it("matches at bucket edges γ^k and their neighbouring doubles", () => {
    const ours = new LogMapping(0.01);
    const oracle = new LogarithmicMapping(0.01);
    const edges = new Float64Array(3);
    for (let k = -3000; k <= 3000; k += 7) {
      const edge = ours.gamma ** k;
      edges[0] = edge;
      edges[1] = edge * (1 + Number.EPSILON);
      edges[2] = edge * (1 - Number.EPSILON);
      for (const v of edges) expect(ours.index(v)).toBe(oracle.key(v));
    }
  });

  it("represents every value within α: |value(index(v)) − v| ≤ α·v, v inside its bucket", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-4, max: 0.5, noNaN: true }),
        fc.double({ min: 1e-300, max: 1e300, noNaN: true }),
        (alpha, v) => {
          const mapping = new LogMapping(alpha);
          const index = mapping.index(v);
          const estimate = mapping.value(index);
          expect(Math.abs(estimate - v)).toBeLessThanOrEqual(alpha * v * (1 + 1e-9));
          const [lower, upper] = mapping.bounds(index);
          expect(v).toBeGreaterThan(lower * (1 - 1e-12));
          expect(v).toBeLessThanOrEqual(upper * (1 + 1e-12));
        },
      ),
      { seed: SEED, numRuns: 20_000 },
    );
  });

  it("keeps huge magnitudes and Infinity in a top bucket with a finite value", () => {
    const mapping = new LogMapping(0.01);
    for (const v of [Number.MAX_VALUE, mapping.maxIndexable * 1.5, Number.POSITIVE_INFINITY]) {
      const index = mapping.index(v);
      expect(index).toBe(mapping.maxIndex);
      expect(Number.isFinite(mapping.value(index))).toBe(true);
    }
  });

  it("rejects a relative accuracy outside (0, 1)", () => {
    for (const alpha of [0, 1, -0.1, 2, Number.NaN]) {
      expect(() => new LogMapping(alpha)).toThrow(RangeError);
    }
  });
});
