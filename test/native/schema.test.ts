// The native bucket mapping: every value lands in the bucket whose (lower, upper] holds it,
// compared exactly (as frexp pairs, no rounding); schemas nest, so reducing an index equals
// mapping at the lower schema; powers of two sit on boundaries. test/native/prometheus.test.ts
// checks the boundaries against Prometheus' own.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bucketIndex,
  DEFAULT_ZERO_THRESHOLD,
  fractions,
  frexp,
  insideZero,
  MAX_SCHEMA,
  MIN_SCHEMA,
  reduceIndex,
  schemaOfFactor,
  upperBound,
} from "../../src/native/index.ts";

const SEED = 20261201;
const SCHEMAS = Array.from({ length: MAX_SCHEMA - MIN_SCHEMA + 1 }, (_, i) => MIN_SCHEMA + i);

/** Any positive finite double: normal, subnormal, tiny and huge ones included. */
const magnitude = fc.double({ min: Number.MIN_VALUE, max: Number.MAX_VALUE, noNaN: true });

/** Sign of upperBound(index, schema) − v, exactly: (exponent, fraction) pairs compared. */
function compareUpper(index: number, schema: number, v: number): number {
  const [vf, ve] = frexp(v);
  let uf: number;
  let ue: number;
  if (schema <= 0) {
    uf = 0.5;
    ue = index * 2 ** -schema + 1;
  } else {
    const n = 2 ** schema;
    const octave = Math.floor(index / n);
    uf = fractions(schema)[index - octave * n]!;
    ue = octave + 1;
  }
  return ue !== ve ? Math.sign(ue - ve) : Math.sign(uf - vf);
}

describe("fraction tables", () => {
  it("have 2^schema increasing bounds in [0.5, 1), each schema nested in the next", () => {
    for (let s = 1; s <= MAX_SCHEMA; s++) {
      const t = fractions(s);
      expect(t.length).toBe(2 ** s);
      expect(t[0]).toBe(0.5);
      for (let j = 1; j < t.length; j++) {
        expect(t[j]!).toBeGreaterThan(t[j - 1]!);
        expect(t[j]!).toBeLessThan(1);
      }
      const coarser = fractions(s - 1);
      for (let j = 0; j < coarser.length; j++) expect(t[2 * j]).toBe(coarser[j]);
    }
  });

  it("are 2^(j/2^schema)/2 to within a few ulps, with client_golang's published values", () => {
    for (let s = 1; s <= MAX_SCHEMA; s++) {
      const t = fractions(s);
      for (let j = 0; j < t.length; j++) {
        const ideal = 2 ** (j / t.length - 1);
        expect(Math.abs(t[j]! - ideal)).toBeLessThanOrEqual(4 * Number.EPSILON * 0.5);
      }
    }
    // A few entries of client_golang's nativeHistogramBounds (one ulp below the rounded value).
    expect(fractions(1)[1]).toBe(0.7071067811865475);
    expect(fractions(5)[31]).toBe(0.9785720620876999);
    expect(fractions(8)[255]).toBe(0.9972960560854698);
  });
});

