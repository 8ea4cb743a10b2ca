export { DEFAULT_BUCKETS, exponentialBuckets, linearBuckets } from "./buckets.ts";
export {
  negotiateContentType,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
} from "./exposition/content-type.ts";
export { Counter, type CounterChild } from "./metrics/counter.ts";
export {
  Gauge,
  type GaugeAggregate,
  type GaugeChild,
  type GaugeConfiguration,
  INSTANCE_LABEL,
} from "./metrics/gauge.ts";
export {
  Histogram,
  type HistogramChild,
  type HistogramConfiguration,
} from "./metrics/histogram.ts";
export { Metric, type MetricConfiguration } from "./metrics/metric.ts";
export { Summary, type SummaryChild, type SummaryConfiguration } from "./metrics/summary.ts";
export {
  type FlushOptions,
  type FlushStats,
  globalRegistry,
  type MetricJSON,
  Registry,
  type RegistryOptions,
} from "./registry.ts";
export type { LabelValues, MetricFamily, MetricType, RedisClient, Sample } from "./types.ts";

import { globalRegistry } from "./registry.ts";

/** The default registry (prom-client's `register`). Attach a client with `register.setRedis()`. */
export const register = globalRegistry();
