// Issue 13, the property: over random definitions (names, label names, help, options) and
// random calls (hostile label values and numbers) across two apps (two prefixes), each with
// several instances (registries with their own metric objects, as isolates have):
//   - every definition and every call either throws a clear error synchronously or is recorded;
//   - every scrape passes promtool (text 0.0.4) and the strict OpenMetrics parser;
//   - every value read back equals a model of what was recorded, series for series, in both
//     formats (quantiles within the summary's α), with no series a model does not predict, so
//     no call changes another metric, another app or another instance's values.
// Seeded; HOSTILE_RUNS and HOSTILE_SEED change the run count and seed, HOSTILE_NO_SHRINK=1
// reports the first failure as found. 120 runs take about 20 s.
import fc from "fast-check";
import { afterAll, expect, it } from "vitest";
import { Counter, Gauge, Histogram, type Metric, Registry, Summary } from "../../src/index.ts";
import { LogMapping } from "../../src/sketch/index.ts";
import {
  checkSeries,
  type ParsedFamily,
  parseExposition,
  startStrictCheckers,
} from "../helpers/exposition.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

const RUNS = Number(process.env.HOSTILE_RUNS ?? 120);
const SEED = Number(process.env.HOSTILE_SEED ?? 1313);
const checkers = startStrictCheckers();
/** What the runs exercised, printed at the end (a property that checks nothing passes too). */
const tally = { definitions: 0, accepted: 0, calls: 0, recorded: 0, scrapes: 0, samples: 0 };
afterAll(() => {
  checkers.stop();
  console.log(`property tally: ${JSON.stringify(tally)}`);
});

// ---------------------------------------------------------------------------------------------
// What is generated

type Type = "counter" | "gauge" | "histogram" | "summary";

interface Definition {
  type: Type;
  name: string;
  help: string;
  labelNames: string[];
  buckets: number[] | undefined;
  percentiles: number[] | undefined;
  maxAgeSeconds: number | undefined;
  ageBuckets: number | undefined;
  relativeAccuracy: number | undefined;
  maxBuckets: number | undefined;
  aggregate: string | undefined;
  expire: number | undefined;
}

interface Call {
  app: number;
  instance: number;
  metric: number;
  /** Which operation of the metric's type (inc/set/dec…), modulo how many it has. */
  op: number;
  /** labels given as an object, none, or through labels(…) (a child). */
  form: "object" | "bare" | "child";
  /** Label picks: `which` names the metric's label of that index; 3 is a label it lacks. */
  labels: { which: number; value: string | number }[];
  value: number | undefined;
  /** Flush this instance after the call. */
  flush: boolean;
}

interface App {
  prefix: string;
  instanceIds: (string | undefined)[];
  definitions: Definition[];
  defaultLabels: Record<string, string | number> | undefined;
}

const HOSTILE_CHARS = [
  '"',
  "\\",
  "\n",
  "\r",
  "\u2028",
  "\u2029",
  "\ud800", // lone surrogates
  "\udfff",
  "\u0000",
  "🚀",
  "é",
  " ",
  "=",
  ",",
  "{",
  "}",
  "#",
  "a",
];
const hostileText = (maxLength: number) =>
  fc.array(fc.constantFrom(...HOSTILE_CHARS), { maxLength }).map((cs) => cs.join(""));
const HUGE = "x".repeat(100_000);

const labelValue: fc.Arbitrary<string | number> = fc.oneof(
  { weight: 8, arbitrary: hostileText(6) },
  { weight: 2, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(HUGE, `${HUGE}🚀`) },
);

const numberValue: fc.Arbitrary<number | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -20, max: 100 }) },
  { weight: 3, arbitrary: fc.double() }, // NaN, ±Infinity, −0, subnormals, extremes included
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -0,
      1e308,
      -1e308,
      5e-324,
      -5e-324,
      Number.MAX_VALUE,
      0.1,
      1e-300,
    ),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const NAME_PARTS = ["a", "b", "req", "x:y", "_total", "_sum", "_count", "_bucket", "_created"];
