import type { BatchWriter, GaugeRecord } from "../batch.ts";
import { valuesOfKey } from "../labels.ts";
import type { Series } from "../series.ts";
import type { Snapshot } from "../snapshot.ts";
import type { LabelValues, Sample } from "../types.ts";
import { invalidValue, validatePositiveInteger } from "../validation.ts";
import { type CollectFunction, childTimer, Metric, type MetricConfiguration } from "./metric.ts";

/** How a scrape combines the values of the instances alive right now. */
export type GaugeAggregate = "sum" | "max" | "min" | "last" | "perInstance";

/** The label a `perInstance` gauge adds (not `instance`: Prometheus owns that one). */
export const INSTANCE_LABEL = "instance_id";

const AGGREGATES: readonly GaugeAggregate[] = ["sum", "max", "min", "last", "perInstance"];

/** Longest `expire`: values of an instance outliving it by more than a year make no sense. */
const MAX_EXPIRE_SECONDS = 365 * 86_400;

export interface GaugeConfiguration<T extends string> extends MetricConfiguration<T> {
  aggregate?: GaugeAggregate;
  /** Seconds an instance's values outlive its last flush (default 60, at most a year). */
  expire?: number;
  collect?: CollectFunction<Gauge<T>>;
}

export interface GaugeChild {
  set(value: number): void;
  inc(value?: number): void;
  dec(value?: number): void;
  setToCurrentTime(): void;
  startTimer(): () => number;
}

interface Value {
  value: number;
  /** When it was set (ms), for aggregate "last". */
  at: number;
}

/**
 * A gauge is a per-instance value (in-flight requests, queue depth, memory). Each instance keeps
 * its values in memory and writes all of them at once under its own instance id, live until an
 * expiry: an instance that stops flushing — dead isolate, frozen lambda — drops out of the
 * scrape by expiry alone. A live instance rewrites them before half the expiry has passed.
 * Values are any number, NaN and ±Infinity included, as in prom-client.
 */
export class Gauge<T extends string = string> extends Metric<T, Value> {
  readonly type = "gauge" as const;
  readonly aggregate: GaugeAggregate;
  readonly expireMs: number;
  /** Metric calls so far, and removes/resets so far. */
  #calls = 0;
  #edits = 0;
  /** `calls` and `edits` at the last drain, and when it was (ms). */
  #drainedCalls = 0;
  #drainedEdits = 0;
  #drainedAt = Number.NEGATIVE_INFINITY;
  /** A batch with the values was given up: write them all again. */
  #lost = false;
  /**
   * The instance id the values are stored under, fixed at the first drain: registries of one
   * prefix each have their own id, and the same values under two would count twice in a sum.
   */
  #instance: string | undefined;

  constructor(config: GaugeConfiguration<T>) {
    const aggregate = (config as GaugeConfiguration<T> | undefined)?.aggregate ?? "sum";
    super(config, aggregate === "perInstance" ? [INSTANCE_LABEL] : []);
    if (!AGGREGATES.includes(aggregate)) {
      throw new Error(
        `prometheus-upstash: Invalid aggregate ${JSON.stringify(aggregate)} for gauge ${this.name}`,
      );
    }
    this.aggregate = aggregate;
    const expire = validatePositiveInteger(this.name, "expire", config.expire ?? 60);
    if (expire > MAX_EXPIRE_SECONDS) {
      throw new Error(
        `prometheus-upstash: expire of ${this.name} must be at most ${MAX_EXPIRE_SECONDS} s (a year)`,
      );
    }
    this.expireMs = expire * 1000;
    this.register(config.registers);
  }

  set(labels: LabelValues<T> | number, value?: number): void {
    this.#put(this.seriesOfCall(labels), this.valueOfCall(labels, value));
  }

  inc(labels?: LabelValues<T> | number, value?: number): void {
    const v = this.valueOfCall(labels, value);
    this.#add(this.seriesOfCall(labels), v === undefined ? 1 : v);
  }

  dec(labels?: LabelValues<T> | number, value?: number): void {
    const v = this.valueOfCall(labels, value);
    this.#add(this.seriesOfCall(labels), v === undefined ? -1 : negated(v));
  }

