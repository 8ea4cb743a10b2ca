import type { BatchWriter } from "../batch.ts";
import { valuesOfKey } from "../labels.ts";
import type { Snapshot } from "../snapshot.ts";
import type { LabelValues, Sample } from "../types.ts";
import type { MetricConfiguration } from "./metric.ts";
import { SumsMetric } from "./sums.ts";

export interface CounterChild {
  inc(value?: number): void;
}

/** A series' delta since the last flush, boxed so a repeated inc is one Map lookup. */
interface Pending {
  delta: number;
  n: number;
}

/** A global counter: every instance adds its deltas into one Redis hash field per series. */
export class Counter<T extends string = string> extends SumsMetric<T, Pending> {
  // A getter, not a field: the registry reads it while the base constructor registers.
  get type(): "counter" {
    return "counter";
  }

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

  /** Deletes the series for every instance (on the next flush). */
  remove(...args: (string | number)[] | [LabelValues<T>]): void {
    this.removeSeries(this.labelSet.keyOfArgs(args));
  }

  private add(key: string, v: number): void {
    // typeof first: "1" >= 0 is true, and "0" + "1" would concatenate into the batch.
    if (typeof v !== "number" || !(v >= 0 && v < Number.POSITIVE_INFINITY)) {
      if (v < 0) throw new Error(`It is not possible to decrease a counter (${this.name})`);
      throw new TypeError(`Value of ${this.name} must be a finite number, got ${String(v)}`);
    }
    const entry = this.pending.get(key);
    if (entry !== undefined) {
      const delta = entry.delta + v;
      if (delta === Number.POSITIVE_INFINITY) throw overflow(this.name, v);
      entry.delta = delta;
      entry.n++;
    } else if (this.admit(key)) this.pending.set(key, { delta: v, n: 1 });
  }

  protected write(batch: BatchWriter, key: string, entry: Pending): void {
    batch.counter(this.name, key, entry.delta, entry.n);
  }

  collect(snapshot: Snapshot): Sample[] {
    const samples: Sample[] = [];
    for (const [key, value] of snapshot.counter(this.name)) {
      const values = valuesOfKey(key, this.labelNames.length);
      if (values) samples.push({ suffix: "", values, value });
    }
    if (samples.length === 0 && this.labelNames.length === 0) {
      samples.push({ suffix: "", values: [], value: 0 });
    }
    return samples;
  }
}

/** A sum that would no longer be a finite number is refused at the call that would make it. */
export function overflow(name: string, v: number): RangeError {
  return new RangeError(
    `Adding ${v} to ${name} would overflow: its sum since the last flush would not be finite`,
  );
}
