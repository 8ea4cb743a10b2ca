import { type BatchBuilder, num } from "../batch.ts";
import { valuesOfKey } from "../labels.ts";
import type { LabelValues, Sample } from "../types.ts";
import { Metric, type MetricConfiguration, pairs, type ReadSpec } from "./metric.ts";

export interface CounterChild {
  inc(value?: number): void;
}

/** A global counter: every instance adds its deltas into one Redis hash field per series. */
export class Counter<T extends string = string> extends Metric<T> {
  readonly type = "counter" as const;
  /** Pending delta per series; boxed so a repeat inc is one lookup, no re-insert. */
  private pending = new Map<string, { delta: number }>();
  private deletes: string[] = [];
  private resetPending = false;
  private updates = 0;

  constructor(config: MetricConfiguration<T>) {
    super(config);
  }

  inc(labels?: LabelValues<T> | number, value?: number): void {
    this.add(this.keyOfCall(labels), this.valueOfCall(labels, value, 1));
  }

  labels(...args: (string | number)[] | [LabelValues<T>]): CounterChild {
    const key = this.labelSet.keyOfArgs(args);
    return { inc: (v = 1) => this.add(key, v) };
  }

  /** Deletes the series for every instance (HDEL on the next flush). */
  remove(...args: (string | number)[] | [LabelValues<T>]): void {
    const key = this.labelSet.keyOfArgs(args);
    this.pending.delete(key);
    this.forgetSeries(key);
    this.deletes.push(key);
  }

  /** Deletes every series of this counter for every instance (DEL on the next flush). */
  reset(): void {
    this.pending.clear();
    this.forgetAllSeries();
    this.deletes = [];
    this.resetPending = true;
  }

  private add(key: string, v: number): void {
    // typeof first: "1" >= 0 is true, and "0" + "1" would concatenate into the batch.
    if (typeof v !== "number" || !(v >= 0 && v < Number.POSITIVE_INFINITY)) {
      if (v < 0) throw new Error(`It is not possible to decrease a counter (${this.name})`);
      throw new TypeError(`Value of ${this.name} must be a finite number, got ${String(v)}`);
    }
    const entry = this.pending.get(key);
    if (entry !== undefined) entry.delta += v;
    else if (this.admit(key)) this.pending.set(key, { delta: v });
    else return;
    this.updates++;
  }

  pendingSeries(): number {
    return this.pending.size;
  }

  drain(batch: BatchBuilder): void {
    if (this.pending.size === 0 && this.deletes.length === 0 && !this.resetPending) return;
    const increments: string[] = [];
    for (const [key, { delta }] of this.pending) increments.push(key, num(delta));
    batch.batch.v.push([this.name, this.resetPending ? 1 : 0, this.deletes, increments]);
    batch.updates += this.updates;
    this.updates = 0;
    this.pending = new Map();
    this.deletes = [];
    this.resetPending = false;
  }

  readSpec(): ReadSpec {
    return { kind: "sums" };
  }

  collect(raw: unknown): Sample[] {
    const fields = pairs(raw);
    const samples: Sample[] = [];
    for (let i = 0; i < fields.length; i += 2) {
      const values = valuesOfKey(fields[i]!, this.labelNames.length);
      if (values) samples.push({ suffix: "", values, value: Number(fields[i + 1]) });
    }
    if (samples.length === 0 && this.labelNames.length === 0) {
      samples.push({ suffix: "", values: [], value: 0 });
    }
    return samples;
  }
}
