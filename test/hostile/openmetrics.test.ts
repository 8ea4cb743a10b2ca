// Issue 13, item 7: every exposition passes promtool (text 0.0.4) and the strict OpenMetrics
// parser, including the values OpenMetrics cannot carry (negative sums and quantiles), which
// it leaves out while the text format keeps them.
import { expect, it } from "vitest";
import { Counter, Histogram, Registry, Summary } from "../../src/index.ts";
import { parseChecked, sampleValue } from "../helpers/exposition.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

async function scrapeBoth(r: Registry) {
  await r.flush();
  expect(r.stats.failedFlushes).toBe(0);
  const text = parseChecked(await r.metrics());
  const om = parseChecked(await r.metrics(Registry.OPENMETRICS_CONTENT_TYPE));
  return { text, om };
}

it("a histogram with negative bucket bounds: OpenMetrics without _sum and _count", async () => {
  const r = new Registry({ redis: newClient(), prefix: uniquePrefix("om") });
  const h = new Histogram({ name: "t", help: "h", buckets: [-10, 0, 10], registers: [r] });
  for (const v of [-20, -5, 5, 50]) h.observe(v);
  const { text, om } = await scrapeBoth(r);
  expect(sampleValue(text, "t_sum")).toBe(30);
  expect(sampleValue(text, "t_count")).toBe(4);
  expect(sampleValue(om, "t_sum")).toBeUndefined();
  expect(sampleValue(om, "t_count")).toBeUndefined();
  expect(sampleValue(om, "t_bucket", { le: "+Inf" })).toBe(4);
});

it("a histogram series whose sum is negative: OpenMetrics without its _sum and _count", async () => {
  const r = new Registry({ redis: newClient(), prefix: uniquePrefix("om") });
  const h = new Histogram({
    name: "d",
    help: "h",
    labelNames: ["k"],
    buckets: [1],
    registers: [r],
  });
  h.observe({ k: "neg" }, -3);
  h.observe({ k: "pos" }, 3);
  const { text, om } = await scrapeBoth(r);
  expect(sampleValue(text, "d_sum", { k: "neg" })).toBe(-3);
  expect(sampleValue(om, "d_sum", { k: "neg" })).toBeUndefined();
  expect(sampleValue(om, "d_count", { k: "neg" })).toBeUndefined();
  expect(sampleValue(om, "d_sum", { k: "pos" })).toBe(3);
  expect(sampleValue(om, "d_count", { k: "pos" })).toBe(1);
});

it("a summary of negative values: OpenMetrics without negative quantiles and _sum", async () => {
  const r = new Registry({ redis: newClient(), prefix: uniquePrefix("om") });
  const s = new Summary({ name: "s", help: "h", percentiles: [0.1, 0.9], registers: [r] });
  for (const v of [-100, -50, 10, 20, -1]) s.observe(v);
  const { text, om } = await scrapeBoth(r);
  expect(sampleValue(text, "s", { quantile: "0.1" })).toBeLessThan(0);
  expect(sampleValue(text, "s_sum")).toBe(-121);
  expect(sampleValue(om, "s", { quantile: "0.1" })).toBeUndefined();
  // rank 0.9 × 4 = 3.6 of (−100, −50, −1, 10, 20): 10, within α = 1 %
  expect(Math.abs(sampleValue(om, "s", { quantile: "0.9" })! - 10)).toBeLessThanOrEqual(0.1);
  expect(sampleValue(om, "s_sum")).toBeUndefined();
  expect(sampleValue(om, "s_count")).toBe(5);
});

it("counters with and without _total have one family name in OpenMetrics", async () => {
  const r = new Registry({ redis: newClient(), prefix: uniquePrefix("om") });
  new Counter({ name: "a_total", help: "h", registers: [r] }).inc(2);
  new Counter({ name: "b", help: "h", registers: [r] }).inc(3);
  const { text, om } = await scrapeBoth(r);
  expect([sampleValue(text, "a_total"), sampleValue(text, "b")]).toEqual([2, 3]);
  expect([sampleValue(om, "a_total"), sampleValue(om, "b_total")]).toEqual([2, 3]);
  expect(om.map((f) => f.name)).toEqual(["a", "b"]);
});

it("label values that differ only in lone surrogates are one series, as a scraper reads them", async () => {
  const r = new Registry({ redis: newClient(), prefix: uniquePrefix("om") });
  const c = new Counter({ name: "u_total", help: "h", labelNames: ["v"], registers: [r] });
  c.inc({ v: "a\ud800" });
  c.inc({ v: "a\udc00" });
  c.labels("a\udbff").inc();
  await r.flush();
  // What goes over the wire is UTF-8: a lone surrogate is U+FFFD there.
  const wire = (t: string) => new TextDecoder().decode(new TextEncoder().encode(t));
  const text = parseChecked(wire(await r.metrics()));
  expect(sampleValue(text, "u_total", { v: "a\ufffd" })).toBe(3);
  parseChecked(wire(await r.metrics(Registry.OPENMETRICS_CONTENT_TYPE)));
  expect(() => new Registry({ instanceId: "x\ud800" })).toThrow(/Invalid instanceId/);
});