const metricName = fc.oneof(
  {
    weight: 9,
    arbitrary: fc
      .array(fc.constantFrom(...NAME_PARTS), { minLength: 1, maxLength: 3 })
      .map((parts) => parts.join("")),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("", "1a", "a b", "zähler", "a-b", "_total", "prometheus_upstash_x"),
  },
);
const labelName = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom("k", "route", "v", "a_b") },
  {
    weight: 1,
    arbitrary: fc.constantFrom("le", "quantile", "instance_id", "__x", "1a", "a.b", "", "k k"),
  },
);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });
/** Valid values 9 times in 10, invalid ones otherwise. */
const mostly = <T>(valid: T[], invalid: T[]) =>
  fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom(...valid) },
    { weight: 1, arbitrary: fc.constantFrom(...invalid) },
  );

const definition: fc.Arbitrary<Definition> = fc.record({
  type: fc.constantFrom<Type>("counter", "gauge", "histogram", "summary"),
  name: metricName,
  help: fc.oneof(
    { weight: 6, arbitrary: fc.constant("help") },
    { weight: 3, arbitrary: hostileText(8) },
    { weight: 1, arbitrary: fc.constant("") },
  ),
  labelNames: fc.oneof(
    {
      weight: 6,
      arbitrary: fc.uniqueArray(fc.constantFrom("k", "route", "v", "a_b"), { maxLength: 3 }),
    },
    { weight: 1, arbitrary: fc.array(labelName, { maxLength: 3 }) },
  ),
  buckets: maybe(
    fc.oneof(
      {
        weight: 9,
        arbitrary: fc
          .uniqueArray(fc.integer({ min: -20, max: 60 }), { minLength: 1, maxLength: 5 })
          .map((b) => b.sort((x, y) => x - y)),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom<number[][]>(
          [],
          [2, 1],
          [1, 1],
          [Number.NaN],
          [1, Number.POSITIVE_INFINITY],
          [1e-9, 0.5],
        ),
      },
    ),
  ),
  percentiles: maybe(
    fc.oneof(
      {
        weight: 9,
        arbitrary: fc.uniqueArray(fc.double({ min: 0, max: 1, noNaN: true }), {
          minLength: 1,
          maxLength: 4,
        }),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom<number[][]>([], [1.5], [-0.1], [Number.NaN], [0.5, 0.5], [0, 1]),
      },
    ),
  ),
  // Windows that outlast a run (a shorter one would forget values mid-test), and bad ones.
  maxAgeSeconds: maybe(mostly([60, 600], [0, -1, 1.5, Number.NaN])),
  ageBuckets: maybe(mostly([2, 5, 10], [0, 1.5, -1])),
  relativeAccuracy: maybe(mostly([0.01, 0.05, 0.001], [0, 1, -0.5, Number.NaN])),
  maxBuckets: maybe(mostly([2048, 4096], [0, -1, 2.5])),
  aggregate: maybe(mostly(["sum", "max", "min", "last", "perInstance"], ["avg"])),
  expire: maybe(mostly([60, 3600], [0, -5, 1.5, 1e9])),
});

const app: fc.Arbitrary<App> = fc.record({
  prefix: mostly(["", "a:b", "é\n🚀"], ["{x}"]),
  instanceIds: fc.uniqueArray(
    mostly<string | undefined>(
      [undefined, "i1", "b:X", "X", "a#b", "é🚀"],
      ["x\ud800", "", "a b", "x".repeat(300)],
    ),
    { minLength: 1, maxLength: 3 },
  ),
  definitions: fc.array(definition, { minLength: 1, maxLength: 5 }),
  defaultLabels: maybe(fc.dictionary(labelName, labelValue, { maxKeys: 2 })),
});

const call: fc.Arbitrary<Call> = fc.record({
  app: fc.nat(1),
  instance: fc.nat(2),
  metric: fc.nat(4),
  op: fc.nat(2),
  form: fc.constantFrom<Call["form"]>("object", "object", "bare", "child"),
  labels: fc.array(fc.record({ which: fc.nat(3), value: labelValue }), { maxLength: 4 }),
  value: numberValue,
  flush: fc.boolean(),
});

// ---------------------------------------------------------------------------------------------
// The model

