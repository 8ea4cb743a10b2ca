// The bad-input table: every case ends in a clear error (at definition or call time), or in a
// flush + scrape whose exposition promtool accepts and in which the value comes back exactly —
// whatever the names, label values, numbers, buckets, percentiles and options contain.
import { describe, expect, it } from "vitest";
import { Counter, Gauge, Histogram, Registry, Summary } from "../../src/index.ts";
import {
  openMetricsCheck,
  type ParsedFamily,
  parseChecked,
  promtoolCheck,
  sampleValue,
} from "../helpers/exposition.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

type Make = (registry: Registry) => unknown;

interface ErrorCase {
  input: string;
  run: Make;
  error: RegExp;
}

interface ValidCase {
  input: string;
  run: Make;
  /** Checks the parsed exposition after a flush and a scrape. */
  check: (families: ParsedFamily[], text: string) => void;
  /** Scrape as OpenMetrics instead of text 0.0.4 (promtool checks the text format). */
  openMetrics?: boolean;
  /**
   * promtool only: the text is valid (0.0.4 escapes only \\, \" and \n, so a raw CR may stand
   * in a label value) but the tests' own strict parser reads line by line with `.`.
   */
  promtoolOnly?: boolean;
}

const reg = (registry: Registry) => ({ registers: [registry] });
const LONG = "x".repeat(100_000);

/** A counter with one label `v` incremented once with `value`; the scrape must give it back. */
function labelRoundTrip(input: string, value: string): ValidCase {
  return {
    input,
    run: (r) =>
      new Counter({ name: "lv_total", help: "h", labelNames: ["v"], ...reg(r) }).inc({ v: value }),
    check: (families) => {
      const samples = families.find((f) => f.name === "lv_total")!.samples;
      expect(samples).toHaveLength(1);
      // An empty label value is the same as no label to Prometheus: either spelling is fine.
      expect(samples[0]!.labels.v ?? "").toBe(value);
      expect(samples[0]!.value).toBe(1);
    },
  };
}