  setToCurrentTime(labels?: LabelValues<T>): void {
    this.#put(
      labels === undefined ? this.index.blank() : this.index.find(labels),
      Date.now() / 1000,
    );
  }

  /** Returns a function that sets the gauge to the seconds elapsed. */
  startTimer(labels?: LabelValues<T>): (endLabels?: LabelValues<T>) => number {
    return this.timer(labels, (s, seconds) => this.#put(s, seconds));
  }

  labels(...args: (string | number)[] | [LabelValues<T>]): GaugeChild {
    return this.childOf(args) as GaugeChild;
  }

  /** Removes this instance's value of the series. */
  remove(...args: (string | number)[] | [LabelValues<T>]): void {
    this.forgetSeries(this.keyOfArgs(args));
    this.#edits++;
  }

  /** Removes all of this instance's values of this gauge. */
  reset(): void {
    this.forgetAllSeries();
    this.#edits++;
  }

  protected child(series: Series<Value>): GaugeChild {
    const live = this.liveSeries(series);
    return {
      set: (v: number) => this.#put(live(), v),
      inc: (v = 1) => this.#add(live(), v),
      dec: (v = 1) => this.#add(live(), negated(v)),
      setToCurrentTime: () => this.#put(live(), Date.now() / 1000),
      startTimer: () => childTimer((seconds) => this.#put(live(), seconds)),
    };
  }

  #put(s: Series<Value> | undefined, v: unknown): void {
    if (typeof v !== "number") throw invalidValue(v);
    if (s === undefined) return;
    const e = s.entry;
    if (e === undefined) s.entry = { value: v, at: this.aggregate === "last" ? Date.now() : 0 };
    else {
      e.value = v;
      if (this.aggregate === "last") e.at = Date.now();
    }
    this.#calls++;
  }

  #add(s: Series<Value> | undefined, v: unknown): void {
    if (typeof v !== "number") throw invalidValue(v, "Delta");
    if (s === undefined) return;
    const e = s.entry;
    if (e === undefined) s.entry = { value: v, at: this.aggregate === "last" ? Date.now() : 0 };
    else {
      e.value += v;
      if (this.aggregate === "last") e.at = Date.now();
    }
    this.#calls++;
  }

  /** True when the values need writing: changes, or a refresh before they expire. */
  #needsFlush(nowMs: number): boolean {
    if (this.#lost || this.#drainedCalls !== this.#calls || this.#drainedEdits !== this.#edits) {
      return true;
    }
    return this.index.size > 0 && nowMs - this.#drainedAt > this.expireMs / 2;
  }

  drain(batch: BatchWriter, nowMs: number): void {
    if (!this.#needsFlush(nowMs)) return;
    this.#instance ??= this.homeInstanceId;
    const updates = this.#calls - this.#drainedCalls;
    batch.gauge(this.name, this.expireMs, this.#records(), updates, this.#instance);
    this.#drainedCalls = this.#calls;
    this.#drainedEdits = this.#edits;
    this.#drainedAt = nowMs;
    this.#lost = false;
  }

  peek(batch: BatchWriter): void {
    batch.gauge(this.name, this.expireMs, this.#records(), 0, this.#instance);
  }

  #records(): GaugeRecord[] {
    const last = this.aggregate === "last";
    const records: GaugeRecord[] = [];
    for (const s of this.index.all()) {
      const e = s.entry;
      if (e !== undefined) records.push(last ? [s.key, e.value, e.at] : [s.key, e.value]);
    }
    return records;
  }

  /** A batch with these values was dropped: write them all again with the next flush. */
  override lostWrite(): void {
    this.#lost = true;
  }

  samples(snapshot: Snapshot): Sample[] {
    const width = this.labelNames.length;
    const samples: Sample[] = [];
    const merged = new Map<string, { value: number; at: number }>();
    for (const { instance, records } of snapshot.gauge(this.name)) {
      for (const [key, value, at = 0] of records) {
        if (this.aggregate === "perInstance") {
          const values = valuesOfKey(key, width);
          if (values)
            samples.push({ suffix: "", values, extra: [INSTANCE_LABEL, instance], value });
          continue;
        }
        const prev = merged.get(key);
        merged.set(key, prev === undefined ? { value, at } : this.#combine(prev, value, at));
      }
    }
    for (const [key, { value }] of this.inDisplayOrder(merged)) {
      const values = valuesOfKey(key, width);
      if (values) samples.push({ suffix: "", values, value });
    }
    if (samples.length === 0 && width === 0 && this.aggregate === "sum") {
      samples.push({ suffix: "", values: [], value: 0 });
    }
    return samples;
  }

  #combine(prev: Value, value: number, at: number): Value {
    switch (this.aggregate) {
      case "max":
        return value > prev.value ? { value, at } : prev;
      case "min":
        return value < prev.value ? { value, at } : prev;
      case "last":
        return at >= prev.at ? { value, at } : prev;
      default:
        return { value: prev.value + value, at };
    }
  }
}

/** prom-client's dec(v) is inc(-v); a value that is not a number stays as it is for the check. */
function negated(v: unknown): unknown {
  return typeof v === "number" ? -v : v;
}