/** What one series holds in one instance since its last flush, or in Redis (global). */
interface SeriesState {
  value: number; // counter sum, gauge value, histogram/summary sum
  counts: number[]; // histogram buckets (non-cumulative, +Inf last)
  n: number; // updates (calls)
  observations: number[]; // summary: every value the sketch holds
  at: number; // gauge: time of its last write (ms)
}

interface ModelMetric {
  def: Definition;
  /** One metric object per instance (undefined where the instance does not exist). */
  objects: (Metric | undefined)[];
  /** Per instance: series key → pending state (sums) or current value (gauges). */
  pending: Map<string, SeriesState>[];
  /** Sums: series key → stored state. Gauges: per instance, series key → written value. */
  stored: Map<string, SeriesState>;
  storedGauges: Map<string, SeriesState>[];
  /** A summary series' observations whose s-field write Redis refused (sketch kept them). */
  sketchOnly: Map<string, number[]>;
}

interface ModelApp {
  spec: App;
  registries: (Registry | undefined)[];
  metrics: ModelMetric[];
  defaultLabels: Record<string, string>;
  /** Updates Redis refused (a sum that would not be finite): counted as dropped. */
  refused: number;
}

const CLEAR_ERROR_MISTAKES =
  /undefined is not|Cannot read prop|is not a function|is not iterable|Maximum call stack|of undefined|of null/;

function expectClearError(error: unknown, context: string): void {
  expect(error, context).toBeInstanceOf(Error);
  const message = (error as Error).message;
  expect(message.length, context).toBeGreaterThan(10);
  expect(message, context).not.toMatch(CLEAR_ERROR_MISTAKES);
}

/** What a scraper sees of a label value (a lone surrogate is U+FFFD on the wire). */
function wire(v: string): string {
  return new TextDecoder().decode(new TextEncoder().encode(v));
}

function emptyState(buckets: number): SeriesState {
  return { value: 0, counts: new Array<number>(buckets).fill(0), n: 0, observations: [], at: 0 };
}

function construct(def: Definition, registry: Registry): Metric {
  const config = {
    name: def.name,
    help: def.help,
    labelNames: def.labelNames,
    registers: [registry],
  };
  const options = <K extends keyof Definition>(...keys: K[]) =>
    Object.fromEntries(keys.filter((k) => def[k] !== undefined).map((k) => [k, def[k]]));
  switch (def.type) {
    case "counter":
      return new Counter(config);
    case "gauge":
      return new Gauge({ ...config, ...options("aggregate", "expire") } as never);
    case "histogram":
      return new Histogram({ ...config, ...options("buckets") });
    case "summary":
      return new Summary({
        ...config,
        ...options("percentiles", "maxAgeSeconds", "ageBuckets", "relativeAccuracy", "maxBuckets"),
      });
  }
}

function setUp(spec: App, base: string): ModelApp | undefined {
  const registries = spec.instanceIds.map((instanceId) => {
    try {
      return new Registry({
        redis: newClient(),
        prefix: `${base}${spec.prefix}`,
        ...(instanceId === undefined ? {} : { instanceId }),
        onError: () => {},
      });
    } catch (error) {
      expectClearError(error, `Registry(${JSON.stringify([spec.prefix, instanceId])})`);
      return undefined;
    }
  });
  if (registries.every((r) => r === undefined)) return undefined;
  const model: ModelApp = { spec, registries, metrics: [], defaultLabels: {}, refused: 0 };
  for (const def of spec.definitions) {
    const outcomes = registries.map((r) => {
      if (r === undefined) return undefined;
      const before = r.getSingleMetric(def.name);
      try {
        return construct(def, r);
      } catch (error) {
        expectClearError(error, `definition ${JSON.stringify(def)}`);
        // A constructor that throws has changed nothing: its metric is not left registered.
        expect(r.getSingleMetric(def.name)).toBe(before);
        return null;
      }
    });
    const made = outcomes.filter((o) => o !== undefined);
    tally.definitions++;
    // Every instance decides alike: a definition is accepted everywhere or nowhere.
    expect(new Set(made.map((o) => o === null)).size).toBe(1);
    if (made[0] === null) continue;
    tally.accepted++;
    model.metrics.push({
      def,
      objects: outcomes.map((o) => o ?? undefined),
      pending: registries.map(() => new Map()),
      stored: new Map(),
      storedGauges: registries.map(() => new Map()),
      sketchOnly: new Map(),
    });
  }
  if (spec.defaultLabels !== undefined) {
    let accepted = true;
    for (const r of registries) {
      try {
        r?.setDefaultLabels(spec.defaultLabels);
      } catch (error) {
        expectClearError(error, `setDefaultLabels(${JSON.stringify(spec.defaultLabels)})`);
        accepted = false;
      }
    }
    if (accepted) {
      model.defaultLabels = Object.fromEntries(
        Object.entries(spec.defaultLabels).map(([k, v]) => [k, String(v)]),
      );
    }
  }
  return model;
}

