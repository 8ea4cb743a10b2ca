// Gauge against prom-client 15.1.3: the cases of prom-client's gaugeTest, run on both. With one
// instance the default aggregate ("sum" over live instances) is that instance's value.
import { describe, expect, it } from "vitest";
import { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE } from "../../src/index.ts";
import {
  type ContentType,
  caught,
  differential,
  getOf,
  jsonOf,
  ourSide,
  textOf,
} from "./harness.ts";

/** Timer and clock readings differ between two runs: keep only that they are plausible. */
function timed<T>(metric: T, check: (v: number) => boolean): T {
  const copy = structuredClone(metric) as { values: { value: number }[] };
  for (const v of copy.values) {
    expect(check(v.value), `implausible value ${v.value}`).toBe(true);
    v.value = 0;
  }
  return copy as T;
}

describe.each([
  ["text", PROMETHEUS_CONTENT_TYPE],
  ["OpenMetrics", OPENMETRICS_CONTENT_TYPE],
] as [string, ContentType][])("Gauge like prom-client (%s registry)", (_, contentType) => {
  const same = async <R>(scenario: Parameters<typeof differential<R>>[0]) => {
    const { ours, prom } = await differential(scenario, contentType);
    expect(ours).toEqual(prom);
    return ours;
  };

  it("sets, increments and decrements, by 1 or by a value, 0 included", async () => {
    await same(async ({ lib, registers, sync }) => {
      const g = new lib.Gauge({ name: "gauge_test", help: "help", ...registers });
      const seen = [await getOf(g)];
      for (const step of [
        () => g.set(10),
        () => g.inc(),
        () => g.inc(5),
        () => g.dec(),
        () => g.dec(2),
        () => g.set(0),
        () => g.inc(0),
        () => g.set(-2.5),
      ]) {
        step();
        await sync();
        seen.push(await getOf(g));
      }
      return seen;
    });
  });

  it("takes NaN and ±Infinity, and renders them", async () => {
    const text = await same(async ({ lib, registers, sync, registry }) => {
      const g = new lib.Gauge({ name: "g", help: "help", labelNames: ["v"], ...registers });
      g.set({ v: "nan" }, Number.NaN);
      g.set({ v: "inf" }, Number.POSITIVE_INFINITY);
      g.set({ v: "-inf" }, Number.NEGATIVE_INFINITY);
      g.inc({ v: "inc-nan" }, Number.NaN);
      await sync();
      return { get: await getOf(g), text: await textOf(registry) };
    });
    expect(text.text).toContain('g{v="nan"} NaN');
    expect(text.text).toContain('g{v="-inf"} -Inf');
  });

  it("refuses values that are not numbers, with prom-client's errors", async () => {
    const errors = await same(({ lib, registers }) => {
      const g = new lib.Gauge({ name: "g", help: "help", labelNames: ["a"], ...registers });
      return [
        caught(() => g.set("asd" as never)),
        caught(() => g.set(undefined as never)),
        caught(() => g.set({ a: "x" }, "5" as never)),
        caught(() => g.inc("x" as never)),
        caught(() => g.inc({ a: "x" }, null as never)),
        caught(() => g.labels("a", "b")),
        caught(() => g.set({ b: "x" } as never, 1)),
      ];
    });
    expect(errors[0]).toEqual({ error: "TypeError", message: "Value is not a valid number: asd" });
    expect(errors[3]).toEqual({ error: "TypeError", message: "Delta is not a valid number: x" });
  });

  it("starts at 0 without labels, and at no series with labels", async () => {
    await same(async ({ lib, registers }) => {
      const plain = new lib.Gauge({ name: "a", help: "a", ...registers });
      const labelled = new lib.Gauge({ name: "b", help: "b", labelNames: ["x"], ...registers });
      return [await getOf(plain), await getOf(labelled)];
    });
  });

  it("works per label set: inc, dec, set, labels by position and by object", async () => {
    await same(async ({ lib, registers, sync, registry }) => {
      const g = new lib.Gauge({
        name: "gauge_test",
        help: "help",
        labelNames: ["code", "method"],
        ...registers,
      });
      g.inc({ code: "200" });
      g.inc({ code: "200" }, 2);
      g.dec({ code: "500" });
      g.set({ code: "404", method: "GET" }, 7);
      g.labels("201", "POST").inc(3);
      g.labels({ code: "201", method: "POST" }).dec();
      g.labels("202", "PUT").set(9);
      await sync();
      return { get: await getOf(g), text: await textOf(registry), json: await jsonOf(registry) };
    });
  });

  it("times into the gauge, with labels before and after", async () => {
    await same(async ({ lib, registers, sync }) => {
      const g = new lib.Gauge({
        name: "t",
        help: "help",
        labelNames: ["code", "method"],
        ...registers,
      });
      const plain = new lib.Gauge({ name: "t_plain", help: "help", ...registers });
      const start = { method: "GET" };
      const ends = [
        plain.startTimer(),
        g.startTimer({ code: "200" }),
        g.startTimer(start),
        g.labels("201", "PUT").startTimer(),
      ];
      const returned = [ends[0]!(), ends[1]!(), ends[2]!({ code: "300" }), ends[3]!()];
      expect(returned.every((s) => s >= 0 && s < 5)).toBe(true);
      expect(start).toEqual({ method: "GET" }); // the start labels are not mutated
      await sync();
      const small = (v: number) => v >= 0 && v < 5;
      return [timed(await getOf(plain), small), timed(await getOf(g), small)];
    });
  });

  it("sets the current time", async () => {
    await same(async ({ lib, registers, sync }) => {
      const g = new lib.Gauge({ name: "now", help: "help", labelNames: ["k"], ...registers });
      const before = Date.now() / 1000;
      g.setToCurrentTime();
      g.setToCurrentTime({ k: "a" });
      g.labels("b").setToCurrentTime();
      await sync();
      return timed(await getOf(g), (v) => v >= before && v <= Date.now() / 1000);
    });
  });

  it("removes this instance's series by position, by object, and all of them", async () => {
    await same(async ({ lib, registers, sync }) => {
      const g = new lib.Gauge({
        name: "r",
        help: "help",
        labelNames: ["code", "method"],
        ...registers,
      });
      g.set({ code: "200", method: "GET" }, 1);
      g.set({ code: "404", method: "GET" }, 2);
      g.set({ code: "500", method: "PUT" }, 3);
      await sync();
      const seen = [await getOf(g)];
      g.remove("404", "GET");
      await sync();
      seen.push(await getOf(g));
      g.remove({ code: "500", method: "PUT" });
      await sync();
      seen.push(await getOf(g));
      g.remove("200", "GET");
      await sync();
      seen.push(await getOf(g));
      return seen;
    });
  });

  it("resets: a label-less gauge back to 0, a labelled one to no series", async () => {
    await same(async ({ lib, registers, sync }) => {
      const plain = new lib.Gauge({ name: "p", help: "help", ...registers });
      const labelled = new lib.Gauge({
        name: "l",
        help: "help",
        labelNames: ["serial"],
        ...registers,
      });
      plain.set(12);
      labelled.set({ serial: "1" }, 12);
      await sync();
      const seen = [await getOf(plain), await getOf(labelled)];
      plain.reset();
      labelled.reset();
      await sync();
      seen.push(await getOf(plain), await getOf(labelled));
      plain.set(10);
      labelled.set({ serial: "2" }, 10);
      await sync();
      seen.push(await getOf(plain), await getOf(labelled));
      return seen;
    });
  });

  it("adds default labels like prom-client (exposition and JSON)", async () => {
    await same(async ({ lib, registers, sync, registry }) => {
      registry.setDefaultLabels({ env: "development" });
      const g = new lib.Gauge({ name: "my_gauge", help: "g", labelNames: ["type"], ...registers });
      const child = g.labels("myType");
      child.inc(1);
      await sync();
      const first = { text: await textOf(registry), json: await jsonOf(registry) };
      child.inc(2);
      await sync();
      return [first, { text: await textOf(registry), json: await jsonOf(registry) }];
    });
  });

  // Differences by design (README).
  it("refuses dec() of a value that is not a number (prom-client turns it into NaN)", () => {
    const { lib, registers } = ourSide();
    const g = new lib.Gauge({ name: "d", help: "help", ...registers });
    expect(() => g.dec("x" as never)).toThrow("Delta is not a valid number: x");
  });
});
