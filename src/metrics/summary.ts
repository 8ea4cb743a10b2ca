import type { BatchWriter } from "../batch.ts";
import { NO_LABELS_KEY, valuesOfKey } from "../labels.ts";
import type { Series } from "../series.ts";
import { SketchAccumulator } from "../sketch/accumulator.ts";
import { DEFAULT_BUCKET_CAP } from "../sketch/collapse.ts";
import { SketchCounts } from "../sketch/counts.ts";
import { DEFAULT_RELATIVE_ACCURACY, LogMapping } from "../sketch/mapping.ts";
import type { Snapshot } from "../snapshot.ts";
import type { LabelValues, Sample } from "../types.ts";
import { invalidValue, validatePercentiles, validatePositiveInteger } from "../validation.ts";
import { overflow } from "./counter.ts";
import { type CollectFunction, childTimer, type MetricConfiguration } from "./metric.ts";
import { SumsMetric } from "./sums.ts";

export interface SummaryConfiguration<T extends string> extends MetricConfiguration<T> {
  percentiles?: readonly number[];
  /** Window of the quantiles, in seconds (default 600). */
  maxAgeSeconds?: number;
  /** Time slices the window is made of; the window slides by one slice (default 5). */
  ageBuckets?: number;
  /** Leave out series with nothing in the window (prom-client's option; default false). */
  pruneAgedBuckets?: boolean;
  /** prom-client's t-digest tuning: accepted and ignored (the sketch needs no compression). */
  compressCount?: number;
  /** Relative error α of every quantile (default 0.01: within 1% of the true value). */
  relativeAccuracy?: number;
  /**
   * Most sketch buckets kept per series and time slice (default 2048, which spans about 18
   * decades of values at α = 1%); past it the lowest buckets are merged, so low quantiles
   * lose accuracy before high ones do. Needed span: ln(max/min) / (2α) buckets.
   */
  maxBuckets?: number;
  collect?: CollectFunction<Summary<T>>;
}

export interface SummaryChild {
  observe(value: number): void;
  startTimer(): () => number;
}

/** One series' observations since the last flush. */
interface Pending {
  sum: number;
  sketch: SketchAccumulator;
  n: number;
}

/**
 * Magnitudes between 0 and the mapping's smallest bucket (subnormal doubles, below about
 * 1.1e-308) cannot be answered within α: they are refused rather than read back as 0.
 */
function tooCloseToZero(name: string, v: number, tiny: number): RangeError {
  return new RangeError(
    `prometheus-upstash: Value ${v} of ${name} is too close to 0 for a summary: its quantiles keep their relative ` +
      `accuracy for 0 and for magnitudes above ${tiny.toPrecision(4)} up to Number.MAX_VALUE`,
  );
}

/** Budget a pending series takes besides its bucket arrays (its objects and map entry). */
const PENDING_ENTRY_BYTES = 320;

/** prom-client's default percentiles. */
const DEFAULT_PERCENTILES = [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999];

/**
 * A summary whose quantiles are true global quantiles over every instance: each observation
 * goes into a relative-error sketch (src/sketch) whose buckets are plain counters in Redis, so
 * instances merge by adding, and a scrape reads one merged sketch per series over the sliding
 * window (maxAgeSeconds, ageBuckets). _sum and _count are global all-time sums.
 */
