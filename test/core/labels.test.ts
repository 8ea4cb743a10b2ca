import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LabelSet, valuesOfKey } from "../../src/labels.ts";

describe("series keys", () => {
  it("are exactly JSON.stringify of the label values, and decode back (property)", () => {
    const set = new LabelSet("m", ["a", "b", "c"]);
    // A lone surrogate becomes U+FFFD, as in the UTF-8 a scraper reads (one series, not two).
    const wire = (v: string) => new TextDecoder().decode(new TextEncoder().encode(v));
    fc.assert(
      fc.property(
        fc.string({ unit: "binary" }),
        fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
        fc.string({ unit: "grapheme-composite" }),
        (a, b, c) => {
          const key = set.keyOf({ a, b, c });
          expect(key).toBe(JSON.stringify([a, b, c].map(wire)));
          expect(valuesOfKey(key, 3)).toEqual([a, b, c].map(wire));
          expect(set.keyOfPositional([a, b, c])).toBe(key);
        },
      ),
      { numRuns: 2000, seed: 1 },
    );
  });

  it("store missing labels as empty and numbers as text", () => {
    const set = new LabelSet("m", ["a", "b"]);
    expect(set.keyOf({ b: 2 })).toBe('["","2"]');
    expect(set.keyOfArgs([{ a: "x" }])).toBe('["x",""]');
    expect(set.keyOfArgs(["x", 3])).toBe('["x","3"]');
  });
});