const OPS: Record<Type, readonly string[]> = {
  counter: ["inc"],
  gauge: ["set", "inc", "dec"],
  histogram: ["observe"],
  summary: ["observe"],
};

/** Runs one call on the real metric; true when it was accepted (did not throw). */
function perform(m: ModelMetric, instance: number, c: Call): boolean {
  const metric = m.objects[instance] as unknown as Record<string, (...a: unknown[]) => unknown>;
  const op = OPS[m.def.type][c.op % OPS[m.def.type].length]!;
  const labels: Record<string, string | number> = {};
  for (const { which, value } of c.labels) {
    labels[which < m.def.labelNames.length ? m.def.labelNames[which]! : "zz_unknown"] = value;
  }
  try {
    if (c.form === "bare") metric[op]!(c.value);
    else if (c.form === "object") metric[op]!(labels, c.value);
    else {
      const child = (metric.labels as (l: unknown) => Record<string, (v: unknown) => void>)(labels);
      child[op]!(c.value);
    }
  } catch (error) {
    expectClearError(
      error,
      `${m.def.type} ${m.def.name}.${op}(${JSON.stringify(labels)}, ${c.value})`,
    );
    return false;
  }
  record(m, instance, op, c.form === "bare" ? {} : labels, c.value);
  tally.recorded++;
  return true;
}

/** The model of an accepted call. */
function record(
  m: ModelMetric,
  instance: number,
  op: string,
  labels: Record<string, string | number>,
  given: number | undefined,
): void {
  const values = m.def.labelNames.map((n) =>
    labels[n] === undefined ? "" : wire(String(labels[n])),
  );
  const key = JSON.stringify(values);
  const bounds = (m.objects.find((o) => o) as Histogram | undefined)?.upperBounds ?? [];
  const pending = m.pending[instance]!;
  let s = pending.get(key);
  if (s === undefined) {
    s = emptyState(bounds.length + 1);
    if (m.def.type === "gauge") s = { ...(m.storedGauges[instance]!.get(key) ?? s) };
    pending.set(key, s);
  }
  s.n++;
  switch (m.def.type) {
    case "counter":
      s.value += given ?? 1;
      break;
    case "gauge":
      if (op === "set") s.value = given!;
      else s.value += op === "dec" ? -(given ?? 1) : (given ?? 1);
      s.at = Date.now();
      break;
    case "histogram": {
      const v = given!;
      let i = 0;
      while (i < bounds.length && v > bounds[i]!) i++;
      s.counts[i]!++;
      s.value += v;
      break;
    }
    case "summary":
      s.value += given!;
      s.observations.push(given!);
      break;
  }
}

/** The model of a flush of one instance: its pending deltas land in Redis, or are refused. */
function flushModel(app: ModelApp, instance: number): void {
  for (const m of app.metrics) {
    const pending = m.pending[instance]!;
    if (m.def.type === "gauge") {
      for (const [key, s] of pending) m.storedGauges[instance]!.set(key, s);
      m.pending[instance] = new Map();
      continue;
    }
    for (const [key, delta] of pending) {
      const old = m.stored.get(key);
      const sum = old === undefined ? delta.value : delta.value + old.value;
      if (!Number.isFinite(sum)) {
        app.refused += delta.n;
        if (m.def.type === "summary") {
          m.sketchOnly.set(key, [...(m.sketchOnly.get(key) ?? []), ...delta.observations]);
        }
        continue;
      }
      const next = old ?? emptyState(delta.counts.length);
      next.value = sum;
      next.n += delta.n;
      delta.counts.forEach((c, i) => {
        next.counts[i]! += c;
      });
      next.observations.push(...delta.observations);
      m.stored.set(key, next);
    }
    m.pending[instance] = new Map();
  }
}