describe("frexp", () => {
  it("splits every positive double into a fraction in [0.5, 1) and an exponent", () => {
    fc.assert(
      fc.property(magnitude, (v) => {
        const [f, e] = frexp(v);
        expect(f).toBeGreaterThanOrEqual(0.5);
        expect(f).toBeLessThan(1);
        // Two steps: 2^e alone may overflow or underflow where f·2^e does not.
        expect(f * 2 ** Math.ceil(e / 2) * 2 ** Math.floor(e / 2)).toBe(v);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

describe("bucketIndex", () => {
  it("puts every value in the bucket whose (lower, upper] holds it, at every schema", () => {
    fc.assert(
      fc.property(magnitude, fc.constantFrom(...SCHEMAS), (v, schema) => {
        const i = bucketIndex(v, schema);
        expect(compareUpper(i, schema, v)).toBeGreaterThanOrEqual(0); // v ≤ upper(i)
        expect(compareUpper(i - 1, schema, v)).toBeLessThan(0); // upper(i − 1) < v
      }),
      { seed: SEED, numRuns: 5000 },
    );
  });

  it("is exact at and around every boundary of every schema", () => {
    const f64 = new Float64Array(1);
    const bits = new BigInt64Array(f64.buffer);
    const step = (x: number, ulps: number) => {
      f64[0] = x;
      bits[0]! += BigInt(ulps);
      return f64[0]!;
    };
    for (let s = 1; s <= MAX_SCHEMA; s++) {
      const n = 2 ** s;
      // Octaves by binary exponent: subnormal (bounds rounded there), ordinary and huge ones.
      for (const octave of [-1074, -1060, -1023, -3, 0, 5, 1022]) {
        for (let j = 0; j < n; j++) {
          const bound = upperBound(octave * n + j, s);
          if (!(bound > 0 && bound < Number.POSITIVE_INFINITY)) continue;
          const around = [step(bound, -2), step(bound, -1), bound, step(bound, 1)];
          for (const v of around.filter((x) => x > 0)) {
            const i = bucketIndex(v, s);
            expect(compareUpper(i, s, v)).toBeGreaterThanOrEqual(0);
            expect(compareUpper(i - 1, s, v)).toBeLessThan(0);
          }
          if (compareUpper(octave * n + j, s, bound) === 0) {
            expect(bucketIndex(bound, s)).toBe(octave * n + j);
          }
        }
      }
    }
  });

  it("agrees with ceil(log2(v)·2^schema) away from boundaries", () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-12, max: 1e12, noNaN: true }), (v) => {
        for (let s = 0; s <= MAX_SCHEMA; s++) {
          const approx = Math.log2(v) * 2 ** s;
          if (Math.abs(approx - Math.round(approx)) < 1e-6) continue;
          expect(bucketIndex(v, s)).toBe(Math.ceil(approx) + 0);
        }
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it("puts a power of two at the top of its bucket", () => {
    for (let k = -1074; k <= 1023; k++) {
      const v = 2 ** k;
      for (const s of SCHEMAS) {
        const expected = s >= 0 ? k * 2 ** s : Math.ceil(k / 2 ** -s) + 0;
        expect(bucketIndex(v, s)).toBe(expected);
      }
    }
    expect(bucketIndex(1, 3)).toBe(0);
    expect(bucketIndex(1.0000000000000002, 3)).toBe(1);
  });

  it("reduces exactly: the index at schema − d is ceil(index / 2^d)", () => {
    fc.assert(
      fc.property(
        magnitude,
        fc.constantFrom(...SCHEMAS),
        fc.integer({ min: 1, max: 12 }),
        (v, schema, d) => {
          fc.pre(schema - d >= MIN_SCHEMA);
          expect(bucketIndex(v, schema - d)).toBe(reduceIndex(bucketIndex(v, schema), d));
        },
      ),
      { seed: SEED, numRuns: 5000 },
    );
  });

  it("puts +Infinity one past the largest finite value, as client_golang does", () => {
    for (const s of SCHEMAS) {
      expect(bucketIndex(Number.POSITIVE_INFINITY, s)).toBe(bucketIndex(Number.MAX_VALUE, s) + 1);
    }
    expect(bucketIndex(Number.MAX_VALUE, 0)).toBe(1024);
    expect(bucketIndex(Number.MIN_VALUE, 0)).toBe(-1074);
  });
});

describe("zero threshold", () => {
  it("defaults to 2^-128", () => {
    let v = 1;
    for (let k = 0; k < 128; k++) v /= 2;
    expect(DEFAULT_ZERO_THRESHOLD).toBe(v);
  });

  it("insideZero(i) is upperBound(i) <= zeroThreshold", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SCHEMAS),
        fc.integer({ min: -2000, max: 2000 }),
        fc.oneof(
          fc.double({ min: 1e-200, max: 1e200, noNaN: true }),
          fc.constantFrom(0, DEFAULT_ZERO_THRESHOLD, 0.001, 1, 2, 0.7071067811865475),
        ),
        (schema, index, zt) => {
          const upper = upperBound(index, schema);
          fc.pre(upper > 0 && upper < Number.POSITIVE_INFINITY);
          expect(insideZero(index, schema, zt)).toBe(upper <= zt);
        },
      ),
      { seed: SEED, numRuns: 5000 },
    );
    // A threshold on a boundary takes that bucket in whole, not the next one.
    expect(insideZero(bucketIndex(0.001, 3), 3, upperBound(bucketIndex(0.001, 3), 3))).toBe(true);
    expect(insideZero(0, 0, 1)).toBe(true);
    expect(insideZero(1, 0, 1.999)).toBe(false);
  });
});

describe("schemaOfFactor (client_golang's pickSchema)", () => {
  it("picks the coarsest schema whose factor does not exceed the one asked for", () => {
    expect(schemaOfFactor(1.1)).toBe(3);
    expect(schemaOfFactor(2)).toBe(0);
    expect(schemaOfFactor(4)).toBe(-1);
    expect(schemaOfFactor(1.0001)).toBe(8);
    expect(schemaOfFactor(1e300)).toBe(-4);
    for (const f of [1.001, 1.01, 1.05, 1.1, 1.5, 3, 17, 300]) {
      const s = schemaOfFactor(f);
      if (s < MAX_SCHEMA) expect(2 ** (2 ** -s)).toBeLessThanOrEqual(f);
      if (s > MIN_SCHEMA) expect(2 ** (2 ** -(s - 1))).toBeGreaterThan(f);
    }
  });
});
