import { isolated } from "./callbacks.ts";
import { provideDefaultRegistry } from "./default-registry.ts";
import {
  negotiateContentType,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
} from "./exposition/content-type.ts";
import { render } from "./exposition/render.ts";
import { emptyFlushStats, Flusher, type FlushStats } from "./flush/flusher.ts";
import {
  type ReliabilityOptions,
  type ResolvedReliability,
  resolveReliability,
} from "./flush/options.ts";
import { SELF_METRIC_PREFIX, SelfMetrics } from "./flush/self-metrics.ts";
import { sleep, withTimeout } from "./flush/timeout.ts";
import { SeriesLimits } from "./limits.ts";
import type { Metric } from "./metrics/metric.ts";
import { assertExposable, validDefaultLabels } from "./names.ts";
import type { Snapshot } from "./snapshot.ts";
import { drainAll } from "./store/encode.ts";
import { RedisStore } from "./store/redis-store.ts";
import type { MetricFamily, RedisClient } from "./types.ts";

export type { FlushStats } from "./flush/flusher.ts";

/**
 * Options of a registry. The reliability options (timeouts, retries, bounds, self-metrics) are
 * documented on ReliabilityOptions; every one has a default that suits a serverless isolate.
 */
export interface RegistryOptions extends ReliabilityOptions {
  /** An @upstash/redis client; may also be attached later with setRedis(). */
  redis?: RedisClient;
  /** Namespace of every key in Redis, so apps sharing a database never meet. Default "prom". */
  prefix?: string;
  /**
   * Names this isolate/process in its gauge values (the `instance_id` label of `perInstance`
   * gauges). Default: random, made on first flush. At most 256 characters, no whitespace.
   */
  instanceId?: string;
  /**
   * Called with every flush failure (after its retries) and every drop of unwritten updates;
   * the handler never sees these errors. Default: console.error. A throw (or a rejected
   * promise) from it is swallowed and counted in `stats.callbackErrors`.
   */
  onError?: (error: unknown) => void;
}

export class Registry {
  static readonly PROMETHEUS_CONTENT_TYPE = PROMETHEUS_CONTENT_TYPE;
  static readonly OPENMETRICS_CONTENT_TYPE = OPENMETRICS_CONTENT_TYPE;

  readonly prefix: string;
  readonly stats: FlushStats = emptyFlushStats();
  private readonly reliability: ResolvedReliability;
  private readonly self: SelfMetrics | undefined;
  private readonly flusher: Flusher;
  private readonly limits: SeriesLimits;
  private readonly metricsByName = new Map<string, Metric>();
  private store: RedisStore | undefined;
  private defaultLabels: Record<string, string> = {};
  private type: string = PROMETHEUS_CONTENT_TYPE;
  private instance: string | undefined;
  /** Random id this registry numbers its batches under (never user-given: see flusher.ts). */
  private writer: string | undefined;
  private readonly onError: (error: unknown) => void;
  /** A flush is under way; they run one at a time (the flusher's queue is not shared). */
  private flushing = false;
  private flushesStarted = 0;
  private flushesFinished = 0;

  constructor(options: RegistryOptions = {}) {
    const prefix = options.prefix ?? "prom";
    if (!prefix || /[{}]/.test(prefix)) {
      throw new Error(`Invalid registry prefix ${JSON.stringify(prefix)}: non-empty, no braces`);
    }
    this.prefix = prefix;
    if (options.instanceId !== undefined) validateInstanceId(options.instanceId);
    this.instance = options.instanceId;
    this.onError = isolated(options.onError ?? defaultOnError, () => this.countCallbackError());
    this.reliability = resolveReliability(options);
    this.self = this.reliability.selfMetrics ? new SelfMetrics() : undefined;
    this.flusher = new Flusher(
      this.reliability,
      this.stats,
      this.self,
      (e) => this.onError(e),
      () => {
        // Gauges hold this instance's truth: write all of them again with the next flush.
        for (const m of this.metricsByName.values()) m.unwritten();
      },
    );
    this.limits = new SeriesLimits(
      this.reliability.maxSeriesPerMetric,
      this.reliability.maxSeriesBytes,
      // a single series must fit in a request with room to spare
      Math.floor(this.reliability.maxRequestBytes / 4),
      (n) => this.flusher.countDropped("series_limit", n),
    );
    if (options.redis) this.setRedis(options.redis);
  }