// ---------------------------------------------------------------------------------------------
// What a scrape must show

interface Expected {
  /** Sample name in the text format, and in OpenMetrics (counters: family + _total). */
  name: string;
  omName: string;
  labels: Record<string, string>;
  /** Checks a value read back. */
  matches: (v: number) => boolean;
  describe: string;
  /** Left out of OpenMetrics (negative sums and quantiles). */
  omOmitted: boolean;
  /** A summary's quantile sample. */
  quantile?: boolean;
}

const same = (want: number) => (v: number) => (Number.isNaN(want) ? Number.isNaN(v) : v === want);

function labelsOf(m: ModelMetric, values: readonly string[], defaults: Record<string, string>) {
  const labels: Record<string, string> = {};
  m.def.labelNames.forEach((n, i) => {
    if (values[i]) labels[n] = values[i]!;
  });
  // A default label shows where the series has no label of that name, or leaves it empty
  // (prom-client's rule).
  for (const [n, v] of Object.entries(defaults)) {
    const i = m.def.labelNames.indexOf(n);
    if (v && (i < 0 || !values[i])) labels[n] = wire(v);
  }
  return labels;
}

function expectedSamples(app: ModelApp, m: ModelMetric): Expected[] {
  const out: Expected[] = [];
  const d = m.def;
  const family = d.type === "counter" ? d.name.replace(/_total$/, "") : d.name;
  const add = (
    suffix: string,
    labels: Record<string, string>,
    matches: (v: number) => boolean,
    describe: string,
    omOmitted = false,
  ) =>
    out.push({
      name: d.name + suffix,
      omName: d.type === "counter" ? `${family}_total` : d.name + suffix,
      labels,
      matches,
      describe,
      omOmitted,
    });
  const unlabelled = d.labelNames.length === 0;
  if (d.type === "counter") {
    for (const [key, s] of m.stored) {
      add("", labelsOf(m, JSON.parse(key), app.defaultLabels), same(s.value), String(s.value));
    }
    if (m.stored.size === 0 && unlabelled)
      add("", labelsOf(m, [], app.defaultLabels), same(0), "0");
  } else if (d.type === "histogram") {
    const bounds = (m.objects.find((o) => o) as Histogram).upperBounds;
    const series = new Map(m.stored);
    if (series.size === 0 && unlabelled) series.set("[]", emptyState(bounds.length + 1));
    for (const [key, s] of series) {
      const labels = labelsOf(m, JSON.parse(key), app.defaultLabels);
      let cumulative = 0;
      s.counts.forEach((c, i) => {
        cumulative += c;
        const le = i < bounds.length ? String(bounds[i]) : "+Inf";
        add("_bucket", { ...labels, le }, same(cumulative), String(cumulative));
      });
      const noSum = (bounds[0] ?? 0) < 0 || s.value < 0;
      add("_sum", labels, same(s.value), String(s.value), noSum);
      add("_count", labels, same(cumulative), String(cumulative), noSum);
    }
  } else if (d.type === "summary") {
    const summary = m.objects.find((o) => o) as Summary;
    const mapping = new LogMapping(summary.relativeAccuracy);
    const series = new Map(m.stored);
    if (series.size === 0 && unlabelled) series.set("[]", emptyState(0));
    for (const [key, s] of series) {
      const labels = labelsOf(m, JSON.parse(key), app.defaultLabels);
      const sketch = [...s.observations, ...(m.sketchOnly.get(key) ?? [])].sort((a, b) => a - b);
      const exact = collapsedBeyondCap(sketch, mapping, summary.maxBuckets) ? undefined : sketch;
      for (const p of summary.percentiles) {
        // Nothing in the window reads 0, as prom-client's empty summary does.
        const want = sketch.length === 0 ? 0 : sketch[Math.floor(p * (sketch.length - 1))]!;
        const matches = (v: number) =>
          sketch.length === 0
            ? v === 0
            : exact === undefined ||
              (want === 0
                ? v === 0
                : Math.abs(v - want) <= summary.relativeAccuracy * Math.abs(want) * (1 + 1e-9));
        out.push({
          name: d.name,
          omName: d.name,
          labels: { ...labels, quantile: String(p) },
          matches,
          describe: `≈${want} (α ${summary.relativeAccuracy})`,
          omOmitted: false, // negative quantiles: decided from the text read (scrapeAndCheck)
          quantile: true,
        });
      }
      add("_sum", labels, same(s.value), String(s.value), s.value < 0);
      add("_count", labels, same(s.n), String(s.n));
    }
  } else {
    const gauge = m.objects.find((o) => o) as Gauge;
    const instances = app.registries.flatMap((r, i) =>
      r === undefined ? [] : [{ id: r.instanceId, values: m.storedGauges[i]! }],
    );
    if (gauge.aggregate === "perInstance") {
      for (const { id, values } of instances) {
        for (const [key, s] of values) {
          const labels = labelsOf(m, JSON.parse(key), app.defaultLabels);
          add("", { ...labels, instance_id: wire(id) }, same(s.value), String(s.value));
        }
      }
      return out;
    }
    const keys = new Set(instances.flatMap(({ values }) => [...values.keys()]));
    for (const key of keys) {
      const states = instances.flatMap(({ values }) => (values.has(key) ? [values.get(key)!] : []));
      const vals = states.map((s) => s.value);
      let matches: (v: number) => boolean;
      let describe: string;
      if (gauge.aggregate === "sum") {
        const want = vals.reduce((a, b) => a + b, 0);
        // Instances are summed in Redis's hash order: equal up to rounding.
        matches = (v) =>
          Number.isFinite(want)
            ? Math.abs(v - want) <= 1e-9 * Math.max(1, ...vals.map(Math.abs))
            : same(want)(v);
        describe = `Σ ${vals.join(" + ")}`;
      } else if (vals.some(Number.isNaN)) {
        matches = () => true; // max/min/last over a NaN depend on hash order
        describe = "any (NaN involved)";
      } else if (gauge.aggregate === "last") {
        const latest = Math.max(...states.map((s) => s.at));
        const candidates = states.filter((s) => s.at >= latest - 2).map((s) => s.value);
        matches = (v) => candidates.includes(v);
        describe = `one of ${candidates.join(", ")}`;
      } else {
        const want = gauge.aggregate === "max" ? Math.max(...vals) : Math.min(...vals);
        matches = same(want);
        describe = String(want);
      }
      add("", labelsOf(m, JSON.parse(key), app.defaultLabels), matches, describe);
    }
    if (keys.size === 0 && unlabelled && gauge.aggregate === "sum") {
      add("", labelsOf(m, [], app.defaultLabels), same(0), "0");
    }
  }
  return out;
}