const errorCases: ErrorCase[] = [
  // names
  {
    input: "metric name empty",
    run: (r) => new Counter({ name: "", help: "h", ...reg(r) }),
    error: /Missing mandatory name parameter/,
  },
  {
    input: "metric name with space",
    run: (r) => new Counter({ name: "a b", help: "h", ...reg(r) }),
    error: /Invalid metric name/,
  },
  {
    input: "metric name with newline",
    run: (r) => new Counter({ name: "a\nb 1", help: "h", ...reg(r) }),
    error: /Invalid metric name/,
  },
  {
    input: "metric name unicode",
    run: (r) => new Counter({ name: "zähler", help: "h", ...reg(r) }),
    error: /Invalid metric name/,
  },
  {
    input: "metric name not a string",
    run: (r) => new Counter({ name: 42 as never, help: "h", ...reg(r) }),
    error: /Invalid metric name/,
  },
  {
    input: "help missing",
    run: (r) => new Counter({ name: "a", help: undefined as never, ...reg(r) }),
    error: /help/,
  },
  {
    input: "configuration not an object",
    run: () => new Counter(null as never),
    error: /constructor expected a config object/,
  },
  // label names
  {
    input: "label name with dot",
    run: (r) => new Counter({ name: "a", help: "h", labelNames: ["a.b"], ...reg(r) }),
    error: /Invalid label name/,
  },
  {
    input: "label name empty",
    run: (r) => new Counter({ name: "a", help: "h", labelNames: [""], ...reg(r) }),
    error: /Invalid label name/,
  },
  {
    input: "labelNames not an array",
    run: (r) => new Counter({ name: "a", help: "h", labelNames: "a" as never, ...reg(r) }),
    error: /must be an array/,
  },
  // label values at call time
  {
    input: "label value an object",
    run: (r) =>
      new Counter({ name: "a", help: "h", labelNames: ["v"], ...reg(r) }).inc({ v: {} as never }),
    error: /must be a string or number/,
  },
  {
    input: "label not declared",
    run: (r) =>
      new Counter({ name: "a", help: "h", labelNames: ["v"], ...reg(r) }).inc({ w: "x" } as never),
    error: /not included in initial labelset/,
  },
  // values
  {
    input: "counter inc negative",
    run: (r) => new Counter({ name: "a", help: "h", ...reg(r) }).inc(-0.5),
    error: /not possible to decrease/,
  },
  {
    input: "counter inc NaN",
    run: (r) => new Counter({ name: "a", help: "h", ...reg(r) }).inc(Number.NaN),
    error: /Value is not a valid number: NaN/,
  },
  {
    input: "counter inc a string",
    run: (r) => new Counter({ name: "a", help: "h", ...reg(r) }).inc("1" as never),
    error: /Value is not a valid number: 1/,
  },
  {
    input: "gauge set undefined",
    run: (r) => new Gauge({ name: "a", help: "h", ...reg(r) }).set(undefined as never),
    error: /Value is not a valid number: undefined/,
  },
  {
    input: "histogram observe Infinity",
    run: (r) =>
      new Histogram({ name: "a", help: "h", ...reg(r) }).observe(Number.POSITIVE_INFINITY),
    error: /Value is not a valid number: Infinity/,
  },
  {
    input: "summary observe NaN",
    run: (r) => new Summary({ name: "a", help: "h", ...reg(r) }).observe(Number.NaN),
    error: /Value is not a valid number: NaN/,
  },
  // buckets and percentiles
  {
    input: "buckets not an array",
    run: (r) => new Histogram({ name: "a", help: "h", buckets: 5 as never, ...reg(r) }),
    error: /non-empty array/,
  },
  {
    input: "bucket a string",
    run: (r) => new Histogram({ name: "a", help: "h", buckets: [1, "2" as never], ...reg(r) }),
    error: /Invalid bucket/,
  },
  {
    input: "bucket -Infinity",
    run: (r) =>
      new Histogram({ name: "a", help: "h", buckets: [Number.NEGATIVE_INFINITY, 1], ...reg(r) }),
    error: /Invalid bucket/,
  },
  {
    input: "buckets decreasing",
    run: (r) => new Histogram({ name: "a", help: "h", buckets: [5, 2, 1], ...reg(r) }),
    error: /strictly increasing/,
  },
  {
    input: "percentile negative",
    run: (r) => new Summary({ name: "a", help: "h", percentiles: [-0.1], ...reg(r) }),
    error: /Invalid percentile/,
  },
  {
    input: "percentile NaN",
    run: (r) => new Summary({ name: "a", help: "h", percentiles: [Number.NaN], ...reg(r) }),
    error: /Invalid percentile/,
  },
  {
    input: "percentiles duplicated",
    run: (r) => new Summary({ name: "a", help: "h", percentiles: [0.5, 0.5], ...reg(r) }),
    error: /Duplicate percentiles/,
  },
  {
    input: "percentiles empty",
    run: (r) => new Summary({ name: "a", help: "h", percentiles: [], ...reg(r) }),
    error: /non-empty/,
  },
  {
    input: "summary maxAgeSeconds 0",
    run: (r) => new Summary({ name: "a", help: "h", maxAgeSeconds: 0, ...reg(r) }),
    error: /maxAgeSeconds/,
  },
  {
    input: "summary ageBuckets 1.5",
    run: (r) => new Summary({ name: "a", help: "h", ageBuckets: 1.5, ...reg(r) }),
    error: /ageBuckets/,
  },
  {
    input: "gauge expire negative",
    run: (r) => new Gauge({ name: "a", help: "h", expire: -5, ...reg(r) }),
    error: /expire/,
  },
  // options
  { input: "registry prefix empty", run: () => new Registry({ prefix: "" }), error: /prefix/ },
  {
    input: "registry timeoutMs NaN",
    run: () => new Registry({ timeoutMs: Number.NaN }),
    error: /timeoutMs/,
  },
  {
    input: "registry maxPendingBytes negative",
    run: () => new Registry({ maxPendingBytes: -1 }),
    error: /maxPendingBytes/,
  },
  {
    input: "registry backoffMs fractional",
    run: () => new Registry({ backoffMs: 0.5 }),
    error: /backoffMs/,
  },
];