export class Summary<T extends string = string> extends SumsMetric<T, Pending> {
  readonly type = "summary" as const;
  readonly percentiles: readonly number[];
  readonly maxAgeSeconds: number;
  readonly ageBuckets: number;
  readonly pruneAgedBuckets: boolean;
  readonly relativeAccuracy: number;
  readonly maxBuckets: number;
  readonly #mapping: LogMapping;
  /** Length of one time slice of the window, in ms. */
  readonly #sliceMs: number;

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
    this.pruneAgedBuckets = config.pruneAgedBuckets === true;
    const alpha = config.relativeAccuracy ?? DEFAULT_RELATIVE_ACCURACY;
    if (typeof alpha !== "number" || !(alpha > 0 && alpha < 1)) {
      throw new Error(
        `prometheus-upstash: relativeAccuracy of ${this.name} must be in (0, 1), got ${String(alpha)}`,
      );
    }
    this.relativeAccuracy = alpha;
    this.#mapping = new LogMapping(alpha);
    this.maxBuckets = validatePositiveInteger(
      this.name,
      "maxBuckets",
      config.maxBuckets ?? DEFAULT_BUCKET_CAP,
    );
    this.#sliceMs = Math.max(1, Math.round((this.maxAgeSeconds * 1000) / this.ageBuckets));
    this.register(config.registers);
  }

  observe(labels: LabelValues<T> | number, value?: number): void {
    this.#record(this.seriesOfCall(labels), this.valueOfCall(labels, value));
  }

  labels(...args: (string | number)[] | [LabelValues<T>]): SummaryChild {
    return this.childOf(args) as SummaryChild;
  }

  startTimer(labels?: LabelValues<T>): (endLabels?: LabelValues<T>) => number {
    return this.timer(labels, (s, seconds) => this.#record(s, seconds));
  }

  remove(...args: (string | number)[] | [LabelValues<T>]): void {
    this.removeSeries(this.keyOfArgs(args));
  }

  protected child(series: Series<Pending>): SummaryChild {
    const live = this.liveSeries(series);
    const observe = (v: number) => this.#record(live(), v);
    return { observe, startTimer: () => childTimer(observe) };
  }

  #record(s: Series<Pending> | undefined, value: unknown): void {
    if (typeof value !== "number" || !Number.isFinite(value)) throw invalidValue(value);
    const tiny = this.#mapping.minIndexable;
    if (value <= tiny && value >= -tiny && value !== 0)
      throw tooCloseToZero(this.name, value, tiny);
    if (s === undefined) return;
    let e = s.entry;
    if (e === undefined) {
      // The registry's series budget pays for what this series holds until the next flush.
      const limits = this.seriesLimits;
      if (!limits.reserve(PENDING_ENTRY_BYTES)) {
        limits.refused(1);
        return;
      }
      e = { sum: 0, sketch: new SketchAccumulator(this.#mapping, this.maxBuckets, limits), n: 0 };
      s.entry = e;
      this.dirty.push(s);
    }
    const sum = e.sum + value;
    if (!Number.isFinite(sum)) throw overflow(this.name, value);
    if (!e.sketch.add(value)) {
      this.seriesLimits.refused(1); // no memory left for it: dropped and counted
      return;
    }
    e.sum = sum;
    e.n++;
  }

  protected write(batch: BatchWriter, key: string, e: Pending): void {
    batch.summary(this.name, key, e.sketch.count, e.sum, e.n);
    batch.sketch(
      this.name,
      key,
      this.#sliceMs,
      this.ageBuckets,
      this.maxBuckets,
      e.sketch.tokens(),
    );
  }

  /** Drained or dropped: the sketch's memory goes back to the series budget. */
  protected override release(e: Pending): void {
    e.sketch.release();
    this.seriesLimits.release(PENDING_ENTRY_BYTES);
  }

  samples(snapshot: Snapshot): Sample[] {
    const sums = snapshot.summary(this.name);
    const series = new Map(sums);
    if (series.size === 0 && this.labelNames.length === 0)
      series.set(NO_LABELS_KEY, { sum: 0, count: 0 });
    const slices = snapshot.sketches(this.name);
    const samples: Sample[] = [];
    for (const [key, s] of this.inDisplayOrder(series)) {
      const values = valuesOfKey(key, this.labelNames.length);
      if (!values) continue;
      const window = new SketchCounts();
      for (const tokens of slices.get(key) ?? []) window.addTokens(tokens);
      if (this.pruneAgedBuckets && window.count === 0) continue;
      // Nothing in the window reads 0, as prom-client's empty summary does.
      const quantiles = window.quantiles(this.#mapping, this.percentiles);
      this.percentiles.forEach((p, i) => {
        const q = quantiles[i]!;
        samples.push({
          suffix: "",
          values,
          extra: ["quantile", String(p)],
          value: Number.isNaN(q) ? 0 : q,
        });
      });
      samples.push({ suffix: "_sum", values, value: s.sum });
      samples.push({ suffix: "_count", values, value: s.count });
    }
    return samples;
  }
}
