export { DEFAULT_BUCKETS, exponentialBuckets, linearBuckets } from "./buckets.ts";
export type { CustomMetric, CustomMetricData, CustomMetricValue } from "./custom-metric.ts";
export {
  collectDefaultMetrics,
  type DefaultMetricsCollectorConfiguration,
} from "./default-metrics.ts";
export { type ErrorCode, PrometheusUpstashError } from "./errors.ts";
export {
  negotiateContentType,
  OPENMETRICS_CONTENT_TYPE,
  OPENMETRICS_CONTENT_TYPE as openMetricsContentType,
  PROMETHEUS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE as prometheusContentType,
} from "./exposition/content-type.ts";
export type { MetricObjectWithValues, MetricValue } from "./exposition/json.ts";
export { Counter, type CounterChild, type CounterConfiguration } from "./metrics/counter.ts";
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
export {
  type Aggregator,
  type CollectFunction,
  Metric,
  type MetricConfiguration,
} from "./metrics/metric.ts";
export { Summary, type SummaryChild, type SummaryConfiguration } from "./metrics/summary.ts";
export {
  type FlushOptions,
  type FlushStats,
  globalRegistry,
  type MetricJSON,
  type RegisteredMetric,
  Registry,
  type RegistryContentType,
  type RegistryOptions,
  type StoreStats,
} from "./registry.ts";
export type { LabelValues, MetricFamily, MetricType, RedisClient, Sample } from "./types.ts";
export { validateLabelName, validateMetricName } from "./validation.ts";

import { globalRegistry } from "./registry.ts";

/** The default registry (prom-client's `register`). Attach a client with `register.setRedis()`. */
export const register = globalRegistry();
