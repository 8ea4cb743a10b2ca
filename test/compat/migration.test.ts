// The defects of issue 12 ("migrate from prom-client and @hono/prometheus by changing the
// import — for real"), one test each, in the issue's numbering. Each failed before its fix.
import { describe, expect, it, vi } from "vitest";
import {
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  OPENMETRICS_CONTENT_TYPE,
  Registry,
  Summary,
} from "../../src/index.ts";
import { parseChecked, sampleValue } from "../helpers/exposition.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

const registry = (name: string) =>
  new Registry({ redis: newClient(), prefix: uniquePrefix(`migration-${name}`) });

describe("1. a rejected registration leaves the registry as it was", () => {
  it("takes prom-client's custom metrics (objects with get()) and keeps flushing and scraping", async () => {
    const r = registry("custom");
    const c = new Counter({ name: "jobs_total", help: "Jobs", registers: [r] });
    c.inc(2);
    r.registerMetric({
      name: "queue_size",
      help: "Jobs waiting",
      type: "gauge",
      get: () => ({
        name: "queue_size",
        help: "Jobs waiting",
        type: "gauge",
        values: [{ value: 3 }],
      }),
    });
    await r.flush();
    expect(r.stats.failedFlushes).toBe(0);
    const families = parseChecked(await r.metrics());
    expect(sampleValue(families, "jobs_total")).toBe(2);
    expect(sampleValue(families, "queue_size")).toBe(3);
  });

  it("refuses what is no metric before storing it: later flushes and scrapes work, no value is lost", async () => {
    const r = registry("refused");
    const c = new Counter({ name: "kept_total", help: "Kept", registers: [r] });
    c.inc();
    expect(() => r.registerMetric({ name: "bogus" } as never)).toThrow(TypeError);
    expect(r.getSingleMetric("bogus")).toBeUndefined();
    c.inc();
    await r.flush();
    expect(r.stats.failedFlushes).toBe(0);
    expect(sampleValue(parseChecked(await r.metrics()), "kept_total")).toBe(2);
  });

  it("registers in all of `registers` or in none", () => {
    const a = registry("atomic-a");
    const b = registry("atomic-b");
    new Gauge({ name: "taken", help: "b has it", registers: [b] });
    expect(() => new Counter({ name: "taken", help: "h", registers: [a, b] })).toThrow(
      "A metric with the name taken has already been registered.",
    );
    expect(a.getSingleMetric("taken")).toBeUndefined();
  });
});

describe("2. a constructor that throws has registered nowhere", () => {
  it.each([
    [
      "Summary percentiles [2]",
      (r: Registry) => new Summary({ name: "m", help: "h", percentiles: [2], registers: [r] }),
    ],
    [
      "Histogram buckets []",
      (r: Registry) => new Histogram({ name: "m", help: "h", buckets: [], registers: [r] }),
    ],
    [
      "Histogram buckets [2, 1]",
      (r: Registry) => new Histogram({ name: "m", help: "h", buckets: [2, 1], registers: [r] }),
    ],
    [
      "Gauge aggregate avg",
      (r: Registry) =>
        new Gauge({ name: "m", help: "h", aggregate: "avg" as never, registers: [r] }),
    ],
    [
      "Gauge expire 0",
      (r: Registry) => new Gauge({ name: "m", help: "h", expire: 0, registers: [r] }),
    ],
  ])("%s: the name stays free and scrapes keep working", async (_, make) => {
    const r = registry("ctor");
    expect(() => make(r)).toThrow();
    expect(r.getSingleMetric("m")).toBeUndefined();
    const s = new Summary({ name: "m", help: "h", percentiles: [0.5], registers: [r] });
    s.observe(4);
    await r.flush();
    expect(sampleValue(parseChecked(await r.metrics()), "m_count")).toBe(1);
  });
});

