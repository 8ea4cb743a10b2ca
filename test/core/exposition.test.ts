import { describe, expect, it } from "vitest";
import {
  Counter,
  exponentialBuckets,
  Gauge,
  Histogram,
  linearBuckets,
  negotiateContentType,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  Registry,
  Summary,
} from "../../src/index.ts";
import { parseChecked, sampleValue } from "../helpers/exposition.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

const newRegistry = () => new Registry({ redis: newClient(), prefix: uniquePrefix("expo") });

describe("exposition", () => {
  it("escapes HELP and label values so no value can inject a line", async () => {
    const r = newRegistry();
    const c = new Counter({
      name: "x_total",
      help: 'multi\nline \\ "help"',
      labelNames: ["v"],
      registers: [r],
    });
    const nasty = [
      "cr\rlf",
      "ls\u2028ps\u2029",
      'a"b',
      "c\\d",
      "e\nf",
      'g\n# TYPE x_total gauge\nx_total{v="h"} 1e9',
      "ünïcødé ✓",
      "x".repeat(10_000),
    ];
    for (const v of nasty) c.inc({ v });
    await r.flush();
    const text = await r.metrics();
    expect(text).toContain('# HELP x_total multi\\nline \\\\ "help"\n');
    const families = parseChecked(text);
    expect(families).toHaveLength(1);
    for (const v of nasty) expect(sampleValue(families, "x_total", { v })).toBe(1);
    expect(sampleValue(families, "x_total", { v: "h" })).toBeUndefined();
  });

  it("orders buckets numerically, cumulates them and ends with +Inf", async () => {
    const r = newRegistry();
    const h = new Histogram({ name: "h", help: "h", buckets: [2, 10, 100], registers: [r] });
    for (const v of [1, 2, 3, 50, 1000, 1000]) h.observe(v);
    await r.flush();
    const text = await r.metrics();
    expect(text).toContain(
      'h_bucket{le="2"} 2\nh_bucket{le="10"} 3\nh_bucket{le="100"} 4\nh_bucket{le="+Inf"} 6\nh_sum 2056\nh_count 6\n',
    );
    parseChecked(text);
  });

  it("shows no unlabelled series beside labelled ones", async () => {
    const r = newRegistry();
    const c = new Counter({ name: "c_total", help: "c", labelNames: ["a"], registers: [r] });
    new Histogram({ name: "h", help: "h", labelNames: ["a"], registers: [r] });
    c.inc({ a: "1" });
    await r.flush();
    const text = await r.metrics();
    expect(text).toBe(
      '# HELP c_total c\n# TYPE c_total counter\nc_total{a="1"} 1\n\n# HELP h h\n# TYPE h histogram\n',
    );
  });

  it("renders OpenMetrics 1.0 on request, ending with # EOF", async () => {
    const r = newRegistry();
    const c = new Counter({ name: "req_total", help: "r", labelNames: ["m"], registers: [r] });
    const plain = new Counter({ name: "plain", help: "p", registers: [r] });
    new Gauge({ name: "g", help: 'say "hi"', registers: [r] });
    const s = new Summary({ name: "s", help: "s", registers: [r] });
    c.inc({ m: "GET" }, 3);
    plain.inc();
    s.observe(2);
    await r.flush();
    const text = await r.metrics(OPENMETRICS_CONTENT_TYPE);
    expect(text).toContain('# HELP req r\n# TYPE req counter\nreq_total{m="GET"} 3\n');
    expect(text).toContain("# TYPE plain counter\nplain_total 1\n");
    expect(text).toContain('# HELP g say \\"hi\\"\n');
    expect(text).toContain("s_sum 2\ns_count 1\n");
    expect(text.endsWith("# EOF\n")).toBe(true);
    expect(text).not.toContain("\n\n");
    r.setContentType(OPENMETRICS_CONTENT_TYPE);
    expect(r.contentType).toBe(OPENMETRICS_CONTENT_TYPE);
    expect(await r.metrics()).toBe(text);
  });

  it("adds default labels to every series without overriding the metric's own", async () => {
    const r = newRegistry();
    r.setDefaultLabels({ service: "api", a: "default" });
    const c = new Counter({ name: "c_total", help: "c", labelNames: ["a"], registers: [r] });
    c.inc({ a: "own" });
    await r.flush();
    const families = parseChecked(await r.metrics());
    expect(sampleValue(families, "c_total", { a: "own", service: "api" })).toBe(1);
    const json = await r.getMetricsAsJSON();
    expect(json).toEqual([
      {
        name: "c_total",
        help: "c",
        type: "counter",
        aggregator: "sum",
        values: [{ value: 1, labels: { service: "api", a: "own" } }],
      },
    ]);
  });

  it("negotiates the content type from an Accept header", () => {
    const prometheus =
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    expect(negotiateContentType(prometheus)).toBe(OPENMETRICS_CONTENT_TYPE);
    expect(negotiateContentType("text/plain")).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(negotiateContentType(undefined)).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(negotiateContentType("application/openmetrics-text;q=0, text/plain")).toBe(
      PROMETHEUS_CONTENT_TYPE,
    );
    expect(negotiateContentType("text/plain;q=1, application/openmetrics-text;q=0.5")).toBe(
      PROMETHEUS_CONTENT_TYPE,
    );
  });

  it("builds bucket layouts like prom-client", () => {
    expect(linearBuckets(0, 10, 4)).toEqual([0, 10, 20, 30]);
    expect(exponentialBuckets(1, 2, 4)).toEqual([1, 2, 4, 8]);
    // Generators check only what prom-client checks; the histogram refuses unsorted bounds.
    expect(linearBuckets(0, 0, 3)).toEqual([0, 0, 0]);
    expect(() => exponentialBuckets(0, 2, 3)).toThrow("Exponential buckets needs a positive start");
  });
});
