// Gauges are per instance: aggregated over the instances alive now, gone by expiry alone.
import { describe, expect, it } from "vitest";
import { Gauge, type GaugeAggregate, Registry } from "../../src/index.ts";
import { parseChecked, sampleValue } from "../helpers/exposition.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

function instances(n: number, aggregate: GaugeAggregate, expire = 60) {
  const prefix = uniquePrefix(`gauge-${aggregate}`);
  return Array.from({ length: n }, (_, i) => {
    const registry = new Registry({ redis: newClient(), prefix, instanceId: `i${i}` });
    const gauge = new Gauge({
      name: "g",
      help: "g",
      labelNames: ["k"],
      aggregate,
      expire,
      registers: [registry],
    });
    return { registry, gauge };
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("gauge aggregation across live instances", () => {
  it.each([
    ["sum", 6],
    ["max", 3],
    ["min", 1],
    ["last", 2],
  ] as const)("aggregate %s", async (aggregate, expected) => {
    const xs = instances(3, aggregate);
    // Written in the order 1, 3, 2: "last" is the most recent write.
    xs[0]!.gauge.set({ k: "a" }, 1);
    await xs[0]!.registry.flush();
    await sleep(5);
    xs[1]!.gauge.set({ k: "a" }, 3);
    await xs[1]!.registry.flush();
    await sleep(5);
    xs[2]!.gauge.inc({ k: "a" }, 2);
    await xs[2]!.registry.flush();
    const families = parseChecked(await xs[0]!.registry.metrics());
    expect(sampleValue(families, "g", { k: "a" })).toBe(expected);
  });

  it("perInstance shows one series per instance", async () => {
    const xs = instances(2, "perInstance");
    xs[0]!.gauge.set({ k: "a" }, 5);
    xs[1]!.gauge.set({ k: "a" }, 7);
    await Promise.all(xs.map((x) => x.registry.flush()));
    const families = parseChecked(await xs[0]!.registry.metrics());
    expect(sampleValue(families, "g", { k: "a", instance_id: "i0" })).toBe(5);
    expect(sampleValue(families, "g", { k: "a", instance_id: "i1" })).toBe(7);
  });

  it("inc/dec act on this instance's value; remove and reset drop it", async () => {
    const [x] = instances(1, "sum");
    x!.gauge.inc({ k: "a" });
    x!.gauge.inc({ k: "a" }, 4);
    x!.gauge.dec({ k: "a" }, 2);
    x!.gauge.labels("b").set(9);
    x!.gauge.labels({ k: "c" }).set(1);
    await x!.registry.flush();
    let families = parseChecked(await x!.registry.metrics());
    expect(sampleValue(families, "g", { k: "a" })).toBe(3);
    expect(sampleValue(families, "g", { k: "b" })).toBe(9);
    x!.gauge.remove("b");
    await x!.registry.flush();
    families = parseChecked(await x!.registry.metrics());
    expect(sampleValue(families, "g", { k: "b" })).toBeUndefined();
    expect(sampleValue(families, "g", { k: "c" })).toBe(1);
    x!.gauge.reset();
    x!.gauge.set({ k: "d" }, 4);
    await x!.registry.flush();
    families = parseChecked(await x!.registry.metrics());
    expect(families.find((f) => f.name === "g")!.samples).toEqual([
      { name: "g", labels: { k: "d" }, value: 4 },
    ]);
  });

  it("an instance that stops flushing disappears after expire; one that keeps flushing stays", async () => {
    const [alive, dead] = instances(2, "sum", 1);
    alive!.gauge.set({ k: "a" }, 1);
    dead!.gauge.set({ k: "a" }, 10);
    await Promise.all([alive!.registry.flush(), dead!.registry.flush()]);
    expect(sampleValue(parseChecked(await alive!.registry.metrics()), "g", { k: "a" })).toBe(11);
    // Only `alive` flushes from now on, with nothing new to say: its flushes refresh expiry.
    const until = Date.now() + 1600;
    while (Date.now() < until) {
      await alive!.registry.flush();
      await sleep(100);
    }
    expect(sampleValue(parseChecked(await alive!.registry.metrics()), "g", { k: "a" })).toBe(1);
  });
});
