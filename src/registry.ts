import type { Drainable } from "./batch.ts";
import { isolated } from "./callbacks.ts";
import {
  type CustomMetric,
  type CustomMetricData,
  customFamily,
  isCustomMetric,
} from "./custom-metric.ts";
import { provideDefaultRegistry } from "./default-registry.ts";
import {
  negotiateContentType,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
} from "./exposition/content-type.ts";
import { type MetricObjectWithValues, metricObject } from "./exposition/json.ts";
import { encodeProtobuf } from "./exposition/protobuf.ts";
import { render, renderFamily } from "./exposition/render.ts";
import { emptyFlushStats, Flusher, type FlushStats } from "./flush/flusher.ts";
import {
  type ReliabilityOptions,
  type ResolvedReliability,
  resolveReliability,
} from "./flush/options.ts";
import { checkFlushInterval, WriteSchedule } from "./flush/schedule.ts";
import { SELF_METRIC_PREFIX, SelfMetrics } from "./flush/self-metrics.ts";
import { withTimeout } from "./flush/timeout.ts";
import { SeriesLimits } from "./limits.ts";
import { Metric, type MetricHome } from "./metrics/metric.ts";
import { assertExposable, validDefaultLabels } from "./names.ts";
import { LocalData, OverlaySnapshot } from "./overlay.ts";
import type { Snapshot } from "./snapshot.ts";
import { DecodedSnapshot } from "./store/decode.ts";
import { drainAll } from "./store/encode.ts";
import { RedisStore } from "./store/redis-store.ts";
import type { MetricFamily, RedisClient } from "./types.ts";

export type { FlushStats } from "./flush/flusher.ts";

/** What a registry holds: our metrics, or objects of prom-client's custom-metric protocol. */
export type RegisteredMetric = Metric | CustomMetric;

/** The content types a registry renders (prom-client's). */
export type RegistryContentType = typeof PROMETHEUS_CONTENT_TYPE | typeof OPENMETRICS_CONTENT_TYPE;

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
  /**
   * Least time (ms) between the starts of two writes of this isolate: a `flush()` within it of
   * the last write waits for the next one, which serves every call of the interval. 0: a write
   * as soon as the one under way (if any) has finished. Default: the adapter's (Hono and Vercel
   * with waitUntil: 5000), else 0. See `flush()`.
   */
  flushIntervalMs?: number;
}

/** Options of one `flush()` call. */
export interface FlushOptions {
  /** This call's flush interval (ms); default the registry's `flushIntervalMs`, else 0. */
  intervalMs?: number;
}

export class Registry implements MetricHome {
  static readonly PROMETHEUS_CONTENT_TYPE = PROMETHEUS_CONTENT_TYPE;
  static readonly OPENMETRICS_CONTENT_TYPE = OPENMETRICS_CONTENT_TYPE;

  readonly prefix: string;
  readonly stats: FlushStats = emptyFlushStats();
  private readonly reliability: ResolvedReliability;
  private readonly self: SelfMetrics | undefined;
  private readonly flusher: Flusher;
  private readonly limits: SeriesLimits;
  private readonly metricsByName = new Map<string, RegisteredMetric>();
  private store: RedisStore | undefined;
  private redis: RedisClient | undefined;
  private defaultLabels: Record<string, string> = {};
  private type: RegistryContentType = PROMETHEUS_CONTENT_TYPE;
  private instance: string | undefined;
  /** Random id this registry numbers its batches under (never user-given: see flusher.ts). */
  private writer: string | undefined;
  private readonly onError: (error: unknown) => void;
  /** The `flushIntervalMs` option as given (undefined: the adapter's default applies). */
  readonly flushIntervalMs: number | undefined;
  /** When writes start and whom each one serves; they run one at a time. */
  private readonly schedule = new WriteSchedule(() => this.flushNow());

