// prometheus-upstash/hono: a drop-in for @hono/prometheus whose values live in Redis, so every
// isolate adds into the same series. `registerMetrics` records each request in memory and hands
// one flush to the platform's `waitUntil` (no Redis round trip before the response);
// `printMetrics` serves the global values.
import { Redis } from "@upstash/redis";
import type { Context, MiddlewareHandler } from "hono";
import { env } from "hono/adapter";
import { routePath } from "hono/route";
import { isolated } from "../callbacks.ts";
import {
  collectDefaultMetrics,
  type DefaultMetricsCollectorConfiguration,
} from "../default-metrics.ts";
import { reportOnce } from "../errors.ts";
import { waitUntilInterval } from "../flush/schedule.ts";
import { Counter } from "../metrics/counter.ts";
import { Histogram, type HistogramConfiguration } from "../metrics/histogram.ts";
import type { MetricConfiguration } from "../metrics/metric.ts";
import { Registry } from "../registry.ts";
import type { RedisClient } from "../types.ts";
import { metricsResponse, misconfigured } from "./metrics-endpoint.ts";

/**
 * Extra labels: label name → its value from the context. A value that is not text is written
 * as prom-client would (null as "null", numbers as digits); undefined leaves the label empty.
 */
type CustomLabels = Record<string, (c: Context) => string | number | null | undefined>;

interface CommonMetricOptions {
  /** Leave this metric out. */
  disabled?: boolean;
  /** Extra labels, evaluated after the handler ran: label name → value from the context. */
  customLabels?: CustomLabels;
  name?: string;
  help?: string;
}

/**
 * Options of the standard metrics; `registers` are registries to add them to as well (of the
 * registry's prefix: a metric has one destination).
 */
export interface MetricOptions {
  requestDuration?: CommonMetricOptions &
    Partial<Omit<HistogramConfiguration<string>, "labelNames">>;
  requestsTotal?: CommonMetricOptions & Partial<Omit<MetricConfiguration<string>, "labelNames">>;
}

