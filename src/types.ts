import type { Redis } from "@upstash/redis";

/** The @upstash/redis client (or anything with the same `eval` and `evalsha`). */
export type RedisClient = Pick<Redis, "eval" | "evalsha">;

export type MetricType = "counter" | "gauge" | "histogram" | "summary";

export type LabelValues<T extends string> = Partial<Record<T, string | number>>;

/** One rendered series: label values line up with the family's labelNames. */
export interface Sample {
  /** Appended to the family name: "", "_bucket", "_sum", "_count". */
  suffix: string;
  values: readonly string[];
  /** A label the metric type adds itself: le, quantile, instance_id. */
  extra?: readonly [name: string, value: string];
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  labelNames: readonly string[];
  samples: Sample[];
}
