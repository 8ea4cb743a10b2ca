import type { BatchWriter } from "../batch.ts";
import { valuesOfKey } from "../labels.ts";
import type { Series } from "../series.ts";
import type { Snapshot } from "../snapshot.ts";
import type { LabelValues, Sample } from "../types.ts";
import { invalidValue } from "../validation.ts";
import type { CollectFunction, MetricConfiguration } from "./metric.ts";
import { SumsMetric } from "./sums.ts";

export interface CounterConfiguration<T extends string> extends MetricConfiguration<T> {
  collect?: CollectFunction<Counter<T>>;
}

export interface CounterChild {
  inc(value?: number): void;
}

/** A series' delta since the last flush. */
interface Pending {
  delta: number;
  n: number;
}

/** A global counter: every instance adds its deltas into one Redis hash field per series. */
export class Counter<T extends string = string> extends SumsMetric<T, Pending> {
  readonly type = "counter" as const;

  constructor(config: CounterConfiguration<T>) {
    super(config);
    this.register(config.registers);
  }

  inc(labels?: LabelValues<T> | number, value?: number): void {
    this.#add(this.seriesOfCall(labels), this.valueOfCall(labels, value));
  }

  labels(...args: (string | number)[] | [LabelValues<T>]): CounterChild {
    return this.childOf(args) as CounterChild;
  }

  /** Deletes the series for every instance (on the next flush). */
  remove(...args: (string | number)[] | [LabelValues<T>]): void {
    this.removeSeries(this.keyOfArgs(args));
  }

  protected child(series: Series<Pending>): CounterChild {
    const live = this.liveSeries(series);
    return { inc: (v?: number) => this.#add(live(), v) };
  }

  #add(s: Series<Pending> | undefined, value: unknown): void {
    let v = value as number;
    // typeof first: "1" >= 0 is true, and "0" + "1" would concatenate into the batch.
    if (typeof v !== "number" || !(v >= 0 && v < Number.POSITIVE_INFINITY)) v = checked(value);
    if (s === undefined) return;
    const e = s.entry;
    if (e === undefined) {
      s.entry = { delta: v, n: 1 };
      this.dirty.push(s);
      return;
    }
    const delta = e.delta + v;
    if (delta === Number.POSITIVE_INFINITY) throw overflow(this.name, v);
    e.delta = delta;
    e.n++;
  }

  protected write(batch: BatchWriter, key: string, entry: Pending): void {
    batch.counter(this.name, key, entry.delta, entry.n);
  }

  samples(snapshot: Snapshot): Sample[] {
    const samples: Sample[] = [];
    for (const [key, value] of this.inDisplayOrder(snapshot.counter(this.name))) {
      const values = valuesOfKey(key, this.labelNames.length);
      if (values) samples.push({ suffix: "", values, value });
    }
    if (samples.length === 0 && this.labelNames.length === 0) {
      samples.push({ suffix: "", values: [], value: 0 });
    }
    return samples;
  }
}

/** prom-client's checks of an increment: null or undefined mean 1. */
function checked(v: unknown): number {
  if (v === undefined || v === null) return 1;
  if (typeof v !== "number" || !Number.isFinite(v)) throw invalidValue(v);
  if (v < 0) throw new Error("It is not possible to decrease a counter");
  return v;
}

/** A sum that would no longer be a finite number is refused at the call that would make it. */
export function overflow(name: string, v: number): RangeError {
  return new RangeError(
    `prometheus-upstash: Adding ${v} to ${name} would overflow: its sum since the last flush would not be finite`,
  );
}
