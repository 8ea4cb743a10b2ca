import type { BatchWriter } from "../batch.ts";
import { defaultRegistry, type Registrar } from "../default-registry.ts";
import { type MetricObjectWithValues, metricObject } from "../exposition/json.ts";
import { LabelSet } from "../labels.ts";
import { type SeriesLimits, UNREGISTERED_LIMITS } from "../limits.ts";
import { type Series, SeriesIndex } from "../series.ts";
import type { Snapshot } from "../snapshot.ts";
import type { LabelValues, MetricFamily, MetricType, Sample } from "../types.ts";
import { validateLabelNames, validateMetricConfig } from "../validation.ts";

/** prom-client's aggregator option: kept and reported by get(), never applied (see README). */
export type Aggregator = "omit" | "sum" | "first" | "min" | "max" | "average";

/** prom-client's collect option: runs at scrape time on the instance serving the scrape. */
// biome-ignore lint/suspicious/noExplicitAny: prom-client types `this` per metric type
export type CollectFunction<M = any> = (this: M) => void | Promise<void>;

export interface MetricConfiguration<T extends string> {
  name: string;
  help: string;
  labelNames?: readonly T[];
  /** Registries to register with; defaults to the global `register`. `[]` registers nowhere. */
  registers?: Registrar[];
  aggregator?: Aggregator;
  /**
   * Called before every read of this metric (scrape, get()) on the instance doing the read, to
   * set values computed then (a queue depth). What it records appears in that read and is
   * written with this instance's next flush.
   */
  collect?: CollectFunction;
}

/** A registry as a metric sees it: where its data goes and how its values are read. */
export interface MetricHome {
  /** Where in Redis its data goes: every registry a metric is in has the same one. */
  readonly prefix: string;
  /** The id this registry writes gauge values under. */
  readonly instanceId: string;
  readonly hasRedis: boolean;
  /** The metric's family as a scrape of this registry would render it. */
  readMetric(metric: Metric): Promise<MetricFamily>;
}

/**
 * Name, help and label handling shared by all metric types. A metric records, drains and
 * renders, nothing else: it keeps only the data recorded since the last flush (gauges: this
 * instance's current values); `drain` hands it to a flush batch and forgets it, `peek` writes it
 * without forgetting (a scrape's overlay), and `samples` turns what a scrape read into samples.
 *
 * A metric has one destination: the registries it is in (`registers: [a, b]`) share one prefix,
 * so one namespace in Redis, and whichever of them flushes first writes its data, once.
 */
export abstract class Metric<T extends string = string, E = unknown> {
  abstract readonly type: MetricType;
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  readonly aggregator: Aggregator;
  readonly #labelSet: LabelSet<T>;
  /** The series this metric knows in this isolate (bounded by its registry's limits). */
  protected readonly index: SeriesIndex<E, T>;
  readonly #collectFn: CollectFunction | undefined;
  #limits: SeriesLimits = UNREGISTERED_LIMITS;
  /** Registries holding it, in registration order; all of one prefix. */
  readonly #homes: MetricHome[] = [];

