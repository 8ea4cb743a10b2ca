// Issue 13, items 1 and 3: no default label and no set of registered names may make a scrape
// unparsable. Each case either throws a clear error when it is set up, or the exposition passes
// promtool (text 0.0.4) and the strict OpenMetrics parser with every value intact.
import { describe, expect, it } from "vitest";
import { Counter, Gauge, Histogram, Registry, Summary } from "../../src/index.ts";
import { openMetricsCheck, parseChecked, promtoolCheck } from "../helpers/exposition.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

type MetricType = "counter" | "gauge" | "histogram" | "summary";

function define(r: Registry, type: MetricType, name: string, labelNames: string[] = []) {
  const config = { name, help: `help of ${name}`, labelNames, registers: [r] };
  switch (type) {
    case "counter":
      return new Counter(config);
    case "gauge":
      return new Gauge({ ...config, aggregate: "perInstance" });
    case "histogram":
      return new Histogram({ ...config, buckets: [1, 2] });
    case "summary":
      return new Summary({ ...config, percentiles: [0.5] });
  }
}

function record(metric: ReturnType<typeof define>): void {
  if (metric instanceof Counter) metric.inc(1);
  else if (metric instanceof Gauge) metric.set(1);
  else metric.observe(1);
}

/** Both formats of one registry's scrape pass their strict parsers. */
async function scrapeBothFormats(r: Registry): Promise<void> {
  await r.flush();
  expect(r.stats.failedFlushes).toBe(0);
  parseChecked(await r.metrics());
  parseChecked(await r.metrics(Registry.OPENMETRICS_CONTENT_TYPE));
}

describe("default labels (item 1)", () => {
  const hostile = ["a b", 'a"b', "a=b", "", "1a", "__name__", "le", "quantile", "instance_id"];

  it.each(hostile)("%j is refused with a clear error, or scrapes cleanly", async (name) => {
    const r = new Registry({ redis: newClient(), prefix: uniquePrefix("names") });
    for (const type of ["counter", "gauge", "histogram", "summary"] as const) {
      record(define(r, type, `m_${type}`));
    }
    let refused: unknown;
    try {
      r.setDefaultLabels({ [name]: "v" });
    } catch (error) {
      refused = error;
    }
    if (refused !== undefined) {
      expect(String(refused)).toMatch(/default label name/i);
      return;
    }
    await scrapeBothFormats(r);
  });

  it("valid default labels still apply, their values escaped", async () => {
    const r = new Registry({ redis: newClient(), prefix: uniquePrefix("names") });
    record(define(r, "counter", "ok_total"));
    r.setDefaultLabels({ service: 'a"b\\c\nd', n: 7 });
    await scrapeBothFormats(r);
    expect(await r.metrics()).toContain('ok_total{service="a\\"b\\\\c\\nd",n="7"} 1\n');
  });

  it("refuses a default labels argument that is not an object", () => {
    const r = new Registry({ prefix: uniquePrefix("names") });
    expect(() => r.setDefaultLabels(null as never)).toThrow(/must be an object/);
  });
});

describe("name clashes (item 3)", () => {
  const pairs: [MetricType, string, MetricType, string][] = [
    ["histogram", "h", "counter", "h_count"],
    ["histogram", "h", "gauge", "h_bucket"],
    ["histogram", "h", "gauge", "h_sum"],
    ["summary", "s", "gauge", "s_sum"],
    ["summary", "a", "summary", "a_sum"],
    ["summary", "a", "counter", "a_count"],
    ["counter", "c_total", "counter", "c"],
    ["counter", "c_total", "gauge", "c"],
    ["counter", "c", "gauge", "c_total"],
    ["counter", "c", "gauge", "c_created"],
    ["histogram", "h", "gauge", "h_created"],
    ["gauge", "g_bucket", "histogram", "g"],
  ];

  it.each(pairs)("%s %s then %s %s: refused, or both scrape cleanly", async (t1, n1, t2, n2) => {
    const r = new Registry({ redis: newClient(), prefix: uniquePrefix("names") });
    record(define(r, t1, n1));
    let second: ReturnType<typeof define> | undefined;
    try {
      second = define(r, t2, n2);
    } catch (error) {
      expect(String(error)).toMatch(/cannot be exposed beside/);
    }
    if (second !== undefined) record(second);
    await scrapeBothFormats(r);
  });

  it("a counter named _total is refused (OpenMetrics would name its family '')", async () => {
    const r = new Registry({ redis: newClient(), prefix: uniquePrefix("names") });
    record(define(r, "gauge", "other"));
    let counter: Counter | undefined;
    try {
      counter = new Counter({ name: "_total", help: "h", registers: [r] });
    } catch (error) {
      expect(String(error)).toMatch(/needs a name before _total/);
    }
    counter?.inc();
    await scrapeBothFormats(r);
  });

  it("names that only look alike are accepted", async () => {
    const r = new Registry({ redis: newClient(), prefix: uniquePrefix("names") });
    for (const [type, name] of [
      ["histogram", "h"],
      ["counter", "h_counts_total"],
      ["gauge", "hh_sum"],
      ["summary", "s"],
      ["gauge", "s_total"],
      ["counter", "x_total_total"],
      ["gauge", "x"],
    ] as const) {
      record(define(r, type, name));
    }
    await scrapeBothFormats(r);
  });

  it("a refused metric leaves the registry as it was; the same metric may register twice", () => {
    const r = new Registry({ prefix: uniquePrefix("names") });
    const h = define(r, "histogram", "h");
    expect(() => define(r, "gauge", "h_sum")).toThrow(/cannot be exposed beside/);
    expect(r.getMetricsAsArray()).toEqual([h]);
    expect(() => r.registerMetric(h)).not.toThrow();
  });

  it("a histogram and a summary of one name, written by two deployments into one prefix, keep apart", async () => {
    const prefix = uniquePrefix("names");
    const a = new Registry({ redis: newClient(), prefix });
    const b = new Registry({ redis: newClient(), prefix });
    const h = new Histogram({ name: "lat", help: "h", buckets: [1], registers: [a] });
    const s = new Summary({ name: "lat", help: "s", percentiles: [0.5], registers: [b] });
    h.observe(0.5);
    h.observe(3);
    s.observe(10);
    await a.flush();
    await b.flush();
    const fa = parseChecked(await a.metrics());
    const fb = parseChecked(await b.metrics());
    const value = (f: typeof fa, n: string) => f[0]!.samples.find((x) => x.name === n)?.value;
    expect([value(fa, "lat_sum"), value(fa, "lat_count")]).toEqual([3.5, 2]);
    expect([value(fb, "lat_sum"), value(fb, "lat_count")]).toEqual([10, 1]);
    promtoolCheck(await a.metrics());
    openMetricsCheck(await b.metrics(Registry.OPENMETRICS_CONTENT_TYPE));
  });
});

// Fixed with issue 12 (every option is checked before the metric joins its registries).
it("a metric whose constructor throws is not left registered (issue 12)", () => {
  const r = new Registry({ prefix: uniquePrefix("names") });
  expect(() => new Gauge({ name: "g", help: "h", expire: 1e9, registers: [r] })).toThrow(/expire/);
  expect(r.getSingleMetric("g")).toBeUndefined();
});
