import type { BatchWriter } from "../batch.ts";
import { DEFAULT_BUCKETS } from "../buckets.ts";
import { valuesOfKey } from "../labels.ts";
import type { Snapshot } from "../snapshot.ts";
import type { LabelValues, Sample } from "../types.ts";
import { validateBuckets, validateFinite } from "../validation.ts";
import { overflow } from "./counter.ts";
import { childTimer, type MetricConfiguration } from "./metric.ts";
import { SumsMetric } from "./sums.ts";

export interface HistogramConfiguration<T extends string> extends MetricConfiguration<T> {
  buckets?: readonly number[];
}

export interface HistogramChild {
  observe(value: number): void;
  startTimer(): () => number;
}

/**
 * Per-series deltas: counts[i] for bucket i (non-cumulative; the last one is +Inf), the sum,
 * and the observations they stand for. _count is the total of the counts, so it can never
 * disagree with the +Inf bucket.
 */
interface Pending {
  counts: number[];
  sum: number;
  n: number;
}

const INF = "+Inf";

export class Histogram<T extends string = string> extends SumsMetric<T, Pending> {
  // A getter, not a field: the registry reads it while the base constructor registers.
  get type(): "histogram" {
    return "histogram";
  }
  readonly upperBounds: readonly number[];

  constructor(config: HistogramConfiguration<T>) {
    super(config, ["le"]);
    this.upperBounds = Object.freeze(validateBuckets(this.name, config.buckets ?? DEFAULT_BUCKETS));
  }

  protected override get bounds(): readonly number[] {
    return this.upperBounds;
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
    this.removeSeries(this.labelSet.keyOfArgs(args));
  }

  /** The pending entry of a series; undefined when a new series is over the bounds. */
  private entry(key: string): Pending | undefined {
    let e = this.pending.get(key);
    if (e === undefined) {
      if (!this.admit(key)) return undefined;
      e = { counts: new Array<number>(this.upperBounds.length + 1).fill(0), sum: 0, n: 0 };
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
    const sum = e.sum + v;
    if (!Number.isFinite(sum)) throw overflow(this.name, v);
    e.counts[i]!++;
    e.sum = sum;
    e.n++;
  }

  protected write(batch: BatchWriter, key: string, e: Pending): void {
    batch.histogram(this.name, this.upperBounds, key, e.sum, e.counts, e.n);
  }

  collect(snapshot: Snapshot): Sample[] {
    const bounds = this.upperBounds;
    const series = new Map<string, { counts: number[]; sum: number }>();
    for (const stored of snapshot.histogram(this.name)) {
      let s = series.get(stored.key);
      if (!s) {
        s = { counts: new Array<number>(bounds.length + 1).fill(0), sum: 0 };
        series.set(stored.key, s);
      }
      s.sum += stored.sum;
      // Counts written under other bounds (an earlier deployment) go to the smallest current
      // bucket that still contains theirs, so buckets stay cumulative and _count stays right.
      const same = stored.bounds !== undefined && sameBounds(stored.bounds, bounds);
      stored.counts.forEach((count, i) => {
        const j = same ? i : bucketFor(stored.bounds?.[i] ?? Number.POSITIVE_INFINITY, bounds);
        s.counts[j]! += count;
      });
    }
    if (series.size === 0 && this.labelNames.length === 0) {
      series.set("[]", { counts: new Array<number>(bounds.length + 1).fill(0), sum: 0 });
    }
    const samples: Sample[] = [];
    for (const [key, s] of series) {
      const values = valuesOfKey(key, this.labelNames.length);
      if (!values) continue;
      let cumulative = 0;
      for (let i = 0; i < s.counts.length; i++) {
        cumulative += s.counts[i]!;
        const le = i < bounds.length ? String(bounds[i]) : INF;
        samples.push({ suffix: "_bucket", values, extra: ["le", le], value: cumulative });
      }
      samples.push({ suffix: "_sum", values, value: s.sum });
      samples.push({ suffix: "_count", values, value: cumulative });
    }
    return samples;
  }
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Index of the smallest bound ≥ `bound` (the +Inf bucket when there is none). */
function bucketFor(bound: number, bounds: readonly number[]): number {
  const i = bounds.findIndex((b) => bound <= b);
  return i < 0 ? bounds.length : i;
}