  constructor(config: MetricConfiguration<T>, reservedLabels: readonly string[] = []) {
    validateMetricConfig(config);
    this.name = config.name;
    this.help = config.help;
    this.labelNames = validateLabelNames(config.name, config.labelNames, reservedLabels) as T[];
    this.aggregator = config.aggregator ?? "sum";
    this.#collectFn = config.collect;
    this.#labelSet = new LabelSet(this.name, this.labelNames);
    this.index = new SeriesIndex<E, T>(this.#labelSet, (key) => this.#admit(key));
  }

  /**
   * Joins the registries of the configuration. Every concrete metric calls it last in its
   * constructor, once all its options are validated: a constructor that throws has registered
   * nowhere. Every registry checks the metric (its destination included) before any of them
   * takes it, and the registries must share one prefix.
   */
  protected register(registers: readonly Registrar[] | undefined): void {
    const targets = registers ?? [defaultRegistry()];
    for (const registry of targets) registry.checkRegistration?.(this);
    const prefixes = new Set(targets.flatMap((r) => (r.prefix === undefined ? [] : [r.prefix])));
    if (prefixes.size > 1) throw twoDestinations(this.name, [...prefixes]);
    for (const registry of targets) registry.registerMetric(this);
  }

  /**
   * The series of prom-client's overloads inc(labels, v) / inc(v) / inc() (and set, observe).
   * Series and value are two calls, not one returning a pair: this is the hot path and a
   * tuple is an allocation.
   */
  protected seriesOfCall(a: LabelValues<T> | number | undefined): Series<E> | undefined {
    return typeof a === "object" && a !== null ? this.index.find(a) : this.index.blank();
  }

  /** The value of the same overloads: the second argument after labels, else the first. */
  protected valueOfCall(a: LabelValues<T> | number | undefined, b: number | undefined): unknown {
    return typeof a === "object" && a !== null ? b : a;
  }

  /**
   * prom-client's labels("a", "b") / labels({ x: "a" }): the series' child, made once; for a
   * series the bounds refused, a stand-in whose calls look the series up again each time.
   */
  protected childOf(args: readonly unknown[]): object {
    const s = this.index.findArgs(args);
    if (s === undefined) return this.child(this.#unknownSeries(args));
    s.child ??= this.child(s);
    return s.child;
  }

  /** The object labels(...) returns for a series (CounterChild, GaugeChild, …). */
  protected abstract child(series: Series<E>): object;

  /**
   * startTimer(labels) for every type: the returned function hands the seconds elapsed (and
   * the series named by the start and end labels together) to `done`, and returns them.
   */
  protected timer(
    labels: LabelValues<T> | undefined,
    done: (series: Series<E> | undefined, seconds: number) => void,
  ): (endLabels?: LabelValues<T>) => number {
    const start = performance.now();
    return (endLabels) => {
      const seconds = (performance.now() - start) / 1000;
      done(this.index.find({ ...labels, ...endLabels } as LabelValues<T>), seconds);
      return seconds;
    };
  }

  /** A stand-in for a series the bounds refused: its holder looks it up again on every use. */
  #unknownSeries(args: readonly unknown[]): Series<E> {
    return { key: this.keyOfArgs(args), entry: undefined, live: false, child: undefined };
  }

  /**
   * For a child holding `series`: its live series on each call (the same object, or once it was
   * removed, the series of its key found again and kept), or undefined while there is none.
   */
  protected liveSeries(series: Series<E>): () => Series<E> | undefined {
    let s = series;
    return () => {
      if (!s.live) s = this.index.ofKey(s.key) ?? s;
      return s.live ? s : undefined;
    };
  }

  /**
   * Throws unless registries of `prefix` may take this metric: its data has one destination,
   * the prefix of the registries it is in already (as Registry.merge requires one prefix).
   */
  checkDestination(prefix: string): void {
    const mine = this.#homes[0]?.prefix;
    if (mine !== undefined && mine !== prefix) throw twoDestinations(this.name, [mine, prefix]);
  }

  /** Called by every registry that takes this metric. The first one's bounds apply. */
  attach(home: MetricHome, limits: SeriesLimits): void {
    if (this.#homes.includes(home)) return;
    this.checkDestination(home.prefix);
    if (this.#limits === UNREGISTERED_LIMITS) this.#limits = limits;
    this.#homes.push(home);
  }

  /** Called by a registry that lets go of this metric (removeSingleMetric, clear). */
  detach(home: MetricHome): void {
    const i = this.#homes.indexOf(home);
    if (i >= 0) this.#homes.splice(i, 1);
  }

  /** The id gauge values are written under: the first registry's (undefined: in none). */
  protected get homeInstanceId(): string | undefined {
    return this.#homes[0]?.instanceId;
  }

  /** prom-client's get(): this metric's global values, read from its registry's Redis. */
  async get(): Promise<MetricObjectWithValues> {
    const home = this.#homes.find((h) => h.hasRedis) ?? this.#homes[0];
    if (home === undefined) {
      throw new Error(
        `prometheus-upstash: ${this.name} is in no registry; get() reads its values from a ` +
          "registry's Redis (register it, or pass registers)",
      );
    }
    return metricObject(await home.readMetric(this), this.aggregator);
  }

  /** Runs the collect option, if any (before a read of this metric on this instance). */
  async runCollect(): Promise<void> {
    if (this.#collectFn !== undefined) await this.#collectFn.call(this);
  }

  get hasCollect(): boolean {
    return this.#collectFn !== undefined;
  }

  /**
   * Series in display order: those this isolate knows in the order it first recorded them (as
   * prom-client shows them), then the ones only other instances wrote, by key. Redis returns
   * hash fields in no useful order once a hash outgrows its compact encoding.
   */
  protected inDisplayOrder<V>(series: ReadonlyMap<string, V>): [string, V][] {
    const out: [string, V][] = [];
    for (const s of this.index.all()) {
      const v = series.get(s.key);
      if (v !== undefined) out.push([s.key, v]);
    }
    if (out.length === series.size) return out;
    const known = new Set(out.map(([key]) => key));
    const rest = [...series.keys()].filter((key) => !known.has(key)).sort();
    for (const key of rest) out.push([key, series.get(key)!]);
    return out;
  }

  /** The family a scrape renders: samples from what it read, labels in display order. */
  family(snapshot: Snapshot): MetricFamily {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      labelNames: this.labelNames,
      order: this.#labelOrder(),
      samples: this.samples(snapshot),
    };
  }

  /**
   * prom-client renders a series' labels in the order of the object that created it; here the
   * first labels object that created a series in this isolate stands for all (positional and
   * label-less calls keep labelNames order, and so does an instance that recorded nothing).
   */
  #labelOrder(): readonly number[] | undefined {
    const first = this.index.firstNames;
    if (first === undefined || this.labelNames.length < 2) return undefined;
    const order: number[] = [];
    for (const name of first) {
      const i = this.labelNames.indexOf(name as T);
      if (i >= 0 && !order.includes(i)) order.push(i);
    }
    for (let i = 0; i < this.labelNames.length; i++) if (!order.includes(i)) order.push(i);
    return order.every((v, i) => v === i) ? undefined : order;
  }

  /**
   * True when a new series may be recorded within the bounds. Otherwise the update is counted
   * as dropped (never thrown): a flood of label values must not break the handler.
   */
  #admit(key: string): boolean {
    if (this.index.size < this.#limits.maxSeriesPerMetric && this.#limits.take(key)) return true;
    this.#limits.refused(1);
    return false;
  }

  /** The bounds this metric records within (its first registry's). */
  protected get seriesLimits(): SeriesLimits {
    return this.#limits;
  }

  /** Forgets a series here; it no longer counts against the bounds. */
  protected forgetSeries(key: string): Series<E> | undefined {
    const s = this.index.delete(key);
    if (s !== undefined) this.#limits.give(key);
    return s;
  }

  /** Forgets every series here (reset). */
  protected forgetAllSeries(): Series<E>[] {
    const all = this.index.clear();
    for (const s of all) this.#limits.give(s.key);
    return all;
  }

  /** The key remove(...) names, whether or not this isolate knows the series. */
  protected keyOfArgs(args: readonly unknown[]): string {
    return this.#labelSet.keyOfArgs(args);
  }

  /** Hands the data recorded since the last drain to a flush batch, and forgets it. */
  abstract drain(batch: BatchWriter, nowMs: number): void;
  /**
   * Writes what the next flush would send, forgetting nothing: a scrape shows it on top of
   * what it read (for metrics with a collect option).
   */
  abstract peek(batch: BatchWriter): void;
  /** This metric's samples in what a scrape read. */
  abstract samples(snapshot: Snapshot): Sample[];
  /** Deletes its series: for every instance (sums), or this instance's values (gauges). */
  abstract reset(): void;
  /** A batch holding its data was given up unwritten: write all it holds again next time. */
  lostWrite(): void {}
}

function twoDestinations(name: string, prefixes: readonly string[]): Error {
  return new Error(
    `prometheus-upstash: ${name} cannot join registries of different prefixes ` +
      `(${prefixes.map((p) => JSON.stringify(p)).join(" and ")}): a metric's values live under ` +
      "one prefix; make one metric per prefix, or give the registries the same prefix",
  );
}

/** A child's startTimer(): the seconds elapsed go to `done`. */
export function childTimer(done: (seconds: number) => void): () => number {
  const start = performance.now();
  return () => {
    const seconds = (performance.now() - start) / 1000;
    done(seconds);
    return seconds;
  };
}