describe("3. metric.get() and collect()", () => {
  it("get() returns the global values of every instance, in prom-client's shape", async () => {
    const prefix = uniquePrefix("migration-get");
    const [a, b] = [0, 1].map(() => new Registry({ redis: newClient(), prefix }));
    const make = (r: Registry) =>
      new Counter({ name: "hits_total", help: "Hits", labelNames: ["route"], registers: [r] });
    const [ca, cb] = [make(a!), make(b!)];
    ca.inc({ route: "/" }, 2);
    cb.inc({ route: "/" }, 3);
    await Promise.all([a!.flush(), b!.flush()]);
    expect(await ca.get()).toEqual({
      name: "hits_total",
      help: "Hits",
      type: "counter",
      aggregator: "sum",
      values: [{ value: 5, labels: { route: "/" } }],
    });
  });

  it("collect() runs on the scraping instance; what it sets shows in that scrape, and in others after its flush", async () => {
    const prefix = uniquePrefix("migration-collect");
    const server = new Registry({ redis: newClient(), prefix });
    const other = new Registry({ redis: newClient(), prefix });
    let depth = 4;
    new Gauge({
      name: "queue_depth",
      help: "Jobs waiting",
      registers: [server],
      collect() {
        this.set(depth);
      },
    });
    new Gauge({ name: "queue_depth", help: "Jobs waiting", registers: [other] });
    const requests = server.stats.flushes;
    expect(sampleValue(parseChecked(await server.metrics()), "queue_depth")).toBe(4);
    expect(server.stats.flushes).toBe(requests); // no write on the scrape path
    expect(sampleValue(parseChecked(await other.metrics()), "queue_depth")).toBe(0);
    depth = 6;
    expect(sampleValue(parseChecked(await server.metrics()), "queue_depth")).toBe(6);
    await server.flush();
    expect(sampleValue(parseChecked(await other.metrics()), "queue_depth")).toBe(6);
  });
});

