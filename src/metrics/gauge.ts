import { type BatchBuilder, num } from "../batch.ts";
import { valuesOfKey } from "../labels.ts";
import type { LabelValues, Sample } from "../types.ts";
import { validateFinite, validatePositiveInteger } from "../validation.ts";
import { childTimer, Metric, type MetricConfiguration, pairs, type ReadSpec } from "./metric.ts";

/** How a scrape combines the values of the instances alive right now. */
export type GaugeAggregate = "sum" | "max" | "min" | "last" | "perInstance";

/** The label a `perInstance` gauge adds (not `instance`: Prometheus owns that one). */
export const INSTANCE_LABEL = "instance_id";

export interface GaugeConfiguration<T extends string> extends MetricConfiguration<T> {
  aggregate?: GaugeAggregate;
  /** Seconds an instance's values outlive its last flush (default 60). */
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
  /** Changed since the last flush (then its key is in `dirty`). */
  dirty?: boolean;
}

// Redis fields of a gauge series in this instance's hash: key → value, and for "last" also
// "@" + key → the time of the write. Keys always start with "[", so "@" cannot collide.
const AT = "@";

/**
 * A gauge is a per-instance value (in-flight requests, queue depth, memory). Each instance keeps
 * its values in memory and writes them under its own instance id, with a key expiry: an instance
 * that stops flushing — dead isolate, frozen lambda — drops out of the scrape by expiry alone.
 */
export class Gauge<T extends string = string> extends Metric<T> {
  readonly type = "gauge" as const;
  readonly aggregate: GaugeAggregate;
  readonly expireMs: number;
  private readonly values = new Map<string, Value>();
  private dirty: string[] = [];
  private deletes: string[] = [];
  private resetPending = false;
  private updates = 0;
  /** When this instance last wrote all its values (they cannot have expired for expire/2). */
  private fullWriteAt = Number.NEGATIVE_INFINITY;

  constructor(config: GaugeConfiguration<T>) {
    const aggregate = config.aggregate ?? "sum";
    super(config, aggregate === "perInstance" ? [INSTANCE_LABEL] : []);
    if (!["sum", "max", "min", "last", "perInstance"].includes(aggregate)) {
      throw new Error(`Invalid aggregate ${JSON.stringify(aggregate)} for gauge ${this.name}`);
    }
    this.aggregate = aggregate;
    this.expireMs = validatePositiveInteger(this.name, "expire", config.expire ?? 60) * 1000;
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
    this.deletes.push(key, AT + key);
  }

  /** Removes all of this instance's values of this gauge. */
  reset(): void {
    this.values.clear();
    this.forgetAllSeries();
    this.dirty = [];
    this.deletes = [];
    this.resetPending = true;
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
    if (e.dirty !== true) {
      e.dirty = true;
      this.dirty.push(key);
    }
    this.updates++;
  }

  /** Values of this instance (the in-memory state a flush writes). */
  localValue(labels: LabelValues<T> = {}): number | undefined {
    return this.values.get(this.labelSet.keyOf(labels))?.value;
  }

  /** True when the values need writing: changes, or a refresh before they expire. */
  needsFlush(nowMs: number): boolean {
    return (
      this.dirty.length > 0 ||
      this.deletes.length > 0 ||
      this.resetPending ||
      (this.values.size > 0 && nowMs - this.fullWriteAt > this.expireMs / 2)
    );
  }

  pendingSeries(): number {
    return this.dirty.length;
  }

  drain(batch: BatchBuilder, nowMs: number): void {
    if (!this.needsFlush(nowMs)) return;
    // Past half the expiry, rewrite everything: the key may have expired while this instance
    // was idle. Otherwise the changed values and a fresh expiry are enough.
    const full = nowMs - this.fullWriteAt > this.expireMs / 2;
    const sets: string[] = [];
    const keys = full ? this.values.keys() : this.dirty;
    for (const key of keys) {
      const e = this.values.get(key);
      if (e === undefined || (!full && e.dirty !== true)) continue; // removed, or listed twice
      e.dirty = false;
      sets.push(key, num(e.value));
      if (this.aggregate === "last") sets.push(AT + key, num(e.at));
    }
    batch.batch.g.push([this.name, this.expireMs, this.resetPending ? 1 : 0, this.deletes, sets]);
    batch.updates += this.updates;
    if (full) this.fullWriteAt = nowMs;
    this.updates = 0;
    for (const key of this.dirty) {
      const e = this.values.get(key);
      if (e) e.dirty = false;
    }
    this.dirty = [];
    this.deletes = [];
    this.resetPending = false;
  }

  /** A failed flush: the values are still this instance's truth, so write them all next time. */
  markUnwritten(): void {
    this.fullWriteAt = Number.NEGATIVE_INFINITY;
  }

  readSpec(): ReadSpec {
    return { kind: "gauge" };
  }

  /** raw: [instanceId, [field, value, …], instanceId, […], …] for the live instances. */
  collect(raw: unknown): Sample[] {
    const list = pairs(raw) as unknown[];
    const width = this.labelNames.length;
    const samples: Sample[] = [];
    const merged = new Map<string, { value: number; at: number }>();
    for (let i = 0; i < list.length; i += 2) {
      const instance = String(list[i]);
      const fields = pairs(list[i + 1]);
      const at = new Map<string, number>();
      if (this.aggregate === "last") {
        for (let j = 0; j < fields.length; j += 2) {
          const f = fields[j]!;
          if (f.startsWith(AT)) at.set(f.slice(AT.length), Number(fields[j + 1]));
        }
      }
      for (let j = 0; j < fields.length; j += 2) {
        const key = fields[j]!;
        if (key.startsWith(AT)) continue;
        const value = Number(fields[j + 1]);
        if (this.aggregate === "perInstance") {
          const values = valuesOfKey(key, width);
          if (values)
            samples.push({ suffix: "", values, extra: [INSTANCE_LABEL, instance], value });
          continue;
        }
        const prev = merged.get(key);
        const when = at.get(key) ?? 0;
        merged.set(key, prev === undefined ? { value, at: when } : this.combine(prev, value, when));
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