const validCases: ValidCase[] = [
  // prom-client accepts these: a gauge holds any number, and a label given as undefined is
  // a missing label.
  {
    input: "gauge set Infinity",
    run: (r) => new Gauge({ name: "ginf", help: "h", ...reg(r) }).set(Number.POSITIVE_INFINITY),
    check: (f) => expect(sampleValue(f, "ginf")).toBe(Number.POSITIVE_INFINITY),
  },
  {
    input: "label value undefined by position",
    run: (r) =>
      new Counter({ name: "lu_total", help: "h", labelNames: ["v"], ...reg(r) })
        .labels(undefined as never)
        .inc(),
    check: (f) => expect(sampleValue(f, "lu_total", {})).toBe(1),
  },
  labelRoundTrip("label value with double quotes", 'say "hi"'),
  labelRoundTrip("label value with backslashes", "C:\\path\\to\\"),
  labelRoundTrip("label value with a newline", "line1\nline2"),
  labelRoundTrip(
    "label value trying to inject a series",
    '"} injected_total 1\n# TYPE x counter\nx{a="',
  ),
  {
    input: "label value with CR and tab",
    promtoolOnly: true,
    run: (r) =>
      new Counter({ name: "crtab_total", help: "h", labelNames: ["v"], ...reg(r) }).inc({
        v: "a\rb\tc",
      }),
    check: (_, text) => expect(text).toContain('crtab_total{v="a\rb\tc"} 1\n'),
  },
  labelRoundTrip("label value with unicode (accents, CJK, emoji, RTL)", "café 東京 🚀 שלום"),
  labelRoundTrip("label value empty", ""),
  labelRoundTrip("label value 100 KB long", LONG),
  labelRoundTrip("label value looking like JSON", '["a","b"]'),
  labelRoundTrip("label value with braces and commas", "{a=1},b"),
  {
    input: "label value a number and a boolean",
    run: (r) => {
      const c = new Counter({ name: "n_total", help: "h", labelNames: ["n", "b"], ...reg(r) });
      c.inc({ n: 404, b: true as never });
    },
    check: (f) => expect(sampleValue(f, "n_total", { n: "404", b: "true" })).toBe(1),
  },
  {
    input: "HELP with newline, backslash and quotes",
    run: (r) => new Counter({ name: "help_total", help: 'line1\nline2 \\ "q"', ...reg(r) }).inc(),
    check: (f, text) => {
      expect(f.find((x) => x.name === "help_total")!.help).toBe('line1\nline2 \\ "q"');
      expect(text).toContain('# HELP help_total line1\\nline2 \\\\ "q"\n');
    },
  },
  {
    input: "metric name with colons (recording-rule style)",
    run: (r) => new Counter({ name: "job:requests:rate5m_total", help: "h", ...reg(r) }).inc(3),
    check: (f) => expect(sampleValue(f, "job:requests:rate5m_total")).toBe(3),
  },
  {
    input: "counter inc 0 makes the series exist",
    run: (r) =>
      new Counter({ name: "zero_total", help: "h", labelNames: ["k"], ...reg(r) }).inc(
        { k: "a" },
        0,
      ),
    check: (f) => expect(sampleValue(f, "zero_total", { k: "a" })).toBe(0),
  },
  {
    input: "counter inc 1e300 and a fraction",
    run: (r) => {
      const c = new Counter({ name: "big_total", help: "h", ...reg(r) });
      c.inc(1e300);
      new Counter({ name: "frac_total", help: "h", ...reg(r) }).inc(0.1);
    },
    check: (f) => {
      expect(sampleValue(f, "big_total")).toBe(1e300);
      expect(sampleValue(f, "frac_total")).toBeCloseTo(0.1, 15);
    },
  },
  {
    input: "gauge negative, -0 and the smallest double",
    run: (r) => {
      new Gauge({ name: "neg", help: "h", ...reg(r) }).set(-273.15);
      new Gauge({ name: "negzero", help: "h", ...reg(r) }).set(-0);
      new Gauge({ name: "tiny", help: "h", ...reg(r) }).set(5e-324);
    },
    check: (f) => {
      expect(sampleValue(f, "neg")).toBe(-273.15);
      expect(Math.abs(sampleValue(f, "negzero")!)).toBe(0);
      expect(sampleValue(f, "tiny")).toBe(5e-324);
    },
  },
  {
    input: "histogram observation below the first bucket and negative",
    run: (r) => {
      const h = new Histogram({ name: "hneg", help: "h", buckets: [0, 1], ...reg(r) });
      h.observe(-5);
      h.observe(0);
      h.observe(2);
    },
    check: (f) => {
      expect(sampleValue(f, "hneg_bucket", { le: "0" })).toBe(2);
      expect(sampleValue(f, "hneg_bucket", { le: "+Inf" })).toBe(3);
      expect(sampleValue(f, "hneg_sum")).toBe(-3);
    },
  },
  {
    input: "histogram buckets given with a trailing +Inf",
    run: (r) =>
      new Histogram({
        name: "hinf",
        help: "h",
        buckets: [1, Number.POSITIVE_INFINITY],
        ...reg(r),
      }).observe(5),
    check: (f) => {
      const les = f
        .find((x) => x.name === "hinf")!
        .samples.filter((s) => s.name === "hinf_bucket")
        .map((s) => s.labels.le);
      expect(les).toEqual(["1", "+Inf"]);
    },
  },
  {
    input: "histogram with negative and tiny bucket bounds",
    run: (r) =>
      new Histogram({ name: "hb", help: "h", buckets: [-1, 1e-9, 1e9], ...reg(r) }).observe(1e-10),
    check: (f) => {
      expect(sampleValue(f, "hb_bucket", { le: "-1" })).toBe(0);
      expect(sampleValue(f, "hb_bucket", { le: "1e-9" })).toBe(1);
    },
  },
  {
    input: "summary percentiles 0 and 1, unsorted",
    run: (r) => {
      const s = new Summary({ name: "sq", help: "h", percentiles: [1, 0, 0.5], ...reg(r) });
      for (let i = 1; i <= 100; i++) s.observe(i);
    },
    check: (f) => {
      const qs = f
        .find((x) => x.name === "sq")!
        .samples.filter((s) => s.labels.quantile !== undefined);
      expect(qs.map((s) => s.labels.quantile)).toEqual(["0", "0.5", "1"]);
      expect(sampleValue(f, "sq_count")).toBe(100);
    },
  },
  {
    input: "label value with quotes, rendered as OpenMetrics",
    openMetrics: true,
    run: (r) =>
      new Counter({ name: "om_total", help: "h", labelNames: ["v"], ...reg(r) }).inc({
        v: 'a"b\\c\nd',
      }),
    check: (f, text) => {
      expect(text.endsWith("# EOF\n")).toBe(true);
      expect(
        f.find((x) => x.name === "om")?.samples[0]?.labels.v ??
          f.flatMap((x) => x.samples).find((s) => s.name === "om_total")?.labels.v,
      ).toBe('a"b\\c\nd');
    },
  },
  {
    input: "a 2 MB label value: over the series bounds, dropped and counted, never thrown",
    run: (r) => {
      const c = new Counter({ name: "huge_total", help: "h", labelNames: ["v"], ...reg(r) });
      c.inc({ v: "y".repeat(2_000_000) });
      c.inc({ v: "ok" });
      expect(r.stats.droppedUpdates).toBe(1);
    },
    check: (f) => {
      expect(f.find((x) => x.name === "huge_total")!.samples).toHaveLength(1);
      expect(sampleValue(f, "huge_total", { v: "ok" })).toBe(1);
    },
  },
];

