// prom-client's collectDefaultMetrics measures the Node process (CPU, heap, event loop lag, file
// descriptors, GC). None of that exists in a Worker isolate, and in a serverless function it
// describes one short-lived instance of hundreds, not the service: summed or maxed across
// instances it means nothing. So here it is a no-op that says so once, and code migrating from
// prom-client keeps running.

/** prom-client's configuration (accepted and ignored). */
export interface DefaultMetricsCollectorConfiguration {
  register?: unknown;
  prefix?: string;
  gcDurationBuckets?: number[];
  eventLoopMonitoringPrecision?: number;
  labels?: object;
}

let warned = false;

function collectDefaultMetricsImpl(config?: DefaultMetricsCollectorConfiguration | null): void {
  if (config !== null && config !== undefined && typeof config !== "object") {
    throw new TypeError("config must be null, undefined, or an object");
  }
  if (warned) return;
  warned = true;
  console.warn(
    "prometheus-upstash: collectDefaultMetrics() does nothing: process metrics of one " +
      "serverless instance say nothing about the service (see the README's migration notes)",
  );
}

/** A no-op that warns once (see above); `metricsList` is empty. */
export const collectDefaultMetrics: typeof collectDefaultMetricsImpl & {
  readonly metricsList: readonly string[];
} = Object.assign(collectDefaultMetricsImpl, {
  metricsList: Object.freeze([]) as readonly string[],
});