/** True when a side of the sketch spans more buckets than the cap: its low quantiles fold. */
function collapsedBeyondCap(sorted: number[], mapping: LogMapping, cap: number): boolean {
  for (const side of [sorted.filter((v) => v > 0), sorted.filter((v) => v < 0).map((v) => -v)]) {
    if (side.length === 0) continue;
    const lo = mapping.index(Math.min(...side));
    const hi = mapping.index(Math.max(...side));
    if (hi - lo + 1 > cap) return true;
  }
  return false;
}

/** Failure messages stay readable whatever the label values (100 kB ones included). */
const short = (text: string) =>
  text.length > 300 ? `${text.slice(0, 300)}… (${text.length} chars)` : text;

const sampleId = (name: string, labels: Record<string, string>) =>
  `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)))}`;

/** The families' samples must be exactly the expected ones (self-metrics aside). */
function compare(families: ParsedFamily[], expected: Expected[], om: boolean, context: string) {
  const seen = new Map<string, number>();
  for (const f of families) {
    if (f.name.startsWith("prometheus_upstash_")) continue;
    for (const s of f.samples) seen.set(sampleId(s.name, s.labels), s.value);
  }
  const wanted = expected.filter((e) => !(om && e.omOmitted));
  tally.samples += wanted.length;
  for (const e of wanted) {
    const id = sampleId(om ? e.omName : e.name, e.labels);
    const value = seen.get(id);
    expect(value, `${context}: missing ${short(id)} (${e.describe})`).toBeDefined();
    expect(e.matches(value!), `${context}: ${short(id)} = ${value}, want ${e.describe}`).toBe(true);
    seen.delete(id);
  }
  expect([...seen.keys()].map(short), `${context}: series no call made`).toEqual([]);
}

