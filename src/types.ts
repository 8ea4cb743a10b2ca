import type { Redis } from "@upstash/redis";

/** The @upstash/redis client (or anything with the same `eval` and `evalsha`). */
export type RedisClient = Pick<Redis, "eval" | "evalsha">;

export type MetricType = "counter" | "gauge" | "histogram" | "summary";

export type LabelValues<T extends string> = Partial<Record<T, string | number>>;

/** One rendered series: label values line up with the family's labelNames. */
export interface Sample {
  /** Appended to the family name: "", "_bucket", "_sum", "_count". */
  suffix: string;
  /** The full sample name, when it is not the family name plus suffix (custom metrics). */
  name?: string;
  values: readonly string[];
  /** A label the metric type adds itself: le, quantile, instance_id. */
  extra?: readonly [name: string, value: string];
  value: number;
  /** On a histogram's `_count` sample: the series' native buckets (protobuf exposition only). */
  native?: NativeBuckets;
}

/**
 * The native (exponential) buckets of one histogram series, as Prometheus defines them: at
 * `schema` (−4..8) bucket i holds magnitudes in (2^((i−1)·2^−schema), 2^(i·2^−schema)]; values
 * with |v| ≤ zeroThreshold are counted in zeroCount. Count and sum are the series' _count/_sum.
 */
export interface NativeBuckets {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  /** Non-empty buckets of positive values as [index, count], by ascending index. */
  positive: readonly (readonly [index: number, count: number])[];
  /** The same for negative values (bucket i holds −upper…−lower). */
  negative: readonly (readonly [index: number, count: number])[];
}

export interface MetricFamily {
  name: string;
  help: string;
  /** One of ours, or whatever a custom metric (prom-client's protocol) says. */
  type: MetricType | (string & {});
  labelNames: readonly string[];
  /** Positions into labelNames in the order to render them (default: labelNames order). */
  order?: readonly number[] | undefined;
  samples: Sample[];
}
