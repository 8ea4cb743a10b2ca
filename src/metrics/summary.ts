import { type BatchBuilder, num } from "../batch.ts";
import { valuesOfKey } from "../labels.ts";
import type { LabelValues, Sample } from "../types.ts";
import { validateFinite, validatePercentiles, validatePositiveInteger } from "../validation.ts";
import { Metric, type MetricConfiguration, pairs, type ReadSpec } from "./metric.ts";

export interface SummaryConfiguration<T extends string> extends MetricConfiguration<T> {
  percentiles?: readonly number[];
  maxAgeSeconds?: number;
  ageBuckets?: number;
}

export interface SummaryChild {
  observe(value: number): void;
  startTimer(): () => number;
}

interface Pending {
  sum: number;
  count: number;
}

const SUM = "sum";
const COUNT = "count";

/** prom-client's default percentiles. */
const DEFAULT_PERCENTILES = [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999];

/**
 * A summary: _sum and _count are global all-time sums, like a counter's.
 */
export class Summary<T extends string = string> extends Metric<T> {
  readonly type = "summary" as const;
  readonly percentiles: readonly number[];
  readonly maxAgeSeconds: number;
  readonly ageBuckets: number;
  private pending = new Map<string, Pending>();
  private deletes: string[] = [];
  private resetPending = false;
  private updates = 0;

  constructor(config: SummaryConfiguration<T>) {
    super(config, ["quantile"]);
    this.percentiles = Object.freeze(
      validatePercentiles(this.name, config.percentiles ?? DEFAULT_PERCENTILES),
    );
    this.maxAgeSeconds = validatePositiveInteger(
      this.name,
      "maxAgeSeconds",
      config.maxAgeSeconds ?? 600,
    );
    this.ageBuckets = validatePositiveInteger(this.name, "ageBuckets", config.ageBuckets ?? 5);
  }

  observe(labels: LabelValues<T> | number, value?: number): void {
    const [key, v] = this.keyAndValue(labels, value, Number.NaN);
    this.record(key, v);
  }

  labels(...args: (string | number)[] | [LabelValues<T>]): SummaryChild {
    const key = this.labelSet.keyOfArgs(args);
    return {
      observe: (v: number) => this.record(key, v),
      startTimer: () => {
        const start = performance.now();
        return () => {
          const seconds = (performance.now() - start) / 1000;
          this.record(key, seconds);
          return seconds;
        };
      },
    };
  }

  startTimer(labels?: LabelValues<T>): (endLabels?: LabelValues<T>) => number {
    const start = performance.now();
    return (endLabels) => {
      const seconds = (performance.now() - start) / 1000;
      this.record(this.labelSet.keyOf({ ...labels, ...endLabels } as LabelValues<T>), seconds);
      return seconds;
    };
  }

  remove(...args: (string | number)[] | [LabelValues<T>]): void {
    const key = this.labelSet.keyOfArgs(args);
    this.pending.delete(key);
    this.deletes.push(SUM + key, COUNT + key);
  }

  reset(): void {
    this.pending.clear();
    this.deletes = [];
    this.resetPending = true;
  }

  private record(key: string, v: number): void {
    validateFinite(this.name, v);
    let e = this.pending.get(key);
    if (e === undefined) {
      e = { sum: 0, count: 0 };
      this.pending.set(key, e);
    }
    e.sum += v;
    e.count++;
    this.updates++;
  }

  pendingSeries(): number {
    return this.pending.size;
  }

  drain(batch: BatchBuilder): void {
    if (this.pending.size === 0 && this.deletes.length === 0 && !this.resetPending) return;
    const increments: string[] = [];
    for (const [key, e] of this.pending) {
      increments.push(SUM + key, num(e.sum), COUNT + key, num(e.count));
    }
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
    const series = new Map<string, Pending>();
    for (let i = 0; i < fields.length; i += 2) {
      const field = fields[i]!;
      const cut = field.indexOf("[");
      if (cut < 0) continue;
      const key = field.slice(cut);
      let s = series.get(key);
      if (!s) {
        s = { sum: 0, count: 0 };
        series.set(key, s);
      }
      const tag = field.slice(0, cut);
      if (tag === SUM) s.sum += Number(fields[i + 1]);
      else if (tag === COUNT) s.count += Number(fields[i + 1]);
    }
    if (series.size === 0 && this.labelNames.length === 0) series.set("[]", { sum: 0, count: 0 });
    const samples: Sample[] = [];
    for (const [key, s] of series) {
      const values = valuesOfKey(key, this.labelNames.length);
      if (!values) continue;
      samples.push({ suffix: "_sum", values, value: s.sum });
      samples.push({ suffix: "_count", values, value: s.count });
    }
    return samples;
  }
}
