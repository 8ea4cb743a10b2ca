// Upstash's allow-key-locking rule for the library's own scripts: every flush and scrape of every
// metric type (labelled and not, after remove(), reset(), resetMetrics(), with self-metrics after
// a failure, from two instances) runs scripts whose first line is `#!lua flags=allow-key-locking`
// and that touch no key outside the KEYS of their call. Upstash would refuse such a script
// ("Dynamic keys are not allowed"); without the flag it locks the user's whole database.
// The audit reads the script calls from MONITOR on the real redis-server (declared-keys.ts).
// Nor may a script travel inside MULTI/EXEC: Upstash runs those under the global lock anyway.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Counter,
  Gauge,
  type GaugeAggregate,
  Histogram,
  Registry,
  Summary,
} from "../../src/index.ts";
import { type FaultProxy, startFaultProxy } from "../../tools/fault-proxy/proxy.ts";
import {
  auditDeclaredKeys,
  firstLine,
  type KeyAudit,
  type KeyViolation,
  type RequestInfo,
} from "../../tools/local-upstash/index.ts";
import { recordingServer, uniquePrefix } from "../helpers/stack.ts";

const LOCKING = "#!lua flags=allow-key-locking";
const AGGREGATES: GaugeAggregate[] = ["sum", "max", "min", "last", "perInstance"];

/** All metric types, each once without labels and once with, in one registry. */
function defineMetrics(registry: Registry) {
  const registers = [registry];
  const labelNames = ["route", "code"] as const;
  return {
    counter: new Counter({ name: "c_total", help: "c", registers }),
    counterL: new Counter({ name: "cl_total", help: "c", labelNames, registers }),
    histogram: new Histogram({ name: "h_seconds", help: "h", buckets: [0.1, 1], registers }),
    histogramL: new Histogram({ name: "hl_seconds", help: "h", labelNames, registers }),
    summary: new Summary({ name: "s_seconds", help: "s", registers }),
    summaryL: new Summary({
      name: "sl_seconds",
      help: "s",
      labelNames,
      maxAgeSeconds: 60,
      ageBuckets: 3,
      registers,
    }),
    gauges: AGGREGATES.flatMap((aggregate) => [
      new Gauge({ name: `g_${aggregate}`, help: "g", aggregate, registers }),
      new Gauge({ name: `gl_${aggregate}`, help: "g", aggregate, labelNames, registers }),
    ]),
  };
}
type Metrics = ReturnType<typeof defineMetrics>;

function record(m: Metrics, n: number): void {
  for (let i = 0; i < n; i++) {
    const labels = { route: `/r${i % 3}`, code: String(200 + (i % 2)) };
    m.counter.inc();
    m.counterL.inc(labels, 2);
    m.histogram.observe(i / 10);
    m.histogramL.observe(labels, i / 7);
    m.summary.observe(i + 0.5);
    m.summaryL.observe(labels, i * 3);
    for (const g of m.gauges) {
      if (g.labelNames.length > 0) g.set(labels, i);
      else g.inc(i);
    }
  }
}

/**
 * One line per distinct problem, readable on failure: the registry's hash tag written {P}, and
 * what follows a key's type tag ("{P}:v:<metric>", "{P}:batch:<id>") written as "…".
 */
function summarize(violations: KeyViolation[], prefix: string): string[] {
  const shorten = (text: string) =>
    text.replaceAll(`{${prefix}}`, "{P}").replace(/(\{P\}:[a-z]+:)\S+/g, "$1…");
  const lines = violations.map(
    (v) =>
      `${v.kind}: ${v.command[0]} ${shorten(v.key ?? "")} (KEYS: ${shorten(v.declared.join(" "))})`,
  );
  return [...new Set(lines)];
}

const seen: { step: string; runs: number; problems: string[]; firstLines: string[] }[] = [];
afterAll(() => {
  console.log(
    seen
      .map(
        (s) =>
          `${s.step}: ${s.runs} script call(s), first lines ${JSON.stringify(s.firstLines)}` +
          (s.problems.length ? `\n    ${s.problems.join("\n    ")}` : ", no undeclared keys"),
      )
      .join("\n"),
  );
});