describe("4. a metric in two registries shows its data in both", () => {
  it("registries of one prefix (and two clients) each show every update", async () => {
    const prefix = uniquePrefix("migration-two");
    const a = new Registry({ redis: newClient(), prefix });
    const b = new Registry({ redis: newClient(), prefix });
    const c = new Counter({ name: "c_total", help: "c", labelNames: ["k"], registers: [a, b] });
    const h = new Histogram({ name: "h", help: "h", buckets: [1], registers: [a, b] });
    const s = new Summary({ name: "s", help: "s", percentiles: [0.5], registers: [a, b] });
    const g = new Gauge({ name: "g", help: "g", registers: [a, b] });
    c.inc({ k: "x" }, 3);
    h.observe(0.5);
    s.observe(2);
    g.set(7);
    await a.flush();
    c.labels("x").inc(2);
    h.observe(3);
    await b.flush();
    await a.flush();
    for (const r of [a, b]) {
      const f = parseChecked(await r.metrics());
      expect(sampleValue(f, "c_total", { k: "x" })).toBe(5);
      expect(sampleValue(f, "h_count")).toBe(2);
      expect(sampleValue(f, "h_bucket", { le: "1" })).toBe(1);
      expect(sampleValue(f, "s_count")).toBe(1);
      expect(sampleValue(f, "s_sum")).toBe(2);
      expect(sampleValue(f, "g")).toBe(7);
    }
    // remove/reset reach both too.
    c.remove("x");
    h.reset();
    await Promise.all([a.flush(), b.flush()]);
    for (const r of [a, b]) {
      const f = parseChecked(await r.metrics());
      expect(sampleValue(f, "c_total", { k: "x" })).toBeUndefined();
      expect(f.find((x) => x.name === "h")!.samples).toHaveLength(0);
    }
  });

  it("registries with the same prefix share one namespace: the data is written once", async () => {
    const prefix = uniquePrefix("migration-same");
    const a = new Registry({ redis: newClient(), prefix });
    const b = new Registry({ redis: newClient(), prefix });
    const c = new Counter({ name: "once_total", help: "c", registers: [a, b] });
    c.inc(3);
    await a.flush();
    await b.flush();
    c.inc();
    await b.flush();
    await a.flush();
    expect(sampleValue(parseChecked(await a.metrics()), "once_total")).toBe(4);
    expect(sampleValue(parseChecked(await b.metrics()), "once_total")).toBe(4);
  });

  it("a gauge in registries of one prefix is stored once, whichever of them flushes", async () => {
    const prefix = uniquePrefix("migration-gauge");
    const a = new Registry({ redis: newClient(), prefix });
    const b = new Registry({ redis: newClient(), prefix });
    const g = new Gauge({ name: "in_flight", help: "g", registers: [a, b] });
    g.set(5);
    await a.flush();
    g.set(6);
    await b.flush();
    await a.flush();
    expect(sampleValue(parseChecked(await b.metrics()), "in_flight")).toBe(6);
  });

  it("keeps feeding the registries still holding it after another removed it", async () => {
    const prefix = uniquePrefix("migration-left");
    const a = new Registry({ redis: newClient(), prefix });
    const b = new Registry({ redis: newClient(), prefix });
    const c = new Counter({ name: "c_total", help: "c", registers: [a, b] });
    c.inc();
    a.removeSingleMetric("c_total");
    c.inc();
    await a.flush();
    await b.flush();
    expect(sampleValue(parseChecked(await b.metrics()), "c_total")).toBe(2);
  });

  it("registries of different prefixes are refused at registration, changing nothing (issue 20)", () => {
    const a = registry("dest-a");
    const b = registry("dest-b");
    const message = /c_total cannot join registries of different prefixes/;
    expect(() => new Counter({ name: "c_total", help: "c", registers: [a, b] })).toThrow(message);
    expect(a.getSingleMetric("c_total")).toBeUndefined();
    expect(b.getSingleMetric("c_total")).toBeUndefined();
    const c = new Counter({ name: "c_total", help: "c", registers: [a] });
    expect(() => b.registerMetric(c)).toThrow(message);
    expect(b.getSingleMetric("c_total")).toBeUndefined();
    // Once no registry holds it, it may go elsewhere.
    a.removeSingleMetric("c_total");
    b.registerMetric(c);
    expect(b.getSingleMetric("c_total")).toBe(c);
  });
});

describe("5. gauges take NaN and ±Infinity", () => {
  it("set, inc and labels().set accept them in the request path", async () => {
    const r = registry("nan");
    const g = new Gauge({ name: "g", help: "g", labelNames: ["v"], registers: [r] });
    expect(() => {
      g.set({ v: "nan" }, Number.NaN);
      g.set({ v: "inf" }, Number.POSITIVE_INFINITY);
      g.labels("-inf").set(Number.NEGATIVE_INFINITY);
    }).not.toThrow();
    await r.flush();
    const text = await r.metrics();
    expect(text).toContain('g{v="nan"} NaN');
    expect(text).toContain('g{v="inf"} +Inf');
    expect(text).toContain('g{v="-inf"} -Inf');
  });
});

describe("6. a null label value is rendered as prom-client renders it", () => {
  it("counts the series as 'null'", async () => {
    const r = registry("null");
    const c = new Counter({ name: "n_total", help: "n", labelNames: ["t"], registers: [r] });
    expect(() => c.inc({ t: null as never })).not.toThrow();
    await r.flush();
    expect(sampleValue(parseChecked(await r.metrics()), "n_total", { t: "null" })).toBe(1);
  });
});