export interface PrometheusOptions {
  /** Where the metrics live. Default: a new Registry (Redis key prefix "prom"). */
  registry?: Registry;
  /** Prepended to the standard metric names (as in @hono/prometheus). */
  prefix?: string;
  metricOptions?: MetricOptions;
  /** @hono/prometheus's option: prom-client's process metrics, which an isolate has none of. */
  collectDefaultMetrics?: boolean | DefaultMetricsCollectorConfiguration;
  /**
   * Bearer token `printMetrics` requires; a function can read it from the Worker env,
   * e.g. `(c) => c.env.METRICS_TOKEN`. Without this option /metrics is open. An option that
   * yields nothing (`undefined` or `""`: the secret is not set) answers 500 and tells
   * `onError`, never the values; `null` says "open" on purpose.
   */
  token?: string | null | ((c: Context) => string | null | undefined);
  /**
   * The Redis client, when the registry has none: a client, or a function of the context.
   * Default: made from `UPSTASH_REDIS_REST_URL` / `UPSTASH_REDIS_REST_TOKEN` on the first
   * request, read from the Worker bindings (`c.env`) or else the runtime's environment
   * (`process.env` on Node, Bun and Vercel, `Deno.env`).
   */
  redis?: RedisClient | ((c: Context) => RedisClient | undefined);
  /**
   * Flush after every request (default true). Set false when something else flushes, e.g.
   * `startAutoFlush` from prometheus-upstash/node in a long-lived server.
   */
  flushAfterRequest?: boolean;
  /**
   * Least time (ms) between two writes of this isolate. Each request's flush (in `waitUntil`,
   * after the response) waits for the next write, which serves every request of the interval:
   * one write per busy isolate per interval instead of one per request. Default: the
   * registry's `flushIntervalMs`, else 5000. 0: a write after every request (requests that end
   * while one is under way share the next).
   */
  flushIntervalMs?: number;
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

/**
 * `{ registerMetrics, printMetrics, registry }`. It is also the recording middleware itself,
 * so `app.use("*", prometheus(...))` — as one snippet of @hono/prometheus's README writes it —
 * records requests too.
 */
export interface PrometheusMiddleware extends MiddlewareHandler {
  registerMetrics: MiddlewareHandler;
  printMetrics: (c: Context) => Promise<Response>;
  /** The registry the middleware records into (add your own metrics to it). */
  registry: Registry;
}

export function prometheus(options: PrometheusOptions = {}): PrometheusMiddleware {
  const registry = options.registry ?? new Registry();
  const report = isolated(options.onError ?? reportOnce, () => registry.countCallbackError());
  const durationLabels = options.metricOptions?.requestDuration?.customLabels ?? {};
  const totalLabels = options.metricOptions?.requestsTotal?.customLabels ?? {};
  const flushIntervalMs = waitUntilInterval(options.flushIntervalMs, registry.flushIntervalMs);

  if (!registry.hasRedis && options.redis !== undefined && typeof options.redis !== "function") {
    registry.setRedis(options.redis);
  }
  if (options.collectDefaultMetrics) {
    collectDefaultMetrics(
      typeof options.collectDefaultMetrics === "object" ? options.collectDefaultMetrics : {},
    );
  }

  const requestDuration = standardMetric("requestDuration", options, registry);
  const requestsTotal = standardMetric("requestsTotal", options, registry);

  const attachRedis = (c: Context): void => {
    if (registry.hasRedis) return;
    const client =
      typeof options.redis === "function"
        ? options.redis(c)
        : (redisFromEnv(c.env as unknown) ?? redisFromEnv(runtimeEnv(c)));
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
        requestDuration?.observe({ ...common, ...evaluate(durationLabels, c, report) }, seconds);
        requestsTotal?.inc({ ...common, ...evaluate(totalLabels, c, report) });
        if (options.flushAfterRequest !== false) {
          attachRedis(c);
          scheduleFlush(
            c,
            registry.flush({ intervalMs: flushIntervalMs }),
            options.waitUntil,
            report,
          );
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

  return Object.assign(registerMetrics, { registerMetrics, printMetrics, registry });
}

/** The two metrics of @hono/prometheus, made from one table as it makes them. */
const STANDARD_METRICS = {
  requestDuration: {
    name: "http_request_duration_seconds",
    help: "Duration of HTTP requests in seconds",
    make: (config: HistogramConfiguration<string>) =>
      // Native buckets beside the classic ones: text and OpenMetrics scrapes see the same,
      // a Prometheus that asks for protobuf gets exact-resolution merged histograms too.
      new Histogram({ buckets: HONO_DURATION_BUCKETS, native: true, ...config }),
  },
  requestsTotal: {
    name: "http_requests_total",
    help: "Total number of HTTP requests",
    make: (config: MetricConfiguration<string>) => new Counter(config),
  },
};

type Standard = typeof STANDARD_METRICS;

/** One standard metric with its options applied; undefined when it is disabled. */
function standardMetric<K extends keyof Standard>(
  key: K,
  options: PrometheusOptions,
  registry: Registry,
): ReturnType<Standard[K]["make"]> | undefined {
  const o: CommonMetricOptions & Partial<MetricConfiguration<string>> =
    options.metricOptions?.[key] ?? {};
  if (o.disabled) return undefined;
  const { name, help, make } = STANDARD_METRICS[key];
  return make({
    ...withoutAdapterOptions(o),
    name: `${options.prefix ?? ""}${o.name ?? name}`,
    help: o.help ?? help,
    labelNames: labelNamesWith(o.customLabels ?? {}),
    registers: [...(o.registers ?? []), registry],
  }) as ReturnType<Standard[K]["make"]>;
}

/** The standard labels, then the custom ones; a custom label named like a standard one replaces it. */
function labelNamesWith(custom: CustomLabels): string[] {
  const names: string[] = [...STANDARD_LABELS];
  for (const name of Object.keys(custom)) if (!names.includes(name)) names.push(name);
  return names;
}

/** Hands the flush to the platform so it outlives the response; never awaited here. */
function scheduleFlush(
  c: Context,
  flush: Promise<void>,
  waitUntil: PrometheusOptions["waitUntil"],
  report: (error: unknown) => void,
): void {
  const flushing = flush.catch(report);
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

/**
 * The custom labels' values. A request is never lost to a label: a function that throws is
 * reported and leaves its label empty, and any value is written as prom-client would write it.
 */
function evaluate(
  labels: CustomLabels,
  c: Context,
  report: (error: unknown) => void,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, fn] of Object.entries(labels)) {
    try {
      const value: unknown = fn(c);
      if (value !== undefined) out[name] = typeof value === "string" ? value : String(value);
    } catch (error) {
      report(error);
    }
  }
  return out;
}

function withoutAdapterOptions<T extends CommonMetricOptions>(
  o: T,
): Omit<T, keyof CommonMetricOptions> {
  const { disabled: _d, customLabels: _c, name: _n, help: _h, ...rest } = o;
  return rest;
}

/** The runtime's environment variables (hono's env(): process.env, Deno.env, …), if readable. */
function runtimeEnv(c: Context): unknown {
  try {
    return env(c);
  } catch {
    return undefined; // e.g. Deno without --allow-env
  }
}

/** A client from Worker bindings or environment variables, when both are there. */
function redisFromEnv(env: unknown): RedisClient | undefined {
  if (env === null || typeof env !== "object") return undefined;
  const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = env as Record<
    string,
    unknown
  >;
  if (typeof url !== "string" || typeof token !== "string" || !url || !token) return undefined;
  return new Redis({ url, token });
}
