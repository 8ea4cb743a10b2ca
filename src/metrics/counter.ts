import { num } from "../batch.ts";
import { valuesOfKey } from "../labels.ts";
import type { LabelValues, Sample } from "../types.ts";
import { type MetricConfiguration, pairs } from "./metric.ts";
import { SumsMetric } from "./sums.ts";

export interface CounterChild {
  inc(value?: number): void;
}

/**
 * A global counter: every instance adds its deltas into one Redis hash field per series. The
 * pending delta is boxed so a repeated inc is one Map lookup, no re-insert.
 */
export class Counter<T extends string = string> extends SumsMetric<T, { delta: number }> {
  readonly type = "counter" as const;

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
    this.removeSeries(key, [key]);
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

  protected increments(key: string, entry: { delta: number }, out: string[]): void {
    out.push(key, num(entry.delta));
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