describe("every script call of the library declares its keys and carries allow-key-locking", () => {
  const recording = recordingServer({ billing: true });
  let prefix: string;
  let proxy: FaultProxy;
  let registry: Registry;
  let metrics: Metrics;
  let second: Registry;
  let secondMetrics: Metrics;
  let flaky: Registry;
  const errors: unknown[] = [];

  beforeAll(async () => {
    prefix = uniquePrefix("declared");
    proxy = await startFaultProxy({ target: recording.server.url });
    const make = (url?: string) =>
      new Registry({
        redis: url ? recording.client({ url }) : recording.client(),
        prefix,
        onError: (e) => errors.push(e),
        retries: 0,
      });
    registry = make();
    metrics = defineMetrics(registry);
    second = make();
    secondMetrics = defineMetrics(second);
    flaky = make(proxy.url);
    new Counter({ name: "flaky_total", help: "f", registers: [flaky] });
  });
  afterAll(() => proxy?.stop());

  async function step(name: string, work: () => Promise<unknown>): Promise<void> {
    let requests: RequestInfo[] = [];
    const audit: KeyAudit = await auditDeclaredKeys(recording.server, async () => {
      requests = await recording.during(work);
    });
    // Upstash runs a script queued in a transaction under the global lock, flag or not.
    const inTransactions = requests
      .filter((r) => r.path === "/multi-exec")
      .flatMap((r) => r.commands.map((c) => String(c[0]).toUpperCase()))
      .filter((name) => name.startsWith("EVAL"));
    expect(inTransactions, "scripts sent inside MULTI/EXEC").toEqual([]);
    const firstLines = [...new Set(audit.runs.map(firstLine))];
    const problems = summarize(audit.violations, prefix);
    seen.push({ step: name, runs: audit.runs.length, problems, firstLines });
    expect(audit.runs.length, "the step ran no script at all").toBeGreaterThan(0);
    expect({ firstLines, problems }).toEqual({ firstLines: [LOCKING], problems: [] });
  }

  it("first flush of every type (EVAL)", () =>
    step("first flush", async () => {
      record(metrics, 6);
      await registry.flush();
    }));

  it("next flush (EVALSHA)", () =>
    step("second flush", async () => {
      record(metrics, 4);
      await registry.flush();
    }));

  it("scrape: metrics(), getSingleMetricAsString(), getMetricsAsJSON()", () =>
    step("scrape", async () => {
      await registry.metrics();
      await registry.getSingleMetricAsString("gl_perInstance");
      await registry.getMetricsAsJSON();
    }));

  it("gauges of a second instance, then a scrape of both", () =>
    step("second instance", async () => {
      record(secondMetrics, 3);
      await second.flush();
      await registry.metrics();
    }));

  it("remove() of a labelled series of each type, flushed and scraped", () =>
    step("remove()", async () => {
      const labels = { route: "/r1", code: "201" };
      metrics.counterL.remove(labels);
      metrics.histogramL.remove(labels);
      metrics.summaryL.remove(labels);
      for (const g of metrics.gauges) if (g.labelNames.length > 0) g.remove(labels);
      await registry.flush();
      await registry.metrics();
    }));

  it("reset() of each metric, flushed and scraped", () =>
    step("reset()", async () => {
      metrics.counter.reset();
      metrics.counterL.reset();
      metrics.histogramL.reset();
      metrics.summaryL.reset();
      for (const g of metrics.gauges) g.reset();
      record(metrics, 2);
      await registry.flush();
      await registry.metrics();
    }));

  it("registry.resetMetrics(), flushed and scraped", () =>
    step("resetMetrics()", async () => {
      registry.resetMetrics();
      await registry.flush();
      record(metrics, 1);
      await registry.flush();
      await registry.metrics();
    }));

  it("self-metrics after a failed flush, written and scraped", async () => {
    const counter = flaky.getSingleMetric("flaky_total") as Counter;
    proxy.script("http500");
    counter.inc();
    await flaky.flush(); // fails: the library counts it in its self-metrics
    expect(flaky.stats.failedFlushes).toBe(1);
    await step("self-metrics", async () => {
      await flaky.flush(); // the data and the self-metrics
      const text = await flaky.metrics();
      expect(text).toMatch(/prometheus_upstash_/);
    });
  });
});
