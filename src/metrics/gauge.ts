import type { BatchWriter, GaugeRecord } from "../batch.ts";
import { valuesOfKey } from "../labels.ts";
import type { Snapshot } from "../snapshot.ts";
import type { LabelValues, Sample } from "../types.ts";
import { validateFinite, validatePositiveInteger } from "../validation.ts";
import { childTimer, Metric, type MetricConfiguration } from "./metric.ts";

/** How a scrape combines the values of the instances alive right now. */
export type GaugeAggregate = "sum" | "max" | "min" | "last" | "perInstance";

/** The label a `perInstance` gauge adds (not `instance`: Prometheus owns that one). */
export const INSTANCE_LABEL = "instance_id";

/** Longest `expire`: values of an instance outliving it by more than a year make no sense. */
const MAX_EXPIRE_SECONDS = 365 * 86_400;

export interface GaugeConfiguration<T extends string> extends MetricConfiguration<T> {
  aggregate?: GaugeAggregate;
  /** Seconds an instance's values outlive its last flush (default 60, at most a year). */
  expire?: number;
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
 */
export class Gauge<T extends string = string> extends Metric<T> {
  // A getter, not a field: the registry reads it while the base constructor registers.
  get type(): "gauge" {
    return "gauge";
  }
  readonly aggregate: GaugeAggregate;
  readonly expireMs: number;
  private readonly values = new Map<string, Value>();
  /** Changed since the last write (values, removes, reset), or written data was lost. */
  private changed = false;
  private updates = 0;
  /** When this instance last wrote its values (they cannot have expired for expire/2). */
  private writtenAt = Number.NEGATIVE_INFINITY;

  constructor(config: GaugeConfiguration<T>) {
    const aggregate = config.aggregate ?? "sum";
    super(config, aggregate === "perInstance" ? [INSTANCE_LABEL] : []);
    if (!["sum", "max", "min", "last", "perInstance"].includes(aggregate)) {
      throw new Error(`Invalid aggregate ${JSON.stringify(aggregate)} for gauge ${this.name}`);
    }
    this.aggregate = aggregate;
    const expire = validatePositiveInteger(this.name, "expire", config.expire ?? 60);
    if (expire > MAX_EXPIRE_SECONDS) {
      throw new Error(`expire of ${this.name} must be at most ${MAX_EXPIRE_SECONDS} s (a year)`);
    }
    this.expireMs = expire * 1000;
  }

  set(labels: LabelValues<T> | number, value?: number): void {
    this.write(this.keyOfCall(labels), this.valueOfCall(labels, value, Number.NaN), false);
  }

  inc(labels?: LabelValues<T> | number, value?: number): void {
    this.write(this.keyOfCall(labels), this.valueOfCall(labels, value, 1), true);
  }

  dec(labels?: LabelValues<T> | number, value?: number): void {
    this.write(this.keyOfCall(labels), -this.valueOfCall(labels, value, 1), true);
  }

  setToCurrentTime(labels?: LabelValues<T>): void {
    this.write(this.labelSet.keyOf(labels ?? {}), Date.now() / 1000, false);
  }

  /** Returns a function that sets the gauge to the seconds elapsed. */
  startTimer(labels?: LabelValues<T>): (endLabels?: LabelValues<T>) => number {
    return this.timer(labels, (key, seconds) => this.write(key, seconds, false));
  }

  labels(...args: (string | number)[] | [LabelValues<T>]): GaugeChild {
    const key = this.labelSet.keyOfArgs(args);
    return {
      set: (v: number) => this.write(key, v, false),
      inc: (v = 1) => this.write(key, v, true),
      dec: (v = 1) => this.write(key, -v, true),
      setToCurrentTime: () => this.write(key, Date.now() / 1000, false),
      startTimer: () => childTimer((seconds) => this.write(key, seconds, false)),
    };
  }

  /** Removes this instance's value of the series. */
  remove(...args: (string | number)[] | [LabelValues<T>]): void {
    const key = this.labelSet.keyOfArgs(args);
    this.values.delete(key);
    this.forgetSeries(key);
    this.changed = true;
  }

  /** Removes all of this instance's values of this gauge. */
  reset(): void {
    this.values.clear();
    this.forgetAllSeries();
    this.changed = true;
  }

  private write(key: string, v: number, relative: boolean): void {
    validateFinite(this.name, v);
    let e = this.values.get(key);
    if (e === undefined) {
      if (!this.admit(key)) return;
      e = { value: 0, at: 0 };
      this.values.set(key, e);
    }
    e.value = relative ? e.value + v : v;
    if (this.aggregate === "last") e.at = Date.now();
    this.changed = true;
    this.updates++;
  }

  /** Values of this instance (the in-memory state a flush writes). */
  localValue(labels: LabelValues<T> = {}): number | undefined {
    return this.values.get(this.labelSet.keyOf(labels))?.value;
  }

  /** True when the values need writing: changes, or a refresh before they expire. */
  needsFlush(nowMs: number): boolean {
    return this.changed || (this.values.size > 0 && nowMs - this.writtenAt > this.expireMs / 2);
  }

  pendingSeries(): number {
    return this.changed ? this.values.size : 0;
  }

  drain(batch: BatchWriter, nowMs: number): void {
    if (!this.needsFlush(nowMs)) return;
    const last = this.aggregate === "last";
    const records: GaugeRecord[] = [];
    for (const [key, e] of this.values) records.push(last ? [key, e.value, e.at] : [key, e.value]);
    batch.gauge(this.name, this.expireMs, records, this.updates);
    this.writtenAt = nowMs;
    this.updates = 0;
    this.changed = false;
  }

  /** A batch with these values was dropped: write them all again with the next flush. */
  override unwritten(): void {
    this.changed = true;
  }

  collect(snapshot: Snapshot): Sample[] {
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
        merged.set(key, prev === undefined ? { value, at } : this.combine(prev, value, at));
      }
    }
    for (const [key, { value }] of merged) {
      const values = valuesOfKey(key, width);
      if (values) samples.push({ suffix: "", values, value });
    }
    if (samples.length === 0 && width === 0 && this.aggregate === "sum") {
      samples.push({ suffix: "", values: [], value: 0 });
    }
    return samples;
  }

  private combine(prev: Value, value: number, at: number): Value {
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
