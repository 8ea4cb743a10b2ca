// Stand-in for src/adapters/hono.ts in the "interval-0" build of the example Worker (see
// workers.ts): the real middleware with `flushIntervalMs: 0`, i.e. a write after every request
// (requests that end during a write share the next) — the behaviour before one write per
// interval, measured side by side with the default.
import {
  type PrometheusMiddleware,
  type PrometheusOptions,
  prometheus as realPrometheus,
} from "../../src/adapters/hono.ts";

export * from "../../src/adapters/hono.ts";

export function prometheus(options: PrometheusOptions = {}): PrometheusMiddleware {
  return realPrometheus({ ...options, flushIntervalMs: 0 });
}
