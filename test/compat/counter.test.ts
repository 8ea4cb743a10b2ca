// Counter against prom-client 15.1.3: the cases of prom-client's own counterTest, run on both.
import { describe, expect, it } from "vitest";
import { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE } from "../../src/index.ts";
import {
  type ContentType,
  caught,
  differential,
  getOf,
  inSeriesOrderText,
  jsonOf,
  ourSide,
  textOf,
} from "./harness.ts";

describe.each([
  ["text", PROMETHEUS_CONTENT_TYPE],
  ["OpenMetrics", OPENMETRICS_CONTENT_TYPE],
] as [string, ContentType][])("Counter like prom-client (%s registry)", (_, contentType) => {
  const same = async <R>(scenario: Parameters<typeof differential<R>>[0]) => {
    const { ours, prom } = await differential(scenario, contentType);
    expect(ours).toEqual(prom);
    return ours;
  };

  it("increments, by 1 or by a value, and 0 leaves it", async () => {
    await same(async ({ lib, registers, sync }) => {
      const c = new lib.Counter({ name: "gauge_test", help: "test", ...registers });
      const seen = [];
      c.inc();
      await sync();
      seen.push(await getOf(c));
      c.inc();
      c.inc(0);
      await sync();
      seen.push(await getOf(c));
      c.inc(100);
      await sync();
      seen.push(await getOf(c));
      return seen;
    });
  });

  it("starts at 0 without labels, and at no series with labels", async () => {
    await same(async ({ lib, registers }) => {
      const plain = new lib.Counter({ name: "a_total", help: "a", ...registers });
      const labelled = new lib.Counter({
        name: "b_total",
        help: "b",
        labelNames: ["x"],
        ...registers,
      });
      return [await getOf(plain), await getOf(labelled)];
    });
  });

  it("refuses to decrease, and a value that is not a number, with prom-client's errors", async () => {
    const errors = await same(({ lib, registers }) => {
      const c = new lib.Counter({ name: "c_total", help: "c", ...registers });
      return [
        caught(() => c.inc(-100)),
        caught(() => c.inc("3ms" as never)),
        caught(() => c.inc(Number.POSITIVE_INFINITY)),
        caught(() => c.inc(Number.NEGATIVE_INFINITY)),
        caught(() => c.inc({}, -1)),
        caught(() => c.inc("5" as never)),
      ];
    });
    expect(errors[0]).toEqual({
      error: "Error",
      message: "It is not possible to decrease a counter",
    });
    expect(errors[1]).toEqual({ error: "TypeError", message: "Value is not a valid number: 3ms" });
  });

  it("counts by label values given by position or as an object, inc(labels) included", async () => {
    await same(async ({ lib, registers, sync, registry }) => {
      const c = new lib.Counter({
        name: "gauge_test_2",
        help: "help",
        labelNames: ["method", "endpoint"],
        ...registers,
      });
      c.labels("GET", "/test").inc();
      c.labels("POST", "/test").inc();
      c.labels({ method: "POST", endpoint: "/test" }).inc();
      c.inc({ method: "GET", endpoint: "/other" });
      c.inc({ method: "GET", endpoint: "/other" }, 2);
      c.labels("PUT", "/x").inc(100);
      await sync();
      return { get: await getOf(c), text: await textOf(registry) };
    });
  });

  it("throws prom-client's error for a wrong number of label values or an unknown label", async () => {
    const errors = await same(({ lib, registers }) => {
      const c = new lib.Counter({
        name: "c_total",
        help: "help",
        labelNames: ["method", "endpoint"],
        ...registers,
      });
      return [
        caught(() => c.labels("GET").inc()),
        caught(() => c.remove("GET")),
        caught(() => c.labels("a", "b", "c").inc()),
        caught(() => c.inc({ method: "GET", nope: "x" } as never)),
      ];
    });
    expect(errors[0]).toEqual({
      error: "Error",
      message: 'Invalid number of arguments (1): "GET" for label names (2): "method, endpoint".',
    });
    expect(errors[3]).toEqual({
      error: "Error",
      message: `Added label "nope" is not included in initial labelset: [ 'method', 'endpoint' ]`,
    });
  });

  it("removes series by position, by object, and all of them", async () => {
    await same(async ({ lib, registers, sync }) => {
      const c = new lib.Counter({
        name: "gauge_test_3",
        help: "help",
        labelNames: ["method", "endpoint"],
        ...registers,
      });
      c.inc({ method: "GET", endpoint: "/test" });
      c.inc({ method: "POST", endpoint: "/test" });
      c.inc({ method: "PUT", endpoint: "/test" });
      await sync();
      const seen = [await getOf(c)];
      c.remove("POST", "/test");
      await sync();
      seen.push(await getOf(c));
      c.remove({ method: "PUT", endpoint: "/test" });
      await sync();
      seen.push(await getOf(c));
      c.remove("GET", "/test");
      await sync();
      seen.push(await getOf(c));
      return seen;
    });
  });

  it("resets: a label-less counter back to 0, a labelled one to no series", async () => {
    await same(async ({ lib, registers, sync }) => {
      const plain = new lib.Counter({ name: "test_metric", help: "m", ...registers });
      const labelled = new lib.Counter({
        name: "test_metric_l",
        help: "m",
        labelNames: ["serial", "active"],
        ...registers,
      });
      plain.inc(12);
      labelled.inc({ serial: "12345", active: "yes" }, 12);
      await sync();
      const seen = [await getOf(plain), await getOf(labelled)];
      plain.reset();
      labelled.reset();
      await sync();
      seen.push(await getOf(plain), await getOf(labelled));
      plain.inc(10);
      labelled.inc({ serial: "12345", active: "no" }, 10);
      await sync();
      seen.push(await getOf(plain), await getOf(labelled));
      return seen;
    });
  });

  it("renders the same exposition and JSON, label values of every kind included", async () => {
    await same(async ({ lib, registers, sync, registry }) => {
      const c = new lib.Counter({
        name: "http_requests_total",
        // (A quote in HELP is escaped in OpenMetrics here, as its grammar requires; prom-client
        // leaves it raw. README.)
        help: "Requests served\nby \\ route",
        labelNames: ["route", "code"],
        ...registers,
      });
      c.inc({ route: "/", code: "200" }, 3);
      c.inc({ route: 'a"b\\c\nd', code: "500" }, 0.5);
      c.inc({ route: "/only-route" });
      c.labels("/pos", "201").inc(2);
      registry.setDefaultLabels({ region: "eu" });
      await sync();
      // JSON and the single metric first: prom-client's metrics() renames an OpenMetrics
      // counter (drops _total from metric.name) for good, and its single-metric text then
      // writes "_total_total" — not something to match (README).
      const json = await jsonOf(registry);
      const single =
        contentType === PROMETHEUS_CONTENT_TYPE
          ? inSeriesOrderText(await registry.getSingleMetricAsString("http_requests_total"))
          : "";
      return { json, single, text: await textOf(registry) };
    });
  });

  // get() differs by design here: label values come back from Redis as text (README).
  it("renders null, boolean and number label values as prom-client does", async () => {
    await same(async ({ lib, registers, sync, registry }) => {
      const c = new lib.Counter({ name: "n_total", help: "n", labelNames: ["v"], ...registers });
      c.inc({ v: null as never });
      c.inc({ v: true as never }, 2);
      c.inc({ v: 404 }, 3);
      await sync();
      return textOf(registry);
    });
  });

  it("counts only in the registries it names", async () => {
    await same(async ({ lib, registry, registers, sync }) => {
      const c = new lib.Counter({ name: "only_total", help: "o", ...registers });
      c.inc();
      await sync();
      return { json: (await registry.getMetricsAsJSON()).length, get: await getOf(c) };
    });
  });

  // Difference (README): a metric in no registry has no Redis to read from.
  it("get() of a metric in no registry says why it cannot read", async () => {
    const { lib } = ourSide();
    const c = new lib.Counter({ name: "lonely_total", help: "l", registers: [] });
    c.inc();
    await expect(c.get()).rejects.toThrow(/in no registry/);
  });
});