describe("7. JSON shapes: le and quantile are numbers", () => {
  it("as prom-client gives them (le +Inf stays text)", async () => {
    const r = registry("json");
    const h = new Histogram({ name: "h", help: "h", buckets: [0.5], registers: [r] });
    const s = new Summary({ name: "s", help: "s", percentiles: [0.9], registers: [r] });
    h.observe(1);
    s.observe(1);
    await r.flush();
    const [hj, sj] = await r.getMetricsAsJSON();
    expect(hj!.values.map((v) => v.labels.le)).toEqual([0.5, "+Inf", undefined, undefined]);
    expect(sj!.values[0]!.labels.quantile).toBe(0.9);
  });
});

describe("9. smaller API gaps", () => {
  it("new Registry(contentType) renders in that type", async () => {
    const r = new Registry(OPENMETRICS_CONTENT_TYPE);
    r.setRedis(newClient());
    expect(r.contentType).toBe(OPENMETRICS_CONTENT_TYPE);
    expect(await r.metrics()).toMatch(/# EOF\n$/);
  });

  it("Registry.merge exposes the metrics of all of them", async () => {
    const prefix = uniquePrefix("migration-merge");
    const a = new Registry({ redis: newClient(), prefix });
    const b = new Registry({ prefix });
    new Counter({ name: "a_total", help: "a", registers: [a] }).inc();
    new Counter({ name: "b_total", help: "b", registers: [b] }).inc(2);
    const merged = Registry.merge([a, b]);
    await merged.flush();
    const f = parseChecked(await merged.metrics());
    expect([sampleValue(f, "a_total"), sampleValue(f, "b_total")]).toEqual([1, 2]);
    expect(() => Registry.merge([a, registry("other")])).toThrow(/same prefix/);
  });

  it("getSingleMetricAsString follows the registry's format and has no final newline", async () => {
    const r = registry("single");
    r.setContentType(OPENMETRICS_CONTENT_TYPE);
    new Counter({ name: "one_total", help: "o", registers: [r] }).inc();
    await r.flush();
    expect(await r.getSingleMetricAsString("one_total")).toBe(
      "# HELP one o\n# TYPE one counter\none_total 1",
    );
  });

  it("pruneAgedBuckets, 0 for an empty summary, no zero series after a histogram's reset()", async () => {
    const r = registry("gaps");
    const s = new Summary({
      name: "s",
      help: "s",
      percentiles: [0.5],
      pruneAgedBuckets: false,
      registers: [r],
    });
    const h = new Histogram({ name: "h", help: "h", buckets: [1], registers: [r] });
    expect(s.pruneAgedBuckets).toBe(false);
    h.observe(2);
    await r.flush();
    h.reset();
    await r.flush();
    const text = await r.metrics();
    expect(text).toContain('s{quantile="0.5"} 0\n');
    expect(text).not.toMatch(/^h_/m);
  });
});

describe("10. collectDefaultMetrics", () => {
  it("runs: a no-op that warns once, with prom-client's check of its argument", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    collectDefaultMetrics();
    collectDefaultMetrics({ prefix: "app_" });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(() => collectDefaultMetrics(5 as never)).toThrow(
      "config must be null, undefined, or an object",
    );
    expect(collectDefaultMetrics.metricsList).toEqual([]);
    warn.mockRestore();
  });
});

describe("12. label order follows prom-client's", () => {
  it("series labels in the order of the labels object, le first, default labels where prom-client puts them", async () => {
    const r = registry("order");
    r.setDefaultLabels({ env: "prod" });
    const c = new Counter({ name: "c_total", help: "c", labelNames: ["b", "a"], registers: [r] });
    const h = new Histogram({
      name: "h",
      help: "h",
      labelNames: ["b", "a"],
      buckets: [1],
      registers: [r],
    });
    c.inc({ a: "1", b: "2" });
    h.observe({ a: "1", b: "2" }, 0.5);
    await r.flush();
    const text = await r.metrics();
    expect(text).toContain('c_total{a="1",b="2",env="prod"} 1');
    expect(text).toContain('h_bucket{le="1",env="prod",a="1",b="2"} 1');
    expect(text).toContain('h_sum{env="prod",a="1",b="2"} 0.5');
  });
});
