// The Hono middleware's two metrics (prometheus-upstash/hono's defaults), defined in a registry
// of the benchmark's own, so a benchmark can fill Redis with the series the middleware writes
// without driving requests through a Worker.
import { HONO_DURATION_BUCKETS } from "../../src/adapters/hono.ts";
import { Counter, Histogram, type Registry } from "../../src/index.ts";

/** The middleware's label names (@hono/prometheus's). */
export const HONO_LABELS = ["method", "status", "ok", "route"] as const;

export function honoMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: "http_requests_total",
      help: "Total number of HTTP requests",
      labelNames: HONO_LABELS,
      registers: [registry],
    }),
    duration: new Histogram({
      name: "http_request_duration_seconds",
      help: "Duration of HTTP requests in seconds",
      labelNames: HONO_LABELS,
      buckets: HONO_DURATION_BUCKETS,
      native: true,
      registers: [registry],
    }),
  };
}
