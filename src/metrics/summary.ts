import { type BatchBuilder, num } from "../batch.ts";
import { valuesOfKey } from "../labels.ts";
import { SketchAccumulator } from "../sketch/accumulator.ts";
import { DEFAULT_BUCKET_CAP } from "../sketch/collapse.ts";
import { SketchCounts } from "../sketch/counts.ts";
import { DEFAULT_RELATIVE_ACCURACY, LogMapping } from "../sketch/mapping.ts";
import type { LabelValues, Sample } from "../types.ts";
import { validateFinite, validatePercentiles, validatePositiveInteger } from "../validation.ts";
import { childTimer, Metric, type MetricConfiguration, pairs, type ReadSpec } from "./metric.ts";

export interface SummaryConfiguration<T extends string> extends MetricConfiguration<T> {
  percentiles?: readonly number[];
  /** Window of the quantiles, in seconds (default 600). */
  maxAgeSeconds?: number;
  /** Time slices the window is made of; the window slides by one slice (default 5). */
  ageBuckets?: number;
  /** Relative error α of every quantile (default 0.01: within 1% of the true value). */
  relativeAccuracy?: number;
  /**
   * Most sketch buckets kept per series and time slice (default 2048, which spans about 18
   * decades of values at α = 1%); past it the lowest buckets are merged, so low quantiles
   * lose accuracy before high ones do. Needed span: ln(max/min) / (2α) buckets.
   */
  maxBuckets?: number;
}

export interface SummaryChild {
  observe(value: number): void;
  startTimer(): () => number;
}

/** One series' observations since the last flush; kept (emptied) across flushes for reuse. */
interface Pending {
  sum: number;
  sketch: SketchAccumulator;
}

/** _sum and _count of one series as read back. */
interface Totals {
  sum: number;
  count: number;
}

const SUM = "sum";
const COUNT = "count";

/** prom-client's default percentiles. */
const DEFAULT_PERCENTILES = [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999];

/**
 * A summary whose quantiles are true global quantiles over every instance: each observation
 * goes into a relative-error sketch (src/sketch) whose buckets are plain counters in Redis, so
 * instances merge by adding, and a scrape reads one merged sketch per series over the sliding
 * window (maxAgeSeconds, ageBuckets). _sum and _count are global all-time sums.
 */
export class Summary<T extends string = string> extends Metric<T> {
  readonly type = "summary" as const;
  readonly percentiles: readonly number[];
  readonly maxAgeSeconds: number;
  readonly ageBuckets: number;
  readonly relativeAccuracy: number;
  readonly maxBuckets: number;
  private readonly mapping: LogMapping;
  /** Length of one time slice of the window, in ms. */
  private readonly sliceMs: number;
  private pending = new Map<string, Pending>();
  private deletes: string[] = [];
  private deletedSeries: string[] = [];
  private resetPending = false;
  private updates = 0;

  constructor(config: SummaryConfiguration<T>) {
    super(config, ["quantile"]);
    this.percentiles = Object.freeze(
      validatePercentiles(this.name, config.percentiles ?? DEFAULT_PERCENTILES),
    );
    this.maxAgeSeconds = validatePositiveInteger(
      this.name,
      "maxAgeSeconds",
      config.maxAgeSeconds ?? 600,
    );
    this.ageBuckets = validatePositiveInteger(this.name, "ageBuckets", config.ageBuckets ?? 5);
    const alpha = config.relativeAccuracy ?? DEFAULT_RELATIVE_ACCURACY;
    if (typeof alpha !== "number" || !(alpha > 0 && alpha < 1)) {
      throw new Error(`relativeAccuracy of ${this.name} must be in (0, 1), got ${String(alpha)}`);
    }
    this.relativeAccuracy = alpha;
    this.mapping = new LogMapping(alpha);
    this.maxBuckets = validatePositiveInteger(
      this.name,
      "maxBuckets",
      config.maxBuckets ?? DEFAULT_BUCKET_CAP,
    );
    this.sliceMs = Math.max(1, Math.round((this.maxAgeSeconds * 1000) / this.ageBuckets));
  }

  observe(labels: LabelValues<T> | number, value?: number): void {
    this.record(this.keyOfCall(labels), this.valueOfCall(labels, value, Number.NaN));
  }

