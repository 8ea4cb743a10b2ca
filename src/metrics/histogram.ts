import { num } from "../batch.ts";
import { DEFAULT_BUCKETS } from "../buckets.ts";
import { valuesOfKey } from "../labels.ts";
import type { LabelValues, Sample } from "../types.ts";
import { validateBuckets, validateFinite } from "../validation.ts";
import { childTimer, type MetricConfiguration, pairs } from "./metric.ts";
import { SumsMetric } from "./sums.ts";

export interface HistogramConfiguration<T extends string> extends MetricConfiguration<T> {
  buckets?: readonly number[];
}

export interface HistogramChild {
  observe(value: number): void;
  startTimer(): () => number;
}

/** Per-series deltas: counts[i] for bucket i (non-cumulative; the last one is +Inf), and the sum. */
interface Pending {
  counts: number[];
  sum: number;
}

// Redis fields of a histogram series (in the metric's sums hash): "le:<bound>" + key holds the
// observations that fell in that bucket alone, "sum" + key the sum. _count is their total, so
// it can never disagree with the +Inf bucket.
const SUM = "sum";
const LE = "le:";
const INF = "+Inf";

export class Histogram<T extends string = string> extends SumsMetric<T, Pending> {
  readonly type = "histogram" as const;
  readonly upperBounds: readonly number[];
  private readonly bucketTags: readonly string[];
  private readonly bucketIndex: ReadonlyMap<string, number>;

  constructor(config: HistogramConfiguration<T>) {
    super(config, ["le"]);
    this.upperBounds = Object.freeze(validateBuckets(this.name, config.buckets ?? DEFAULT_BUCKETS));
    this.bucketTags = [...this.upperBounds.map((b) => LE + String(b)), LE + INF];
    this.bucketIndex = new Map(this.bucketTags.map((tag, i) => [tag, i]));
  }

  observe(labels: LabelValues<T> | number, value?: number): void {
    this.record(this.keyOfCall(labels), this.valueOfCall(labels, value, Number.NaN));
  }

  labels(...args: (string | number)[] | [LabelValues<T>]): HistogramChild {
    const key = this.labelSet.keyOfArgs(args);
    return {
      observe: (v: number) => this.record(key, v),
      startTimer: () => childTimer((seconds) => this.record(key, seconds)),
    };
  }

  /** Returns a function that observes the seconds elapsed (labels may be added at the end). */
  startTimer(labels?: LabelValues<T>): (endLabels?: LabelValues<T>) => number {
    return this.timer(labels, (key, seconds) => this.record(key, seconds));
  }

  /** Makes the series appear with zero counts (prom-client's `zero`). */
  zero(labels: LabelValues<T>): void {
    this.entry(this.labelSet.keyOf(labels));
  }

  remove(...args: (string | number)[] | [LabelValues<T>]): void {
    const key = this.labelSet.keyOfArgs(args);
    this.removeSeries(key, [...this.bucketTags.map((tag) => tag + key), SUM + key]);
  }

  /** The pending entry of a series; undefined when a new series is over the bounds. */
  private entry(key: string): Pending | undefined {
    let e = this.pending.get(key);
    if (e === undefined) {
      if (!this.admit(key)) return undefined;
      e = { counts: new Array<number>(this.upperBounds.length + 1).fill(0), sum: 0 };
      this.pending.set(key, e);
    }
    return e;
  }

  private record(key: string, v: number): void {
    validateFinite(this.name, v);
    const bounds = this.upperBounds;
    let i = 0;
    while (i < bounds.length && v > bounds[i]!) i++;
    const e = this.entry(key);
    if (e === undefined) return;
    e.counts[i]!++;
    e.sum += v;
    this.updates++;
  }

  protected increments(key: string, e: Pending, out: string[]): void {
    out.push(SUM + key, num(e.sum));
    for (let i = 0; i < e.counts.length; i++) {
      if (e.counts[i] !== 0) out.push(this.bucketTags[i] + key, num(e.counts[i]!));
    }
  }

  collect(raw: unknown): Sample[] {
    const fields = pairs(raw);
    const series = new Map<string, Pending>();
    const slot = (key: string): Pending => {
      let s = series.get(key);
      if (!s) {
        s = { counts: new Array<number>(this.upperBounds.length + 1).fill(0), sum: 0 };
        series.set(key, s);
      }
      return s;
    };
    for (let i = 0; i < fields.length; i += 2) {
      const field = fields[i]!;
      const cut = field.indexOf("[");
      if (cut < 0) continue;
      const tag = field.slice(0, cut);
      const value = Number(fields[i + 1]);
      if (tag === SUM) slot(field.slice(cut)).sum += value;
      else if (tag.startsWith(LE)) slot(field.slice(cut)).counts[this.bucketOf(tag)]! += value;
    }
    if (series.size === 0 && this.labelNames.length === 0) slot("[]");
    const samples: Sample[] = [];
    for (const [key, s] of series) {
      const values = valuesOfKey(key, this.labelNames.length);
      if (!values) continue;
      let cumulative = 0;
      for (let i = 0; i < s.counts.length; i++) {
        cumulative += s.counts[i]!;
        const le = i < this.upperBounds.length ? String(this.upperBounds[i]) : INF;
        samples.push({ suffix: "_bucket", values, extra: ["le", le], value: cumulative });
      }
      samples.push({ suffix: "_sum", values, value: s.sum });
      samples.push({ suffix: "_count", values, value: cumulative });
    }
    return samples;
  }

  /**
   * Index of the bucket a stored "le:<bound>" field belongs to. Normally an exact match; a bound
   * from an older bucket layout goes to the smallest current bucket that still contains it, so
   * buckets stay cumulative and _count stays right after a bucket change.
   */
  private bucketOf(tag: string): number {
    const exact = this.bucketIndex.get(tag);
    if (exact !== undefined) return exact;
    const bound = Number(tag.slice(LE.length));
    const i = this.upperBounds.findIndex((b) => bound <= b);
    return i < 0 ? this.upperBounds.length : i;
  }
}