  /**
   * `new Registry({ redis, prefix, … })`, or prom-client's `new Registry(contentType)` (attach a
   * client later with setRedis()).
   */
  constructor(optionsOrContentType: RegistryOptions | string = {}) {
    const options = typeof optionsOrContentType === "string" ? {} : optionsOrContentType;
    if (typeof optionsOrContentType === "string") {
      if (!isContentType(optionsOrContentType)) {
        throw new TypeError(`Content type ${optionsOrContentType} is unsupported`);
      }
      this.type = optionsOrContentType;
    }
    const prefix = options.prefix ?? "prom";
    if (!prefix || /[{}]/.test(prefix)) {
      throw new Error(`Invalid registry prefix ${JSON.stringify(prefix)}: non-empty, no braces`);
    }
    this.prefix = prefix;
    if (options.instanceId !== undefined) validateInstanceId(options.instanceId);
    this.instance = options.instanceId;
    this.onError = isolated(options.onError ?? defaultOnError, () => this.countCallbackError());
    if (options.flushIntervalMs !== undefined) {
      checkFlushInterval("flushIntervalMs", options.flushIntervalMs);
    }
    this.flushIntervalMs = options.flushIntervalMs;
    this.reliability = resolveReliability(options);
    this.self = this.reliability.selfMetrics ? new SelfMetrics() : undefined;
    this.flusher = new Flusher(
      this.reliability,
      this.stats,
      this.self,
      (e) => this.onError(e),
      () => {
        // Gauges hold this instance's truth: write all of them again with the next flush.
        for (const m of this.ownMetrics()) m.unwritten(this.prefix);
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
    this.redis = redis;
    this.store = new RedisStore(redis, this.prefix);
  }

  get hasRedis(): boolean {
    return this.store !== undefined;
  }

  get contentType(): RegistryContentType {
    return this.type;
  }

  setContentType(type: string): void {
    if (!isContentType(type)) throw new Error(`Content type ${type} is unsupported`);
    this.type = type;
  }

  /** This isolate's id in gauge keys (random, made lazily: Workers forbid randomness at startup). */
  get instanceId(): string {
    this.instance ??= randomId(8);
    return this.instance;
  }

  /**
   * Takes one of our metrics, or a custom metric (prom-client's protocol: an object with get(),
   * rendered at scrape time by the instance serving the scrape). Every check runs before
   * anything changes: a refused metric leaves the registry as it was.
   */
  registerMetric(metric: RegisteredMetric): void {
    this.checkRegistration(metric);
    const name = nameOf(metric);
    if (this.metricsByName.get(name) === metric) return;
    this.metricsByName.set(name, metric);
    if (metric instanceof Metric) metric.attach(this, this.limits);
  }

  /** Throws what registerMetric would throw for `metric`, changing nothing. */
  checkRegistration(metric: unknown): asserts metric is RegisteredMetric {
    checkRegistrable(metric);
    const name = nameOf(metric);
    if (this.self !== undefined && name.startsWith(SELF_METRIC_PREFIX)) {
      throw new Error(
        `Metric names starting with ${SELF_METRIC_PREFIX} are reserved for this library's ` +
          `self-metrics (${name}); pass selfMetrics: false to use them yourself`,
      );
    }
    const existing = this.metricsByName.get(name);
    if (existing !== undefined && existing !== metric) {
      throw new Error(`A metric with the name ${name} has already been registered.`);
    }
    if (existing === undefined) {
      const named = (m: RegisteredMetric) => ({ name: nameOf(m), type: m.type });
      assertExposable([...this.metricsByName.values()].map(named), named(metric));
    }
  }

  getSingleMetric(name: string): RegisteredMetric | undefined {
    return this.metricsByName.get(name);
  }

  getMetricsAsArray(): RegisteredMetric[] {
    return [...this.metricsByName.values()];
  }

  removeSingleMetric(name: string): void {
    const metric = this.metricsByName.get(name);
    this.metricsByName.delete(name);
    if (metric instanceof Metric) metric.detach(this);
  }

  clear(): void {
    for (const m of this.ownMetrics()) m.detach(this);
    this.metricsByName.clear();
    this.defaultLabels = {};
  }

  /**
   * prom-client's Registry.merge: one registry holding the metrics of all of them. They must
   * share a content type and — since a prefix is where values live in Redis — a prefix; the
   * merged registry reads with the first Redis client among them.
   */
  static merge(registers: readonly Registry[]): Registry {
    const first = registers[0]!;
    for (const r of registers) {
      if (r.contentType !== first.contentType) {
        throw new Error("Registers can only be merged if they have the same content type");
      }
      if (r.prefix !== first.prefix) {
        throw new Error(
          `prometheus-upstash: registries can only be merged if they have the same prefix ` +
            `(${JSON.stringify(first.prefix)} and ${JSON.stringify(r.prefix)})`,
        );
      }
    }
    const redis = registers.find((r) => r.redis !== undefined)?.redis;
    const merged = new Registry({ prefix: first.prefix, ...(redis ? { redis } : {}) });
    merged.setContentType(first.contentType);
    for (const r of registers) for (const m of r.getMetricsAsArray()) merged.registerMetric(m);
    return merged;
  }

  setDefaultLabels(labels: Record<string, string | number>): void {
    this.defaultLabels = validDefaultLabels(labels);
  }

  /** Deletes every metric's stored values for all instances on the next flush. */
  resetMetrics(): void {
    for (const m of this.metricsByName.values()) m.reset?.();
  }

  /**
   * Sends every pending delta to Redis; resolves once a write holding everything recorded
   * before the call has been answered by Redis (or has failed, its data kept for the next
   * write). Never rejects because Redis failed: failures go to `onError` and `stats`.
   *
   * Writes run one at a time, at most one per interval (`intervalMs`, default the registry's
   * `flushIntervalMs`, else 0): a call within the interval of the last write waits for the
   * next, which serves all the calls of that interval. Waiting costs a timer and a few checks,
   * never another request's promise (see flush/schedule.ts).
   */
  flush(options: FlushOptions = {}): Promise<void> {
    return this.schedule.written(options.intervalMs ?? this.flushIntervalMs ?? 0);
  }

  private async flushNow(): Promise<void> {
    if (this.store === undefined) {
      // A configuration error, not a Redis failure: say so loudly, once per flush.
      const parts = drainAll(this.drainSources(), "", Date.now(), Number.POSITIVE_INFINITY);
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
    await this.flusher.flush(this.store, this.drainSources(), this.instanceId, this.writer);
  }

  /** What this registry's flush drains: its prefix's share of each of our metrics. */
  private *drainSources(): Generator<Drainable> {
    for (const m of this.ownMetrics()) yield m.share(this);
  }

  private *ownMetrics(): Generator<Metric> {
    for (const m of this.metricsByName.values()) if (m instanceof Metric) yield m;
  }

  /** Reads the global values of every metric in one request and renders them. */
  async metrics(contentType: string = this.type): Promise<string> {
    const collected = await this.collect();
    return render(
      collected.map((c) => c.family),
      contentType === OPENMETRICS_CONTENT_TYPE ? "openmetrics" : "text",
      this.defaultLabels,
    );
  }

  /**
   * Reads the global values of every metric in one request, in the Prometheus protobuf format
   * (`PROTOBUF_CONTENT_TYPE`, delimited MetricFamily messages): the only format that carries
   * native histogram buckets.
   */
  async metricsProtobuf(): Promise<Uint8Array<ArrayBuffer>> {
    const collected = await this.collect();
    return encodeProtobuf(
      collected.map((c) => c.family),
      this.defaultLabels,
    );
  }

  /**
   * @internal prometheus-upstash/remote-write's read: what a scrape renders (self-metrics
   * included), the default labels, and the Redis server's clock at the read (ms).
   */
  async collectForPush(): Promise<[MetricFamily[], Record<string, string>, number]> {
    const read = { now: 0 };
    const collected = await this.collect(undefined, read);
    return [collected.map((c) => c.family), this.defaultLabels, read.now];
  }

  /** One metric in the registry's content type, without a final newline (as prom-client). */
  async getSingleMetricAsString(name: string): Promise<string> {
    const metric = this.metricsByName.get(name);
    if (!metric) throw new Error(`No metric named ${name}`);
    const [collected] = await this.collect([metric]);
    const om = this.type === OPENMETRICS_CONTENT_TYPE;
    return renderFamily(collected!.family, om, this.defaultLabels).slice(0, -1);
  }

  /** prom-client's JSON shapes (le and quantile as numbers), with global values. */
  async getMetricsAsJSON(): Promise<MetricJSON[]> {
    const defaults = Object.entries(this.defaultLabels);
    return (await this.collect()).map(({ metric, family, custom }) => {
      // A custom metric's get() output goes out as it is, as in prom-client.
      const json =
        custom !== undefined
          ? ({ ...custom, values: custom.values?.map((v) => ({ ...v })) } as MetricJSON)
          : metricObject(family, metric instanceof Metric ? metric.aggregator : "sum");
      // prom-client adds default labels to values that lack them (or have them empty).
      for (const v of json.values ?? []) {
        v.labels = { ...v.labels };
        for (const [name, value] of defaults) v.labels[name] ||= value;
      }
      return json;
    });
  }

  /** The family a scrape renders for one metric (metric.get()). */
  async readMetric(metric: Metric): Promise<MetricFamily> {
    const [collected] = await this.collect([metric]);
    return collected!.family;
  }

  /**
   * Reads every value in one request; the families of `only`, or of all metrics. The collect()
   * options and custom metrics' get() run meanwhile on this instance; what collect() records
   * is shown on top of what was read (overlay.ts).
   */
  private async collect(
    only?: readonly RegisteredMetric[],
    read?: { now: number },
  ): Promise<Collected[]> {
    const metrics = only ?? this.getMetricsAsArray();
    // Custom metrics alone need no Redis (their values come from get()).
    const store = metrics.some((m) => m instanceof Metric) ? this.store : (this.store ?? NO_STORE);
    if (store === undefined) {
      throw new Error("prometheus-upstash: this registry has no Redis client; call setRedis()");
    }
    const collecting = metrics.filter((m): m is Metric => m instanceof Metric && m.hasCollect);
    const [stored, customs] = await withTimeout(
      Promise.all([
        store.read(),
        Promise.all(metrics.map((m) => (m instanceof Metric ? undefined : m.get()))),
        Promise.all(collecting.map((m) => m.runCollect())),
      ]),
      this.reliability.timeoutMs,
      "a scrape",
    );
    if (read) read.now = stored.now;
    let snapshot: Snapshot = stored;
    if (collecting.length > 0) {
      const local = new LocalData();
      for (const m of collecting) m.writeUnflushed(this.prefix, local);
      snapshot = new OverlaySnapshot(stored, local, this.instanceId);
    }
    const collected = metrics.map((metric, i): Collected => {
      if (metric instanceof Metric) return { metric, family: metric.family(snapshot) };
      const custom = customs[i]!;
      return { metric, family: customFamily(metric, custom), custom };
    });
    // Self-metrics show once some instance has written one: a healthy app's exposition is
    // exactly its own metrics, and any failure anywhere makes them appear.
    if (only === undefined) {
      for (const m of this.self?.metrics ?? []) {
        if (stored.counter(m.name).size > 0)
          collected.push({ metric: m, family: m.family(stored) });
      }
    }
    return collected;
  }
}

/** What a registry without Redis reads: nothing (it holds custom metrics only). */
const NO_STORE = { read: async (): Promise<Snapshot> => new DecodedSnapshot("#0") };

interface Collected {
  metric: RegisteredMetric;
  family: MetricFamily;
  /** What a custom metric's get() returned. */
  custom?: CustomMetricData;
}

export type MetricJSON = MetricObjectWithValues;

function isContentType(type: unknown): type is RegistryContentType {
  return type === PROMETHEUS_CONTENT_TYPE || type === OPENMETRICS_CONTENT_TYPE;
}

/** The name a metric is registered under (prom-client keys custom metrics by `name` too). */
function nameOf(metric: RegisteredMetric): string {
  return String(metric.name);
}

/** Ours, or a custom metric (anything with get()); anything else is refused before registration. */
function checkRegistrable(metric: unknown): asserts metric is RegisteredMetric {
  if (metric instanceof Metric || isCustomMetric(metric)) return;
  throw new TypeError(
    "registerMetric expects a metric of prometheus-upstash, or an object with a get() method " +
      "(prom-client's custom metrics)",
  );
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
