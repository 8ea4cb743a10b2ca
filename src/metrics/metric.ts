import type { BatchWriter } from "../batch.ts";
import { defaultRegistry, type Registrar } from "../default-registry.ts";
import { LabelSet } from "../labels.ts";
import { type SeriesLimits, UNREGISTERED_LIMITS } from "../limits.ts";
import type { Snapshot } from "../snapshot.ts";
import type { LabelValues, MetricType, Sample } from "../types.ts";
import { validateHelp, validateLabelNames, validateMetricName } from "../validation.ts";

export interface MetricConfiguration<T extends string> {
  name: string;
  help: string;
  labelNames?: readonly T[];
  /** Registries to register with; defaults to the global `register`. `[]` registers nowhere. */
  registers?: Registrar[];
}

/**
 * Name, help and label handling shared by all metric types. A metric keeps only the deltas
 * recorded since the last flush (gauges: this instance's current values); `drain` hands them to
 * the flush batch and `collect` turns what a scrape read from Redis into samples.
 */
export abstract class Metric<T extends string = string> {
  abstract readonly type: MetricType;
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  protected readonly labelSet: LabelSet<T>;
  /** Key of the series with no label values given. */
  private readonly emptyKey: string;
  /** Series this metric has recorded in this isolate (bounded by its registry's limits). */
  private readonly knownSeries = new Set<string>();
  private limits: SeriesLimits = UNREGISTERED_LIMITS;

  constructor(config: MetricConfiguration<T>, reservedLabels: readonly string[] = []) {
    if (typeof config !== "object" || config === null) {
      throw new TypeError("Metric configuration must be an object");
    }
    validateMetricName(config.name);
    validateHelp(config.name, config.help);
    this.name = config.name;
    this.help = config.help;
    this.labelNames = validateLabelNames(config.name, config.labelNames, reservedLabels) as T[];
    this.labelSet = new LabelSet(this.name, this.labelNames);
    this.emptyKey = this.labelSet.keyOf({});
    for (const registry of config.registers ?? [defaultRegistry()]) registry.registerMetric(this);
  }

  /**
   * Series key for prom-client's overloads inc(labels, v) / inc(v) / inc(). Key and value are
   * two calls, not one returning a pair: this is the hot path and a tuple is an allocation.
   */
  protected keyOfCall(a: LabelValues<T> | number | undefined): string {
    return typeof a === "object" && a !== null ? this.labelSet.keyOf(a) : this.emptyKey;
  }

  /** The value of the same overloads: the second argument after labels, else the first. */
  protected valueOfCall(
    a: LabelValues<T> | number | undefined,
    b: number | undefined,
    fallback: number,
  ): number {
    return typeof a === "object" && a !== null ? (b ?? fallback) : (a ?? fallback);
  }

  /**
   * startTimer(labels) for every type: the returned function hands the seconds elapsed (and
   * the series named by the start and end labels together) to `done`, and returns them.
   */
  protected timer(
    labels: LabelValues<T> | undefined,
    done: (key: string, seconds: number) => void,
  ): (endLabels?: LabelValues<T>) => number {
    const start = performance.now();
    return (endLabels) => {
      const seconds = (performance.now() - start) / 1000;
      done(this.labelSet.keyOf({ ...labels, ...endLabels } as LabelValues<T>), seconds);
      return seconds;
    };
  }

  /** Called by the first registry that takes this metric: its bounds apply from now on. */
  useLimits(limits: SeriesLimits): void {
    if (this.limits === UNREGISTERED_LIMITS) this.limits = limits;
  }

  /**
   * True when an update of series `key` may be recorded: a series seen before, or a new one
   * within the bounds. Otherwise the update is counted as dropped (never thrown): a flood of
   * label values must not break the handler. Call it only when the key is not pending already.
   */
  protected admit(key: string): boolean {
    if (this.knownSeries.has(key)) return true;
    if (this.knownSeries.size < this.limits.maxSeriesPerMetric && this.limits.take(key)) {
      this.knownSeries.add(key);
      return true;
    }
    this.limits.refused(1);
    return false;
  }

  /** The bounds this metric records within (its first registry's). */
  protected get seriesLimits(): SeriesLimits {
    return this.limits;
  }

  /** The series was removed: it no longer counts against the bounds. */
  protected forgetSeries(key: string): void {
    if (this.knownSeries.delete(key)) this.limits.give(key);
  }

  /** Every series was removed (reset). */
  protected forgetAllSeries(): void {
    for (const key of this.knownSeries) this.limits.give(key);
    this.knownSeries.clear();
  }

  /** Number of distinct series with pending data (for bounds and accounting). */
  abstract pendingSeries(): number;
  /** Hands pending data to the batch and forgets it. */
  abstract drain(batch: BatchWriter, nowMs: number): void;
  /** This metric's samples in what a scrape read. */
  abstract collect(snapshot: Snapshot): Sample[];
  /** Deletes its series: for every instance (sums), or this instance's values (gauges). */
  abstract reset(): void;
  /** Some of its data was given up unwritten: write all this instance holds again next time. */
  unwritten(): void {}
}

/** A child's startTimer(): the seconds elapsed go to `done` for an already-known series. */
export function childTimer(done: (seconds: number) => void): () => number {
  const start = performance.now();
  return () => {
    const seconds = (performance.now() - start) / 1000;
    done(seconds);
    return seconds;
  };
}
