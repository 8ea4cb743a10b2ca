// encodeWriteRequests on arbitrary families, decoded by protobufjs with the spec's remote.proto:
// every sample comes back with exactly the labels and value it should have — any label values
// (empty, long, non-ASCII, lone surrogates), any values (negative, NaN, ±Inf, huge), split at
// any size bound with no series lost or sent twice.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeWriteRequests } from "../../src/remote-write/encode.ts";
import { snappyCompress } from "../../src/remote-write/snappy.ts";
import type { MetricFamily } from "../../src/types.ts";
import { decodeWriteRequest } from "./receiver.ts";

/** What the wire carries for a string: its UTF-8 (a lone surrogate becomes U+FFFD). */
const wire = (s: string) => new TextDecoder().decode(new TextEncoder().encode(s));

const labelValue = fc.oneof(
  fc.constant(""),
  fc.string({ maxLength: 8 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ minLength: 120, maxLength: 400 }),
);
const sampleValue = fc.oneof(
  fc.double(),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, 0, -0, 1e300),
);

describe("encodeWriteRequests", () => {
  it("every sample decodes to its labels and value, at any size bound", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(labelValue, labelValue, sampleValue), { maxLength: 30 }),
        fc.integer({ min: 64, max: 4096 }),
        fc.dictionary(fc.constantFrom("region", "a", "Z"), fc.string({ maxLength: 5 })),
        (rows, maxBytes, defaults) => {
          // Distinct label values per row, so no two are the same series.
          const unique = rows.map(([a, b, v], i) => [a, `${b}#${i}`, v] as const);
          const family: MetricFamily = {
            name: "prop_total",
            help: "Property",
            type: "counter",
            labelNames: ["a", "b"],
            samples: unique.map(([a, b, value]) => ({ suffix: "", values: [a, b], value })),
          };
          const timestamp = 1_700_000_000_123;
          const { requests, duplicates } = encodeWriteRequests([family], {
            target: { job: "j", instance: "i" },
            defaultLabels: defaults,
            native: false,
            timestamp,
            maxBytes,
            metadata: true,
          });
          expect(duplicates).toBe(0);
          const series = requests.flatMap((r) => {
            // A request over the bound holds a single series (too big to split).
            const decoded = decodeWriteRequest(snappyCompress(r.body)).body;
            if (r.body.length > maxBytes) expect(decoded.timeseries).toHaveLength(1);
            return decoded.timeseries;
          });
          expect(series).toHaveLength(unique.length);
          unique.forEach(([a, b, value], i) => {
            const want: Record<string, string> = {
              __name__: "prop_total",
              job: "j",
              instance: "i",
            };
            for (const [n, v] of Object.entries(defaults)) if (v) want[n] = v;
            if (a) want.a = wire(a);
            else if (defaults.a) want.a = defaults.a;
            want.b = wire(b);
            const got = series[i]!;
            const names = got.labels.map((l) => l.name);
            expect(names).toEqual([...names].sort());
            expect(Object.fromEntries(got.labels.map((l) => [l.name, l.value]))).toEqual(want);
            expect(got.samples).toEqual([{ value, timestamp }]);
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});
