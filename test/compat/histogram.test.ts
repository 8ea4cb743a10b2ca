// Histogram against prom-client 15.1.3: the cases of prom-client's histogramTest, run on both.
// Observations are dyadic (0.5, 1.5, …) so that sums are exact in doubles and in Redis alike.
import { describe, expect, it } from "vitest";
import { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE } from "../../src/index.ts";
import { type ContentType, caught, differential, getOf, jsonOf, textOf } from "./harness.ts";

/** Timer readings differ between two runs: keep only that they are plausible. */
function withoutTimes<T>(metric: T): T {
  const copy = structuredClone(metric) as {
    values: { value: number; metricName?: string; labels: Record<string, unknown> }[];
  };
  for (const v of copy.values) {
    if (v.metricName?.endsWith("_sum")) {
      expect(v.value >= 0 && v.value < 5).toBe(true);
      v.value = 0;
    }
  }
  return copy as T;
}

describe.each([
  ["text", PROMETHEUS_CONTENT_TYPE],
  ["OpenMetrics", OPENMETRICS_CONTENT_TYPE],
] as [string, ContentType][])("Histogram like prom-client (%s registry)", (_, contentType) => {
  const same = async <R>(scenario: Parameters<typeof differential<R>>[0]) => {
    const { ours, prom } = await differential(scenario, contentType);
    expect(ours).toEqual(prom);
    return ours;
  };

  it("counts, sums and buckets observations; +Inf is the count; 0 and values above every bucket count", async () => {
    await same(async ({ lib, registers, sync, registry }) => {
      const h = new lib.Histogram({ name: "test_histogram", help: "test", ...registers });
      const seen = [await getOf(h)];
      for (const v of [0.5, 0, 1.5, 0.005, 20, 0.25, 3]) {
        h.observe(v);
        await sync();
        seen.push(await getOf(h));
      }
      return { seen, text: await textOf(registry) };
    });
  });

  it("uses the buckets given, and le strings of the bucket generators", async () => {
    await same(async ({ lib, registers, sync, registry }) => {
      const a = new lib.Histogram({
        name: "a",
        help: "a",
        buckets: lib.exponentialBuckets(0.1, 3, 4),
        ...registers,
      });
      const b = new lib.Histogram({
        name: "b",
        help: "b",
        buckets: lib.linearBuckets(0.5, 0.5, 6),
        ...registers,
      });
      const c = new lib.Histogram({ name: "c", help: "c", buckets: [1, 2, 4], ...registers });
      for (const v of [0.25, 1, 2.5, 8]) {
        a.observe(v);
        b.observe(v);
        c.observe(v);
      }
      await sync();
      return { text: await textOf(registry), json: await jsonOf(registry) };
    });
  });

  it("groups by label set, labels by position or object, and renders le first", async () => {
    await same(async ({ lib, registers, sync, registry }) => {
      const h = new lib.Histogram({
        name: "http_seconds",
        help: "h",
        labelNames: ["code", "method"],
        buckets: [1, 2],
        ...registers,
      });
      h.observe({ code: "200", method: "GET" }, 0.5);
      h.observe({ code: "300" }, 1.5);
      h.observe({ code: "200", method: "GET" }, 1.5);
      h.labels("500", "PUT").observe(3);
      h.labels({ code: "500", method: "PUT" }).observe(1);
      registry.setDefaultLabels({ env: "development" });
      await sync();
      return { get: await getOf(h), text: await textOf(registry), json: await jsonOf(registry) };
    });
  });

  it("refuses non-numbers and le as a label, and checks label counts, with prom-client's errors", async () => {
    const errors = await same(({ lib, registers }) => {
      const h = new lib.Histogram({
        name: "h",
        help: "h",
        labelNames: ["method"],
        ...registers,
      });
      return [
        caught(() => h.observe("asd" as never)),
        caught(() => h.observe({ method: "GET" }, Number.NaN)),
        caught(() => h.observe(Number.POSITIVE_INFINITY)),
        caught(
          () => new lib.Histogram({ name: "x", help: "x", labelNames: ["le"], registers: [] }),
        ),
        caught(() => h.labels("get", "500").observe(1)),
        caught(() => h.remove("GET", "/foo")),
        caught(() => h.observe({ nope: "x" } as never, 1)),
      ];
    });
    expect(errors[0]).toEqual({ error: "TypeError", message: "Value is not a valid number: asd" });
    expect(errors[3]).toEqual({ error: "Error", message: "le is a reserved label keyword" });
    expect(errors[4]).toEqual({
      error: "Error",
      message: 'Invalid number of arguments (2): "get, 500" for label names (1): "method".',
    });
  });

  it("times observations, with labels before and after, and returns the time", async () => {
    await same(async ({ lib, registers, sync }) => {
      const h = new lib.Histogram({
        name: "t",
        help: "t",
        labelNames: ["method", "code"],
        ...registers,
      });
      const start = { method: "GET" };
      const ends = [
        h.startTimer(),
        h.startTimer(start),
        h.labels("PUT", "201").startTimer(),
        h.startTimer({ method: "POST" }),
      ];
      const seconds = [
        ends[0]!(),
        ends[1]!({ code: "200" }),
        ends[2]!(),
        ends[3]!({ code: "500" }),
      ];
      expect(seconds.every((s) => s >= 0 && s < 5)).toBe(true);
      expect(start).toEqual({ method: "GET" });
      await sync();
      return withoutTimes(await getOf(h));
    });
  });

  it("zeroes a label set: it shows with zero counts, once", async () => {
    await same(async ({ lib, registers, sync }) => {
      const h = new lib.Histogram({
        name: "z",
        help: "z",
        labelNames: ["code"],
        buckets: [1],
        ...registers,
      });
      h.zero({ code: "200" });
      await sync();
      const seen = [await getOf(h)];
      h.observe({ code: "200" }, 0.5);
      h.zero({ code: "300" });
      await sync();
      seen.push(await getOf(h));
      return seen;
    });
  });

  it("removes label sets (timer ones included) and resets; a label-less one shows nothing after reset", async () => {
    await same(async ({ lib, registers, sync }) => {
      const h = new lib.Histogram({
        name: "r",
        help: "r",
        labelNames: ["method", "code"],
        buckets: [1],
        ...registers,
      });
      const plain = new lib.Histogram({ name: "p", help: "p", buckets: [1], ...registers });
      h.observe({ method: "GET", code: "200" }, 0.5);
      h.observe({ method: "POST", code: "500" }, 2);
      h.startTimer({ method: "PUT" })({ code: "201" });
      plain.observe(0.5);
      await sync();
      const seen = [];
      h.remove("POST", "500");
      h.remove({ method: "PUT", code: "201" });
      await sync();
      seen.push(await getOf(h));
      h.remove("GET", "200");
      await sync();
      seen.push(await getOf(h));
      h.observe({ method: "GET", code: "404" }, 1);
      h.reset();
      plain.reset();
      await sync();
      seen.push(await getOf(h), await getOf(plain));
      plain.observe(2);
      await sync();
      seen.push(await getOf(plain));
      return seen;
    });
  });
});
