// The four defects of issue 20, one test each, in the numbering. Each failed before
// its fix.
import { afterEach, describe, expect, it, vi } from "vitest";
import { Counter, Registry, Summary } from "../../src/index.ts";
import { seriesCost } from "../../src/limits.ts";
import { parseChecked, sampleValue } from "../helpers/exposition.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

const registry = (name: string, options: ConstructorParameters<typeof Registry>[0] = {}) =>
  new Registry({
    redis: newClient(),
    prefix: uniquePrefix(`defects-${name}`),
    ...(options as object),
  });

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("1. a scrape of a summary with a collect option keeps its pending sketch", () => {
  it("the observations made before the scrape reach the quantiles of the next flush", async () => {
    const r = registry("collect");
    const s = new Summary({
      name: "latency",
      help: "l",
      percentiles: [0.5],
      registers: [r],
      collect() {},
    });
    for (let i = 0; i < 4; i++) s.observe(10);
    // The scrape shows them on top of what it read...
    const seen = parseChecked(await r.metrics());
    expect(sampleValue(seen, "latency", { quantile: "0.5" })).toBeCloseTo(10, 0);
    // ...and the flush after it still writes them, quantiles included.
    await r.flush();
    const other = new Registry({ redis: newClient(), prefix: r.prefix });
    new Summary({ name: "latency", help: "l", percentiles: [0.5], registers: [other] });
    const stored = parseChecked(await other.metrics());
    expect(sampleValue(stored, "latency_count")).toBe(4);
    expect(sampleValue(stored, "latency", { quantile: "0.5" })).toBeCloseTo(10, 0);
  });
});

describe("2. a summary's memory is released once per flush", () => {
  it("after a flush the series it keeps still count against maxSeriesBytes", async () => {
    const budget = 2000;
    const r = registry("budget", { maxSeriesBytes: budget });
    const s = new Summary({ name: "s", help: "s", labelNames: ["k"], registers: [r] });
    s.observe({ k: "a" }, 1);
    await r.flush();
    // Fill what is left of the budget with counter series of one size, until one is refused.
    const c = new Counter({ name: "c_total", help: "c", labelNames: ["k"], registers: [r] });
    let admitted = 0;
    for (let i = 0; r.stats.droppedUpdates === 0; i++) {
      c.inc({ k: `x${String(i).padStart(4, "0")}` });
      if (r.stats.droppedUpdates === 0) admitted++;
    }
    const kept =
      seriesCost(JSON.stringify(["a"])) + admitted * seriesCost(JSON.stringify(["x0000"]));
    expect(kept).toBeLessThanOrEqual(budget);
  });
});

describe("3. a clock that goes back never stalls flush()", () => {
  it("an interval of 0 never waits, whatever the clock says", async () => {
    const r = registry("clock-zero");
    const c = new Counter({ name: "c_total", help: "c", registers: [r] });
    c.inc();
    await r.flush();
    const real = Date.now.bind(Date);
    vi.spyOn(Date, "now").mockImplementation(() => real() - 3000);
    c.inc();
    const start = performance.now();
    await r.flush();
    expect(performance.now() - start).toBeLessThan(1000);
    vi.restoreAllMocks();
    expect(sampleValue(parseChecked(await r.metrics()), "c_total")).toBe(2);
  });

  it("a step back never makes a wait longer than the interval", async () => {
    const r = registry("clock-step", { flushIntervalMs: 300 });
    const c = new Counter({ name: "c_total", help: "c", registers: [r] });
    c.inc();
    await r.flush();
    const real = Date.now.bind(Date);
    vi.spyOn(Date, "now").mockImplementation(() => real() - 3_600_000);
    c.inc();
    const start = performance.now();
    await r.flush();
    expect(performance.now() - start).toBeLessThan(1300);
    vi.restoreAllMocks();
    expect(sampleValue(parseChecked(await r.metrics()), "c_total")).toBe(2);
  });

  it("fake timers with the clock at 0 do not hang a flush", async () => {
    const r = registry("clock-fake");
    const c = new Counter({ name: "c_total", help: "c", registers: [r] });
    c.inc();
    await r.flush();
    vi.useFakeTimers({ now: 0, toFake: ["Date", "setTimeout", "clearTimeout"] });
    c.inc();
    await r.flush();
    vi.useRealTimers();
    expect(sampleValue(parseChecked(await r.metrics()), "c_total")).toBe(2);
  }, 10_000);
});

describe("4. custom metric names are escaped as prom-client escapes them", () => {
  it("a backslash or newline in the name does not split the HELP and TYPE lines", async () => {
    const r = new Registry();
    r.registerMetric({
      name: 'a"\\b\nc',
      help: "h",
      type: "gauge",
      get: () => ({ name: 'a"\\b\nc', help: "h", type: "gauge", values: [{ value: 1 }] }),
    });
    const text = await r.metrics();
    expect(text).toBe('# HELP a"\\\\b\\nc h\n# TYPE a"\\\\b\\nc gauge\na"\\\\b\\nc 1\n');
  });
});
