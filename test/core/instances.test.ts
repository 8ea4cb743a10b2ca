// Several Registry objects on one Redis stand for several isolates: what they add up must
// equal what was done, whatever the interleaving of their flushes.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Counter, Histogram, Registry, Summary } from "../../src/index.ts";
import { parseChecked, sampleValue } from "../helpers/exposition.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

function isolate(prefix: string) {
  const registry = new Registry({ redis: newClient(), prefix });
  return {
    registry,
    counter: new Counter({
      name: "req_total",
      help: "r",
      labelNames: ["route"],
      registers: [registry],
    }),
    histogram: new Histogram({
      name: "lat_seconds",
      help: "l",
      buckets: [0.1, 1, 10],
      registers: [registry],
    }),
    summary: new Summary({ name: "size_bytes", help: "s", registers: [registry] }),
  };
}

describe("many instances, one Redis", () => {
  it("loses nothing when 10 instances increment and flush concurrently", async () => {
    const prefix = uniquePrefix("instances");
    const isolates = Array.from({ length: 10 }, () => isolate(prefix));
    let total = 0;
    for (let round = 0; round < 20; round++) {
      for (const [i, x] of isolates.entries()) {
        for (let j = 0; j <= i; j++) {
          x.counter.inc({ route: j % 2 ? "/a" : "/b" }, 0.5);
          x.histogram.observe(j);
          x.summary.observe(j);
          total++;
        }
      }
      // Half of the instances flush every round, the rest every other round.
      await Promise.all(
        isolates.map((x, i) => (i % 2 === 0 || round % 2 === 1 ? x.registry.flush() : undefined)),
      );
    }
    const families = parseChecked(await isolates[3]!.registry.metrics());
    const a = sampleValue(families, "req_total", { route: "/a" })!;
    const b = sampleValue(families, "req_total", { route: "/b" })!;
    expect(a + b).toBe(total * 0.5);
    expect(sampleValue(families, "lat_seconds_count")).toBe(total);
    expect(sampleValue(families, "size_bytes_count")).toBe(total);
  });

  it("sums any split of operations across instances (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.nat(4),
            fc.constantFrom("/", "/x", 'q"\\\n'),
            fc.integer({ min: 0, max: 1000 }),
          ),
          {
            minLength: 1,
            maxLength: 60,
          },
        ),
        async (ops) => {
          const prefix = uniquePrefix("split");
          const isolates = Array.from({ length: 5 }, () => isolate(prefix));
          const expected = new Map<string, number>();
          for (const [who, route, v] of ops) {
            isolates[who]!.counter.inc({ route }, v / 8);
            isolates[who]!.histogram.observe(v / 100);
            expected.set(route, (expected.get(route) ?? 0) + v / 8);
          }
          await Promise.all(isolates.map((x) => x.registry.flush()));
          const families = parseChecked(await isolates[0]!.registry.metrics());
          for (const [route, v] of expected) {
            expect(sampleValue(families, "req_total", { route })).toBeCloseTo(v, 9);
          }
          expect(sampleValue(families, "lat_seconds_count")).toBe(ops.length);
        },
      ),
      { numRuns: 20, seed: 42 },
    );
  });
});