async function scrapeAndCheck(app: ModelApp, context: string): Promise<void> {
  const registry = app.registries.find((r) => r !== undefined)!;
  if (registry.getMetricsAsArray().length === 0) return;
  const text = await registry.metrics();
  const om = await registry.metrics(Registry.OPENMETRICS_CONTENT_TYPE);
  await Promise.all([checkers.promtool(text), checkers.openMetrics(om)]);
  tally.scrapes++;
  // Read what a scraper reads: the UTF-8 of the text.
  const textFamilies = parseExposition(wire(text));
  const omFamilies = parseExposition(wire(om));
  checkSeries(textFamilies);
  checkSeries(omFamilies, true);
  const expected = app.metrics.flatMap((m) => expectedSamples(app, m));
  // A negative quantile is left out of OpenMetrics: which ones are negative, the text says.
  const textValues = new Map(
    textFamilies.flatMap((f) => f.samples.map((s) => [sampleId(s.name, s.labels), s.value])),
  );
  for (const e of expected) {
    if (e.quantile) e.omOmitted = (textValues.get(sampleId(e.name, e.labels)) ?? 0) < 0;
  }
  compare(textFamilies, expected, false, `${context} (text)`);
  compare(omFamilies, expected, true, `${context} (OpenMetrics)`);
  // Every accepted metric has its family, with its help; and what Redis refused is counted.
  for (const m of app.metrics) {
    const f = textFamilies.find((x) => x.name === m.def.name);
    expect(f?.type, `${context}: family ${m.def.name}`).toBe(m.def.type);
    expect(f?.help).toBe(wire(m.def.help));
  }
  const dropped = app.registries.reduce((n, r) => n + (r?.stats.droppedUpdates ?? 0), 0);
  expect(dropped, `${context}: updates counted as dropped`).toBe(app.refused);
  expect(app.registries.every((r) => (r?.stats.failedFlushes ?? 0) === 0)).toBe(true);
}

it(`${RUNS} random apps: every call is refused clearly or recorded, every scrape parses and matches the model`, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(app, { minLength: 2, maxLength: 2 }),
      fc.array(call, { minLength: 15, maxLength: 60 }),
      async (specs, calls) => {
        const base = uniquePrefix("property");
        const apps = specs.map((spec, i) => setUp(spec, `${base}${i}:`));
        for (const c of calls) {
          const a = apps[c.app];
          if (a === undefined || a.metrics.length === 0) continue;
          const instance = c.instance % a.registries.length;
          if (a.registries[instance] === undefined) continue;
          tally.calls++;
          perform(a.metrics[c.metric % a.metrics.length]!, instance, c);
          if (c.flush) {
            await a.registries[instance]!.flush();
            flushModel(a, instance);
          }
        }
        for (const a of apps) {
          if (a === undefined) continue;
          // Twice: the second flush writes the self-metrics the first one counted.
          for (let round = 0; round < 2; round++) {
            for (const [i, r] of a.registries.entries()) {
              if (r === undefined) continue;
              await r.flush();
              flushModel(a, i);
            }
          }
        }
        for (const [i, a] of apps.entries()) {
          if (a !== undefined) await scrapeAndCheck(a, `app ${i}`);
        }
      },
    ),
    {
      seed: SEED,
      numRuns: RUNS,
      endOnFailure: process.env.HOSTILE_NO_SHRINK === "1",
      // Shrinking a failure against Redis is slow: report the smallest case found by then.
      interruptAfterTimeLimit: 100_000,
      markInterruptAsFailure: true,
    },
  );
}, 120_000);
