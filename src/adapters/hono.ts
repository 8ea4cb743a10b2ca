// prometheus-upstash/hono: a drop-in for @hono/prometheus whose values live in Redis, so every
// isolate adds into the same series. `registerMetrics` records each request in memory and hands
// one flush to the platform's `waitUntil` (no Redis round trip before the response);
// `printMetrics` serves the global values.
import { Redis } from "@upstash/redis";
import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { isolated } from "../callbacks.ts";
import { Counter } from "../metrics/counter.ts";
import { Histogram, type HistogramConfiguration } from "../metrics/histogram.ts";
import type { MetricConfiguration } from "../metrics/metric.ts";
import { Registry } from "../registry.ts";
import type { RedisClient } from "../types.ts";
import { metricsResponse, misconfigured } from "./metrics-endpoint.ts";

type CustomLabels = Record<string, (c: Context) => string>;

interface CommonMetricOptions {
  /** Leave this metric out. */
  disabled?: boolean;
  /** Extra labels, evaluated after the handler ran: label name → value from the context. */
  customLabels?: CustomLabels;
  name?: string;
  help?: string;
}

export interface MetricOptions {
  requestDuration?: CommonMetricOptions &
    Partial<Omit<HistogramConfiguration<string>, "labelNames" | "registers">>;
  requestsTotal?: CommonMetricOptions &
    Partial<Omit<MetricConfiguration<string>, "labelNames" | "registers">>;
}

export interface PrometheusOptions {
  /** Where the metrics live. Default: a new Registry (Redis key prefix "prom"). */
  registry?: Registry;
  /** Prepended to the standard metric names (as in @hono/prometheus). */
  prefix?: string;
  metricOptions?: MetricOptions;
  /**
   * Bearer token `printMetrics` requires; a function can read it from the Worker env,
   * e.g. `(c) => c.env.METRICS_TOKEN`. Without this option /metrics is open. An option that
   * yields nothing (`undefined` or `""`: the secret is not set) answers 500 and tells
   * `onError`, never the values; `null` says "open" on purpose.
   */
  token?: string | null | ((c: Context) => string | null | undefined);
  /**
   * The Redis client, when the registry has none: a client, or a function of the context.
   * Default: made from `c.env.UPSTASH_REDIS_REST_URL` / `UPSTASH_REDIS_REST_TOKEN` on the
   * first request.
   */
  redis?: RedisClient | ((c: Context) => RedisClient | undefined);
  /**
   * Flush after every request (default true). Set false when something else flushes, e.g.
   * `startAutoFlush` from prometheus-upstash/node in a long-lived server.
   */
  flushAfterRequest?: boolean;
  /**
   * Runs the flush past the response. Default: `c.executionCtx.waitUntil` when there is an
   * execution context (Workers), otherwise the flush simply runs in the background.
   */
  waitUntil?: (promise: Promise<unknown>, c: Context) => void;
  /** Told about failures of the middleware's own work (labels, scrapes). Default: console.error. */
  onError?: (error: unknown) => void;
}

/** The label names and buckets @hono/prometheus uses, so dashboards carry over. */
const STANDARD_LABELS = ["method", "status", "ok", "route"] as const;
export const HONO_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

export interface PrometheusMiddleware {
  registerMetrics: MiddlewareHandler;
  printMetrics: (c: Context) => Promise<Response>;
  /** The registry the middleware records into (add your own metrics to it). */
  registry: Registry;
}

