// Stand-in for src/adapters/hono.ts in the "without" build of the example Worker (see
// workers.ts): same export, no metrics, no flush — the baseline the middleware is measured by.
import type { Context, MiddlewareHandler } from "hono";
import type { PrometheusMiddleware, PrometheusOptions } from "../../src/adapters/hono.ts";
import { Registry } from "../../src/registry.ts";

export function prometheus(options: PrometheusOptions = {}): PrometheusMiddleware {
  const registerMetrics: MiddlewareHandler = async (_c, next) => {
    await next();
  };
  return Object.assign(registerMetrics, {
    registerMetrics,
    printMetrics: async (c: Context) => c.text("metrics are off in this build\n", 404),
    registry: options.registry ?? new Registry(),
  });
}