  labels(...args: (string | number)[] | [LabelValues<T>]): SummaryChild {
    const key = this.labelSet.keyOfArgs(args);
    return {
      observe: (v: number) => this.record(key, v),
      startTimer: () => childTimer((seconds) => this.record(key, seconds)),
    };
  }

  startTimer(labels?: LabelValues<T>): (endLabels?: LabelValues<T>) => number {
    return this.timer(labels, (key, seconds) => this.record(key, seconds));
  }

  remove(...args: (string | number)[] | [LabelValues<T>]): void {
    const key = this.labelSet.keyOfArgs(args);
    this.pending.delete(key);
    this.forgetSeries(key);
    this.deletes.push(SUM + key, COUNT + key);
    this.deletedSeries.push(key);
  }

  reset(): void {
    this.pending.clear();
    this.forgetAllSeries();
    this.deletes = [];
    this.deletedSeries = [];
    this.resetPending = true;
  }

  private record(key: string, v: number): void {
    validateFinite(this.name, v);
    let e = this.pending.get(key);
    if (e === undefined) {
      if (!this.admit(key)) return;
      e = { sum: 0, sketch: new SketchAccumulator(this.mapping, this.maxBuckets) };
      this.pending.set(key, e);
    }
    e.sum += v;
    e.sketch.add(v);
    this.updates++;
  }

  pendingSeries(): number {
    let n = 0;
    for (const e of this.pending.values()) if (!e.sketch.isEmpty) n++;
    return n;
  }

  drain(batch: BatchBuilder): void {
    if (this.updates === 0 && this.deletes.length === 0 && !this.resetPending) return;
    const increments: string[] = [];
    const sketches: (string | string[])[] = [];
    for (const [key, e] of this.pending) {
      if (e.sketch.isEmpty) continue;
      increments.push(SUM + key, num(e.sum), COUNT + key, num(e.sketch.count));
      const buckets: string[] = [];
      e.sketch.drainInto(buckets);
      sketches.push(key, buckets);
      e.sum = 0;
    }
    const reset = this.resetPending ? 1 : 0;
    batch.batch.v.push([this.name, reset, this.deletes, increments]);
    batch.batch.s.push([
      this.name,
      this.sliceMs,
      this.ageBuckets,
      this.maxBuckets,
      reset,
      this.deletedSeries,
      sketches,
    ]);
    batch.updates += this.updates;
    this.updates = 0;
    this.deletes = [];
    this.deletedSeries = [];
    this.resetPending = false;
  }

  readSpec(): ReadSpec {
    return { kind: "summary", sliceMs: this.sliceMs, slices: this.ageBuckets };
  }

  /** raw = [sums hash, [series key, merged sketch, …]] from the read script. */
  collect(raw: unknown): Sample[] {
    const [sums, sketches] = Array.isArray(raw) ? raw : [];
    const fields = pairs(sums);
    const series = new Map<string, Totals>();
    for (let i = 0; i < fields.length; i += 2) {
      const field = fields[i]!;
      const cut = field.indexOf("[");
      if (cut < 0) continue;
      const key = field.slice(cut);
      let s = series.get(key);
      if (!s) {
        s = { sum: 0, count: 0 };
        series.set(key, s);
      }
      const tag = field.slice(0, cut);
      if (tag === SUM) s.sum += Number(fields[i + 1]);
      else if (tag === COUNT) s.count += Number(fields[i + 1]);
    }
    if (series.size === 0 && this.labelNames.length === 0) series.set("[]", { sum: 0, count: 0 });
    const windows = new Map<string, SketchCounts>();
    const flatSketches = pairs(sketches) as unknown[];
    for (let i = 0; i + 1 < flatSketches.length; i += 2) {
      windows.set(
        String(flatSketches[i]),
        new SketchCounts().addFlatHash(pairs(flatSketches[i + 1])),
      );
    }
    const samples: Sample[] = [];
    for (const [key, s] of series) {
      const values = valuesOfKey(key, this.labelNames.length);
      if (!values) continue;
      // A series with nothing in the window reads NaN, as prom-client's empty summary does.
      const window = windows.get(key) ?? new SketchCounts();
      const quantiles = window.quantiles(this.mapping, this.percentiles);
      this.percentiles.forEach((p, i) => {
        samples.push({ suffix: "", values, extra: ["quantile", String(p)], value: quantiles[i]! });
      });
      samples.push({ suffix: "_sum", values, value: s.sum });
      samples.push({ suffix: "_count", values, value: s.count });
    }
    return samples;
  }
}