describe("bad input: a clear error", () => {
  it.each(errorCases.map((c) => [c.input, c] as const))("%s", (_, c) => {
    const registry = new Registry({ prefix: uniquePrefix("bad-input") });
    expect(() => c.run(registry)).toThrow(c.error);
  });
});

describe("bad input: a valid exposition with the value intact", () => {
  it.each(validCases.map((c) => [c.input, c] as const))("%s", async (_, c) => {
    const registry = new Registry({ redis: newClient(), prefix: uniquePrefix("bad-input") });
    c.run(registry);
    await registry.flush();
    expect(registry.stats.failedFlushes).toBe(0);
    const text = await registry.metrics(
      c.openMetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8" : undefined,
    );
    if (c.promtoolOnly) {
      promtoolCheck(text);
      c.check([], text);
      const json = await registry.getMetricsAsJSON();
      expect(json.flatMap((m) => m.values).some((v) => v.labels.v === "a\rb\tc")).toBe(true);
    } else {
      c.check(parseChecked(text), text);
    }
    // Whatever the case, the other format must pass its strict parser too.
    if (c.openMetrics) promtoolCheck(await registry.metrics());
    else openMetricsCheck(await registry.metrics(Registry.OPENMETRICS_CONTENT_TYPE));
  });
});

it("the table has at least 30 cases", () => {
  expect(errorCases.length + validCases.length).toBeGreaterThanOrEqual(30);
  console.log(`bad-input cases: ${errorCases.length} errors + ${validCases.length} expositions`);
});
