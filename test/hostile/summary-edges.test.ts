// Issue 13, item 8: a summary keeps its accuracy promise (every quantile within α of the exact
// one) at every finite value it accepts: up to Number.MAX_VALUE (values above MAX_VALUE / γ were
// 2.9 % off: their bucket's midpoint overflowed and was capped one bucket lower), and it
// refuses, with a clear error, the subnormal magnitudes no bucket can stand for.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Registry, Summary } from "../../src/index.ts";
import { LogMapping } from "../../src/sketch/index.ts";
import { parseChecked, sampleValue } from "../helpers/exposition.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

/** Room for the rounding of value(): the guarantee itself is exactly α. */
const SLACK = 1 + 1e-9;

describe("the log mapping over every accepted magnitude", () => {
  it.each([0.01, 0.001, 0.05, 0.3])("α = %s: value(index(v)) is within α of v", (alpha) => {
    const mapping = new LogMapping(alpha);
    const top = Number.MAX_VALUE / mapping.gamma;
    const check = (v: number) => {
      const estimate = mapping.value(mapping.index(v));
      expect(Number.isFinite(estimate)).toBe(true);
      expect(Math.abs(estimate - v), `v = ${v}`).toBeLessThanOrEqual(alpha * v * SLACK);
    };
    for (const v of [Number.MAX_VALUE, top, top * (1 + 1e-12), (top + Number.MAX_VALUE) / 2]) {
      check(v);
    }
    fc.assert(fc.property(fc.double({ min: top, max: Number.MAX_VALUE, noNaN: true }), check), {
      seed: 13,
      numRuns: 5_000,
    });
    fc.assert(
      fc.property(
        fc.double({ min: mapping.minIndexable, max: Number.MAX_VALUE, noNaN: true }),
        (v) => v <= mapping.minIndexable || check(v) === undefined,
      ),
      { seed: 13, numRuns: 20_000 },
    );
  });
});

describe("a summary at the edges of the doubles", () => {
  it("reads back quantiles within α for the largest and smallest magnitudes it accepts", async () => {
    const r = new Registry({ redis: newClient(), prefix: uniquePrefix("edges") });
    const s = new Summary({
      name: "edge",
      help: "h",
      labelNames: ["k"],
      percentiles: [0.5],
      registers: [r],
    });
    const tiny = new LogMapping(0.01).minIndexable;
    const values = [
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      1.79e308,
      1.77e308,
      Number.MAX_VALUE / 1.0202,
      2.3e-308,
      tiny * (1 + 1e-15),
      -tiny * 1.5,
    ];
    for (const [i, v] of values.entries()) s.observe({ k: String(i) }, v);
    await r.flush();
    const families = parseChecked(await r.metrics());
    values.forEach((v, i) => {
      const q = sampleValue(families, "edge", { k: String(i), quantile: "0.5" })!;
      expect(Math.abs(q - v) / Math.abs(v), `${v} read back as ${q}`).toBeLessThanOrEqual(
        0.01 * SLACK,
      );
    });
  });

  it("refuses subnormal magnitudes with a clear error, accepts ±0", () => {
    const s = new Summary({ name: "sub", help: "h", registers: [] });
    for (const v of [5e-324, -5e-324, 1e-310, -1e-308]) {
      expect(() => s.observe(v)).toThrow(/too close to 0 for a summary/);
    }
    expect(() => s.observe(0)).not.toThrow();
    expect(() => s.observe(-0)).not.toThrow();
  });
});