export function prometheus(options: PrometheusOptions = {}): PrometheusMiddleware {
  const registry = options.registry ?? new Registry();
  const prefix = options.prefix ?? "";
  const report = isolated(options.onError ?? reportError, () => registry.countCallbackError());
  const durationOptions = options.metricOptions?.requestDuration ?? {};
  const totalOptions = options.metricOptions?.requestsTotal ?? {};
  const durationLabels = durationOptions.customLabels ?? {};
  const totalLabels = totalOptions.customLabels ?? {};

  if (!registry.hasRedis && options.redis !== undefined && typeof options.redis !== "function") {
    registry.setRedis(options.redis);
  }

  const requestDuration = durationOptions.disabled
    ? undefined
    : new Histogram({
        buckets: HONO_DURATION_BUCKETS,
        ...withoutAdapterOptions(durationOptions),
        name: `${prefix}${durationOptions.name ?? "http_request_duration_seconds"}`,
        help: durationOptions.help ?? "Duration of HTTP requests in seconds",
        labelNames: [...STANDARD_LABELS, ...Object.keys(durationLabels)],
        registers: [registry],
      });
  const requestsTotal = totalOptions.disabled
    ? undefined
    : new Counter({
        ...withoutAdapterOptions(totalOptions),
        name: `${prefix}${totalOptions.name ?? "http_requests_total"}`,
        help: totalOptions.help ?? "Total number of HTTP requests",
        labelNames: [...STANDARD_LABELS, ...Object.keys(totalLabels)],
        registers: [registry],
      });

  const attachRedis = (c: Context): void => {
    if (registry.hasRedis) return;
    const client =
      typeof options.redis === "function" ? options.redis(c) : redisFromEnv(c.env as unknown);
    if (client !== undefined) registry.setRedis(client);
  };

  const registerMetrics: MiddlewareHandler = async (c, next) => {
    const start = performance.now();
    let threw = false;
    try {
      await next();
    } catch (error) {
      threw = true;
      throw error;
    } finally {
      // Metrics must never break the response: anything failing here is reported, not thrown.
      try {
        const status = threw ? 500 : c.res.status;
        const common = {
          method: c.req.method,
          // The matched pattern ("/users/:id"), never the raw path: bounded cardinality.
          route: routePath(c),
          status: String(status),
          ok: String(status >= 200 && status < 300),
        };
        const seconds = (performance.now() - start) / 1000;
        requestDuration?.observe({ ...common, ...evaluate(durationLabels, c) }, seconds);
        requestsTotal?.inc({ ...common, ...evaluate(totalLabels, c) });
        if (options.flushAfterRequest !== false) {
          attachRedis(c);
          scheduleFlush(c, registry, options.waitUntil, report);
        }
      } catch (error) {
        report(error);
      }
    }
  };

  const printMetrics = async (c: Context): Promise<Response> => {
    let token: string | null | undefined;
    try {
      attachRedis(c);
      token = typeof options.token === "function" ? options.token(c) : options.token;
    } catch (error) {
      report(error); // a throwing token or redis option: misconfigured, never open
      return misconfigured();
    }
    const auth = "token" in options ? { token } : {};
    return metricsResponse(registry, c.req.raw, { ...auth, onError: report });
  };

  return { registerMetrics, printMetrics, registry };
}

/** Hands the flush to the platform so it outlives the response; never awaited here. */
function scheduleFlush(
  c: Context,
  registry: Registry,
  waitUntil: PrometheusOptions["waitUntil"],
  report: (error: unknown) => void,
): void {
  const flushing = registry.flush().catch(report);
  if (waitUntil !== undefined) {
    waitUntil(flushing, c);
    return;
  }
  let ctx: { waitUntil(promise: Promise<unknown>): void } | undefined;
  try {
    ctx = c.executionCtx; // throws outside Workers-like runtimes
  } catch {
    ctx = undefined;
  }
  ctx?.waitUntil(flushing);
}

function evaluate(labels: CustomLabels, c: Context): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, fn] of Object.entries(labels)) out[name] = fn(c);
  return out;
}

function withoutAdapterOptions<T extends CommonMetricOptions>(
  o: T,
): Omit<T, keyof CommonMetricOptions> {
  const { disabled: _d, customLabels: _c, name: _n, help: _h, ...rest } = o;
  return rest;
}

/** A client from Worker bindings, when both are there. */
function redisFromEnv(env: unknown): RedisClient | undefined {
  if (env === null || typeof env !== "object") return undefined;
  const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = env as Record<
    string,
    unknown
  >;
  if (typeof url !== "string" || typeof token !== "string" || !url || !token) return undefined;
  return new Redis({ url, token });
}

function reportError(error: unknown): void {
  console.error("prometheus-upstash/hono:", error instanceof Error ? error.message : error);
}
