import type { BatchWriter } from "../batch.ts";
import { DEFAULT_BUCKETS } from "../buckets.ts";
import { NO_LABELS_KEY, valuesOfKey } from "../labels.ts";
import { NativeAccumulator } from "../native/accumulator.ts";
import {
  type NativeConfig,
  type NativeHistogramOptions,
  resolveNativeOptions,
} from "../native/options.ts";
import { decodePacked } from "../native/packed.ts";
import type { Series } from "../series.ts";
import type { Snapshot } from "../snapshot.ts";
import type { LabelValues, Sample } from "../types.ts";
import { invalidValue, validateBuckets } from "../validation.ts";
import { overflow } from "./counter.ts";
import { type CollectFunction, childTimer, type MetricConfiguration } from "./metric.ts";
import { SumsMetric } from "./sums.ts";

export interface HistogramConfiguration<T extends string> extends MetricConfiguration<T> {
  buckets?: readonly number[];
  /**
   * Also keep Prometheus native (exponential) buckets, merged across every instance in Redis
   * and exposed in the protobuf format a Prometheus with native histograms asks for; the
   * classic buckets stay beside them for text scrapes. `true` or options (schema,
   * bucketFactor, zeroThreshold, maxBuckets): see docs/native-histograms.md. Default off.
   */
  native?: boolean | NativeHistogramOptions;
  collect?: CollectFunction<Histogram<T>>;
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
  /** Native buckets of this flush's observations (native histograms only). */
  native?: NativeAccumulator;
}

const INF = "+Inf";

export class Histogram<T extends string = string> extends SumsMetric<T, Pending> {
  readonly type = "histogram" as const;
  readonly upperBounds: readonly number[];
  /** The native buckets' configuration; undefined when they are off. */
  readonly #nativeConfig: NativeConfig | undefined;
  /**
   * reset() on this instance, and nothing recorded here since: a label-less histogram then
   * shows no series until one is observed, as prom-client's (which drops its zero series).
   */
  #cleared = false;

  constructor(config: HistogramConfiguration<T>) {
    super(config, ["le"]);
    this.upperBounds = Object.freeze(validateBuckets(this.name, config.buckets ?? DEFAULT_BUCKETS));
    this.#nativeConfig = resolveNativeOptions(this.name, config.native);
    this.register(config.registers);
  }

  protected override get bounds(): readonly number[] {
    return this.upperBounds;
  }

  observe(labels: LabelValues<T> | number, value?: number): void {
    this.#record(this.seriesOfCall(labels), this.valueOfCall(labels, value));
  }

  labels(...args: (string | number)[] | [LabelValues<T>]): HistogramChild {
    return this.childOf(args) as HistogramChild;
  }

  /** Returns a function that observes the seconds elapsed (labels may be added at the end). */
  startTimer(labels?: LabelValues<T>): (endLabels?: LabelValues<T>) => number {
    return this.timer(labels, (s, seconds) => this.#record(s, seconds));
  }

  /** Makes the series appear with zero counts (prom-client's `zero`). */
  zero(labels: LabelValues<T>): void {
    const s = this.index.find(labels);
    this.#cleared = false;
    if (s !== undefined) this.entryOf(s, () => this.#emptyEntry());
  }

  remove(...args: (string | number)[] | [LabelValues<T>]): void {
    this.removeSeries(this.keyOfArgs(args));
  }

  override reset(): void {
    super.reset();
    this.#cleared = true;
  }

  protected child(series: Series<Pending>): HistogramChild {
    const live = this.liveSeries(series);
    const observe = (v: number) => this.#record(live(), v);
    return { observe, startTimer: () => childTimer(observe) };
  }

  #emptyEntry(): Pending {
    const c = this.#nativeConfig;
    return {
      counts: new Array<number>(this.upperBounds.length + 1).fill(0),
      sum: 0,
      n: 0,
      native: c && new NativeAccumulator(c.schema, c.zeroThreshold, c.maxBuckets),
    };
  }

  #record(s: Series<Pending> | undefined, value: unknown): void {
    if (typeof value !== "number" || !Number.isFinite(value)) throw invalidValue(value);
    if (s === undefined) return;
    const bounds = this.upperBounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    let e = s.entry;
    if (e === undefined) {
      e = this.#emptyEntry();
      s.entry = e;
      this.dirty.push(s);
      this.#cleared = false;
    }
    const sum = e.sum + value;
    if (!Number.isFinite(sum)) throw overflow(this.name, value);
    e.counts[i]!++;
    e.sum = sum;
    e.n++;
    e.native?.observe(value);
  }

  protected write(batch: BatchWriter, key: string, e: Pending): void {
    batch.histogram(this.name, this.upperBounds, key, e.sum, e.counts, e.n);
    const max = this.#nativeConfig?.maxBuckets ?? 0;
    if (e.native !== undefined && !e.native.isEmpty) {
      batch.native(this.name, key, max, e.native.encode(e.sum), 0);
    }
  }

  samples(snapshot: Snapshot): Sample[] {
    const bounds = this.upperBounds;
    const natives = snapshot.native(this.name);
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
    if (series.size === 0 && this.labelNames.length === 0 && !this.#cleared) {
      series.set(NO_LABELS_KEY, { counts: new Array<number>(bounds.length + 1).fill(0), sum: 0 });
    }
    const samples: Sample[] = [];
    // One ["le", bound] pair per bucket, shared by every series (render caches by identity).
    const les = [...bounds.map(String), INF].map((le): [string, string] => ["le", le]);
    for (const [key, s] of this.inDisplayOrder(series)) {
      const values = valuesOfKey(key, this.labelNames.length);
      if (!values) continue;
      let cumulative = 0;
      for (let i = 0; i < s.counts.length; i++) {
        cumulative += s.counts[i]!;
        samples.push({ suffix: "_bucket", values, extra: les[i]!, value: cumulative });
      }
      samples.push({ suffix: "_sum", values, value: s.sum });
      const packed = natives.get(key);
      const native = packed === undefined ? undefined : nativeBuckets(packed);
      samples.push({ suffix: "_count", values, value: cumulative, ...(native && { native }) });
    }
    return samples;
  }
}

/** The native buckets of a stored series; undefined when the stored value is unreadable. */
function nativeBuckets(packed: string) {
  try {
    const { schema, zeroThreshold, zeroCount, positive, negative } = decodePacked(packed);
    return { schema, zeroThreshold, zeroCount, positive, negative };
  } catch {
    return undefined;
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