  /** A callback given to this registry or its adapters threw: swallowed, counted here. */
  countCallbackError(): void {
    this.stats.callbackErrors++;
  }

  /** Attaches (or replaces) the Redis client — the seed's `REGISTRY.set_redis`. */
  setRedis(redis: RedisClient): void {
    this.store = new RedisStore(redis, this.prefix);
  }

  get hasRedis(): boolean {
    return this.store !== undefined;
  }

  get contentType(): string {
    return this.type;
  }

  setContentType(type: string): void {
    if (type !== PROMETHEUS_CONTENT_TYPE && type !== OPENMETRICS_CONTENT_TYPE) {
      throw new Error(`Content type ${type} is unsupported`);
    }
    this.type = type;
  }

  /** This isolate's id in gauge keys (random, made lazily: Workers forbid randomness at startup). */
  get instanceId(): string {
    this.instance ??= randomId(8);
    return this.instance;
  }

  registerMetric(metric: Metric): void {
    if (this.self !== undefined && metric.name.startsWith(SELF_METRIC_PREFIX)) {
      throw new Error(
        `Metric names starting with ${SELF_METRIC_PREFIX} are reserved for this library's ` +
          `self-metrics (${metric.name}); pass selfMetrics: false to use them yourself`,
      );
    }
    const existing = this.metricsByName.get(metric.name);
    if (existing !== undefined && existing !== metric) {
      throw new Error(`A metric with the name ${metric.name} has already been registered.`);
    }
    if (existing === undefined) assertExposable(this.metricsByName.values(), metric);
    this.metricsByName.set(metric.name, metric);
    metric.useLimits(this.limits);
  }

  getSingleMetric(name: string): Metric | undefined {
    return this.metricsByName.get(name);
  }

  getMetricsAsArray(): Metric[] {
    return [...this.metricsByName.values()];
  }

  removeSingleMetric(name: string): void {
    this.metricsByName.delete(name);
  }

  clear(): void {
    this.metricsByName.clear();
    this.defaultLabels = {};
  }

  setDefaultLabels(labels: Record<string, string | number>): void {
    this.defaultLabels = validDefaultLabels(labels);
  }

  /** Deletes every metric's stored values for all instances on the next flush. */
  resetMetrics(): void {
    for (const m of this.metricsByName.values()) m.reset();
  }

  /**
   * Sends every pending delta in one request. Never rejects because Redis failed: failures go
   * to `onError` and `stats`. Flushes run one at a time; all calls made while one is under way
   * are served by a single follow-up flush, so concurrent requests in one isolate share requests.
   */
  async flush(): Promise<void> {
    // This call is served by any flush that starts from now on: the next one to start.
    const needed = this.flushesStarted + 1;
    // Wait by polling, never by awaiting the running flush's promise: on Workers that promise
    // settles in another request's context, and workerd cancels this request's continuations
    // (its waitUntil would never settle) once that request has completed.
    for (let wait = 1; this.flushesFinished < needed; wait = Math.min(wait * 2, 50)) {
      if (!this.flushing) {
        this.flushing = true;
        this.flushesStarted++;
        try {
          await this.flushNow();
        } finally {
          this.flushing = false;
          this.flushesFinished = this.flushesStarted;
        }
        return;
      }
      await sleep(wait);
    }
  }

