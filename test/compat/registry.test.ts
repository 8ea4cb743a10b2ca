// Registry against prom-client 15.1.3: the cases of prom-client's registerTest (expositions,
// custom metrics, JSON, default labels, single metrics, reset, merge, collect), run on both.
import { describe, expect, it } from "vitest";
import * as upstash from "../../src/index.ts";
import {
  type ContentType,
  caught,
  differential,
  getOf,
  inSeriesOrderText,
  jsonOf,
  maskQuantiles,
  maskQuantileValues,
  type Side,
  textOf,
} from "./harness.ts";

/** prom-client's test helper: a custom metric (an object with a name and get()). */
function customMetric(name = "test_metric") {
  return {
    name,
    async get() {
      return {
        name,
        type: "counter",
        help: "A test metric",
        values: [
          { value: 12, labels: { label: "hello", code: "303" } },
          { value: 34, labels: { label: "bye", code: "404" } },
        ],
      };
    },
  };
}

/** A custom metric named `name` whose get() returns `data` with that name. */
function custom(name: string, data: object) {
  return { name, get: async () => ({ name, ...data }) } as never;
}

describe.each([
  ["text", upstash.PROMETHEUS_CONTENT_TYPE],
  ["OpenMetrics", upstash.OPENMETRICS_CONTENT_TYPE],
] as [string, ContentType][])("Registry like prom-client (%s)", (_, contentType) => {
  const same = async <R>(scenario: (side: Side) => R | Promise<R>) => {
    const { ours, prom } = await differential(scenario, contentType);
    expect(ours).toEqual(prom);
    return ours;
  };

  it("renders label-less metrics at 0 before anything is recorded, labelled ones empty", async () => {
    const text = await same(async ({ lib, registers, registry }) => {
      new lib.Counter({ name: "counter", help: "help", ...registers });
      new lib.Gauge({ name: "gauge", help: "help", ...registers });
      new lib.Histogram({ name: "histogram", help: "help", ...registers });
      new lib.Summary({ name: "summary", help: "help", ...registers });
      new lib.Counter({ name: "counter_l", help: "help", labelNames: ["label"], ...registers });
      new lib.Gauge({ name: "gauge_l", help: "help", labelNames: ["label"], ...registers });
      new lib.Histogram({ name: "histogram_l", help: "help", labelNames: ["label"], ...registers });
      new lib.Summary({ name: "summary_l", help: "help", labelNames: ["label"], ...registers });
      return registry.metrics();
    });
    expect(text).toContain('summary{quantile="0.5"} 0');
  });

  it("renders custom metrics (objects with get()) at scrape time: values, NaN, ±Inf, default labels", async () => {
    await same(async ({ registry }) => {
      registry.registerMetric(customMetric() as never);
      registry.registerMetric(
        custom("nan", { type: "gauge", help: "A test metric", values: [{ value: Number.NaN }] }),
      );
      registry.registerMetric(
        custom("inf", {
          type: "gauge",
          help: "A test metric",
          values: [{ value: Number.POSITIVE_INFINITY }, { value: Number.NEGATIVE_INFINITY }],
        }),
      );
      registry.registerMetric(
        custom("overlap", {
          type: "counter",
          help: "A test metric",
          values: [
            { value: 1, labels: { testLabel: "overlapped", anotherLabel: "value123" } },
            { value: 2, labels: { code: '3"03' } },
          ],
        }),
      );
      const before = await textOf(registry);
      registry.setDefaultLabels({ testLabel: "testValue" });
      return { before, after: await textOf(registry), json: await jsonOf(registry) };
    });
  });

  it("refuses a second metric of a name, returns and removes single metrics", async () => {
    await same(async ({ registry }) => {
      const metric = customMetric();
      registry.registerMetric(metric as never);
      const again = caught(() => registry.registerMetric(customMetric() as never));
      registry.registerMetric(customMetric("some_other_name") as never);
      const found = registry.getSingleMetric("test_metric") === (metric as never);
      const before = (await registry.getMetricsAsJSON()).length;
      registry.removeSingleMetric("test_metric");
      const after = await jsonOf(registry);
      return { again, found, before, after };
    });
  });

  it("adds default labels like prom-client: counter, gauge and histogram lines and JSON", async () => {
    await same(async ({ lib, registers, registry, sync }) => {
      registry.setDefaultLabels({ env: "development" });
      const counter = new lib.Counter({
        name: "my_counter",
        help: "my counter",
        labelNames: ["type"],
        ...registers,
      });
      const gauge = new lib.Gauge({
        name: "my_gauge",
        help: "my gauge",
        labelNames: ["type"],
        ...registers,
      });
      const hist = new lib.Histogram({
        name: "my_histogram",
        help: "my histogram",
        labelNames: ["type"],
        ...registers,
      });
      const summary = new lib.Summary({
        name: "my_summary",
        help: "s",
        labelNames: ["type"],
        percentiles: [0.5],
        ...registers,
      });
      counter.labels("myType").inc();
      gauge.labels("myType").inc(1);
      hist.labels("myType").observe(1);
      summary.labels("myType").observe(2);
      await sync();
      // Summary quantiles are estimates of different sketches (README): masked.
      const read = async () => ({
        text: maskQuantiles(await textOf(registry)),
        json: maskQuantileValues(await jsonOf(registry)),
      });
      const first = await read();
      counter.labels("myType").inc();
      gauge.labels("myType").inc(2);
      hist.labels("myType").observe(1);
      await sync();
      return [first, await read()];
    });
  });

  it("resets every metric", async () => {
    await same(async ({ lib, registers, registry, sync }) => {
      const counter = new lib.Counter({
        name: "test_counter",
        help: "test metric",
        labelNames: ["serial", "active"],
        ...registers,
      });
      const gauge = new lib.Gauge({
        name: "test_gauge",
        help: "Another test metric",
        labelNames: ["level"],
        ...registers,
      });
      const histo = new lib.Histogram({ name: "test_histo", help: "test", ...registers });
      const summ = new lib.Summary({
        name: "test_summ",
        help: "test",
        percentiles: [0.5],
        ...registers,
      });
      counter.inc({ serial: "12345", active: "yes" }, 12);
      gauge.set({ level: "low" }, -12);
      histo.observe(1);
      summ.observe(100);
      await sync();
      registry.resetMetrics();
      await sync();
      return [await getOf(counter), await getOf(gauge), await getOf(histo), await getOf(summ)];
    });
  });

  it("runs collect() at scrape time and shows what it sets in that scrape and in get()", async () => {
    await same(async ({ lib, registers, registry, sync }) => {
      let depth = 5;
      new lib.Gauge({
        name: "queue_depth",
        help: "Jobs waiting",
        ...registers,
        collect() {
          this.set(depth);
        },
      });
      const ticks = new lib.Counter({
        name: "scrapes",
        help: "Scrapes",
        labelNames: ["kind"],
        ...registers,
        async collect() {
          await Promise.resolve();
          this.inc({ kind: "scrape" });
        },
      });
      const first = await textOf(registry);
      depth = 7;
      const second = await textOf(registry);
      await sync();
      depth = 9;
      return { first, second, third: await textOf(registry), get: await getOf(ticks) };
    });
  });

  it("gives the single metric in the registry's format, without a final newline", async () => {
    await same(async ({ lib, registers, registry, sync }) => {
      const c = new lib.Counter({ name: "requests", help: "r", labelNames: ["id"], ...registers });
      c.inc({ id: "123" });
      c.inc({ id: "456" }, 2);
      await sync();
      return inSeriesOrderText(await registry.getSingleMetricAsString("requests"));
    });
  });

  it("merges registries; refuses one name in two of them", async () => {
    const { ours: mine, prom: theirs } = await differential(async (side) => {
      const R = side.registry.constructor as typeof upstash.Registry;
      const one = new R(contentType);
      const two = new R(contentType);
      one.registerMetric(customMetric("one") as never);
      two.registerMetric(customMetric("two") as never);
      const merged = await R.merge([one, two]).metrics();
      const three = new R(contentType);
      three.registerMetric(customMetric("one") as never);
      return { merged, clash: caught(() => R.merge([one, three])) };
    }, contentType);
    expect(mine).toEqual(theirs);
  });

  it("reports its content type, set in the constructor as in prom-client", async () => {
    await same(({ registry }) => {
      const R = registry.constructor as typeof upstash.Registry;
      return [new R().contentType, new R(contentType).contentType, registry.contentType];
    });
  });
});