  private async flushNow(): Promise<void> {
    if (this.store === undefined) {
      // A configuration error, not a Redis failure: say so loudly, once per flush.
      const parts = drainAll(this.metricsByName.values(), "", Date.now(), Number.POSITIVE_INFINITY);
      if (parts.length === 0) return;
      this.flusher.countDropped(
        "no_redis",
        parts.reduce((n, p) => n + p.updates, 0),
      );
      throw new Error(
        "prometheus-upstash: this registry has no Redis client; pass { redis } or call setRedis()",
      );
    }
    this.writer ??= randomId(12);
    await this.flusher.flush(this.store, this.metricsByName.values(), this.instanceId, this.writer);
  }

  /** Reads the global values of every metric in one request and renders them. */
  async metrics(contentType: string = this.type): Promise<string> {
    const families = await this.collect();
    return render(
      families,
      contentType === OPENMETRICS_CONTENT_TYPE ? "openmetrics" : "text",
      this.defaultLabels,
    );
  }

  async getSingleMetricAsString(name: string): Promise<string> {
    const metric = this.metricsByName.get(name);
    if (!metric) throw new Error(`No metric named ${name}`);
    return render(await this.collect([metric]), "text", this.defaultLabels);
  }

  /** prom-client's JSON shape, with global values. */
  async getMetricsAsJSON(): Promise<MetricJSON[]> {
    const families = await this.collect();
    return families.map((f) => ({
      name: f.name,
      help: f.help,
      type: f.type,
      aggregator: "sum",
      values: f.samples.map((s) => {
        const labels: Record<string, string> = { ...this.defaultLabels };
        f.labelNames.forEach((n, i) => {
          if (s.values[i]) labels[n] = s.values[i]!;
        });
        if (s.extra) labels[s.extra[0]] = s.extra[1];
        return { value: s.value, labels, ...(s.suffix ? { metricName: f.name + s.suffix } : {}) };
      }),
    }));
  }

  /** Reads every value in one request; the families of `only`, or of all metrics. */
  private async collect(only?: readonly Metric[]): Promise<MetricFamily[]> {
    if (this.store === undefined) {
      throw new Error("prometheus-upstash: this registry has no Redis client; call setRedis()");
    }
    const snapshot = await withTimeout(this.store.read(), this.reliability.timeoutMs, "a scrape");
    const families = (only ?? this.getMetricsAsArray()).map((m) => familyOf(m, snapshot));
    // Self-metrics show once some instance has written one: a healthy app's exposition is
    // exactly its own metrics, and any failure anywhere makes them appear.
    if (only === undefined) {
      for (const m of this.self?.metrics ?? []) {
        if (snapshot.counter(m.name).size > 0) families.push(familyOf(m, snapshot));
      }
    }
    return families;
  }
}

function familyOf(m: Metric, snapshot: Snapshot): MetricFamily {
  return {
    name: m.name,
    help: m.help,
    type: m.type,
    labelNames: m.labelNames,
    samples: m.collect(snapshot),
  };
}

export interface MetricJSON {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: { value: number; labels: Record<string, string>; metricName?: string }[];
}

function randomId(size: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(size));
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function defaultOnError(error: unknown): void {
  console.error(
    "prometheus-upstash: flush failed:",
    error instanceof Error ? error.message : error,
  );
}

let defaultRegistry: Registry | undefined;

/** The global registry metrics join when they name no `registers`. */
export function globalRegistry(): Registry {
  defaultRegistry ??= new Registry();
  return defaultRegistry;
}

provideDefaultRegistry(globalRegistry);

/**
 * An instance id ends up in a hash field and a label value: printable, no whitespace, no lone
 * surrogate (two ids differing only there would be one instance_id on the wire).
 */
function validateInstanceId(id: unknown): void {
  if (typeof id !== "string" || !/^[^\s\p{Cc}\p{Cs}]{1,256}$/u.test(id)) {
    throw new Error(
      `Invalid instanceId ${JSON.stringify(id)}: 1 to 256 characters, no whitespace, controls or lone surrogates`,
    );
  }
}

export { negotiateContentType };
