import { isolated } from "./callbacks.ts";
import { isCustomMetric } from "./custom-metric.ts";
import { provideDefaultRegistry } from "./default-registry.ts";
import { reportOnce } from "./errors.ts";
import {
  negotiateContentType,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
} from "./exposition/content-type.ts";
import { type MetricObjectWithValues, metricObject } from "./exposition/json.ts";
import { encodeProtobuf } from "./exposition/protobuf.ts";
import { render, renderFamily } from "./exposition/render.ts";
import { type FlushStats, SELF_METRIC_PREFIX } from "./flush/account.ts";
import { type ReliabilityOptions, resolveReliability } from "./flush/options.ts";
import { checkFlushInterval } from "./flush/schedule.ts";
import { randomId, Writer } from "./flush/writer.ts";
import { SeriesLimits } from "./limits.ts";
import { Metric, type MetricHome } from "./metrics/metric.ts";
import { assertExposable, validDefaultLabels } from "./names.ts";
import { type Collected, Reader, type RegisteredMetric, type StoreStats } from "./reader.ts";
import { RedisStore, type StoreSettings } from "./store/redis-store.ts";
import type { MetricFamily, RedisClient } from "./types.ts";

export type { FlushStats } from "./flush/account.ts";
export type { RegisteredMetric, StoreStats } from "./reader.ts";

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

/**
 * prom-client's Registry over Redis: a catalog of metrics (ours and custom ones) with its
 * content type and default labels, in front of one writer (flush/writer.ts: flushes, retries,
 * every count) and one reader (reader.ts: scrapes) of its prefix.
 */
export class Registry implements MetricHome {
  static readonly PROMETHEUS_CONTENT_TYPE = PROMETHEUS_CONTENT_TYPE;
  static readonly OPENMETRICS_CONTENT_TYPE = OPENMETRICS_CONTENT_TYPE;

  readonly prefix: string;
  /** The `flushIntervalMs` option as given (undefined: the adapter's default applies). */
  readonly flushIntervalMs: number | undefined;
  readonly #writer: Writer;
  readonly #reader: Reader;
  /** What the store needs of the options: request bound, series TTL and bound. */
  readonly #settings: StoreSettings;
  readonly #limits: SeriesLimits;
  readonly #metricsByName = new Map<string, RegisteredMetric>();
  #store: RedisStore | undefined;
  #redis: RedisClient | undefined;
  #defaultLabels: Record<string, string> = {};
  #type: RegistryContentType = PROMETHEUS_CONTENT_TYPE;
  #instance: string | undefined;

  /**
   * `new Registry({ redis, prefix, … })`, or prom-client's `new Registry(contentType)` (attach a
   * client later with setRedis()).
   */
  constructor(optionsOrContentType: RegistryOptions | string = {}) {
    const options = typeof optionsOrContentType === "string" ? {} : optionsOrContentType;
    if (typeof optionsOrContentType === "string") {
      // prom-client throws a TypeError here and an Error from setContentType: so does this.
      if (!isContentType(optionsOrContentType)) {
        throw new TypeError(`Content type ${optionsOrContentType} is unsupported`);
      }
      this.#type = optionsOrContentType;
    }
    const prefix = options.prefix ?? "prom";
    if (!prefix || /[{}]/.test(prefix)) {
      throw new Error(
        `prometheus-upstash: Invalid registry prefix ${JSON.stringify(prefix)}: non-empty, no braces`,
      );
    }
    this.prefix = prefix;
    if (options.instanceId !== undefined) validateInstanceId(options.instanceId);
    this.#instance = options.instanceId;
    if (options.flushIntervalMs !== undefined) {
      checkFlushInterval("flushIntervalMs", options.flushIntervalMs);
    }
    this.flushIntervalMs = options.flushIntervalMs;
    const reliability = resolveReliability(options);
    this.#settings = reliability;
    const onError = isolated(options.onError ?? reportOnce, () => this.countCallbackError());
    const store = () => this.#store;
    const instanceId = () => this.instanceId;
    this.#writer = new Writer(
      reliability,
      {
        store,
        instanceId,
        drainables: () => this.#ownMetrics(),
        // Gauges hold this instance's truth: write all of them again with the next flush.
        lostWrite: () => {
          for (const m of this.#ownMetrics()) m.lostWrite();
        },
      },
      onError,
    );
    this.#reader = new Reader({
      store,
      instanceId,
      timeoutMs: reliability.timeoutMs,
      selfMetrics: this.#writer.account.selfMetrics,
    });
    this.#limits = new SeriesLimits(
      reliability.maxSeriesPerMetric,
      reliability.maxSeriesBytes,
      // a single series must fit in a request with room to spare
      Math.floor(reliability.maxRequestBytes / 4),
      (n) => this.#writer.account.dropped("series_limit", n),
    );
    if (options.redis) this.setRedis(options.redis);
  }

  /** What flushes did (the same counts the self-metrics carry). */
  get stats(): FlushStats {
    return this.#writer.account.stats;
  }

  /** What the last scrape read: how close this prefix is to the store's limits. */
  get storeStats(): StoreStats {
    return this.#reader.storeStats;
  }

  /** A callback given to this registry or its adapters threw: swallowed, counted here. */
  countCallbackError(): void {
    this.#writer.account.callbackError();
  }

  /** Attaches (or replaces) the Redis client — the seed's `REGISTRY.set_redis`. */
  setRedis(redis: RedisClient): void {
    this.#redis = redis;
    this.#store = new RedisStore(redis, this.prefix, this.#settings);
  }

  get hasRedis(): boolean {
    return this.#store !== undefined;
  }

  get contentType(): RegistryContentType {
    return this.#type;
  }

  setContentType(type: string): void {
    if (!isContentType(type)) throw new Error(`Content type ${type} is unsupported`);
    this.#type = type;
  }

  /** This isolate's id in gauge keys (random, made lazily: Workers forbid randomness at startup). */
  get instanceId(): string {
    this.#instance ??= randomId(8);
    return this.#instance;
  }

  /**
   * Takes one of our metrics, or a custom metric (prom-client's protocol: an object with get(),
   * rendered at scrape time by the instance serving the scrape). Every check runs before
   * anything changes: a refused metric leaves the registry as it was.
   */
  registerMetric(metric: RegisteredMetric): void {
    this.checkRegistration(metric);
    const name = nameOf(metric);
    if (this.#metricsByName.get(name) === metric) return;
    this.#metricsByName.set(name, metric);
    if (metric instanceof Metric) metric.attach(this, this.#limits);
  }

  /** Throws what registerMetric would throw for `metric`, changing nothing. */
  checkRegistration(metric: unknown): asserts metric is RegisteredMetric {
    checkRegistrable(metric);
    if (metric instanceof Metric) metric.checkDestination(this.prefix);
    const name = nameOf(metric);
    if (this.#writer.account.selfMetrics.length > 0 && name.startsWith(SELF_METRIC_PREFIX)) {
      throw new Error(
        `prometheus-upstash: Metric names starting with ${SELF_METRIC_PREFIX} are reserved for this library's ` +
          `self-metrics (${name}); pass selfMetrics: false to use them yourself`,
      );
    }
    const existing = this.#metricsByName.get(name);
    if (existing !== undefined && existing !== metric) {
      throw new Error(`A metric with the name ${name} has already been registered.`);
    }
    if (existing === undefined) {
      const named = (m: RegisteredMetric) => ({ name: nameOf(m), type: m.type });
      assertExposable([...this.#metricsByName.values()].map(named), named(metric));
    }
  }

  getSingleMetric(name: string): RegisteredMetric | undefined {
    return this.#metricsByName.get(name);
  }

  getMetricsAsArray(): RegisteredMetric[] {
    return [...this.#metricsByName.values()];
  }

  removeSingleMetric(name: string): void {
    const metric = this.#metricsByName.get(name);
    this.#metricsByName.delete(name);
    if (metric instanceof Metric) metric.detach(this);
  }

  clear(): void {
    for (const m of this.#ownMetrics()) m.detach(this);
    this.#metricsByName.clear();
    this.#defaultLabels = {};
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
    const withRedis = registers.find((r) => r.#redis !== undefined);
    const redis = withRedis === undefined ? undefined : withRedis.#redis;
    const merged = new Registry({ prefix: first.prefix, ...(redis ? { redis } : {}) });
    merged.setContentType(first.contentType);
    for (const r of registers) for (const m of r.getMetricsAsArray()) merged.registerMetric(m);
    return merged;
  }

  setDefaultLabels(labels: Record<string, string | number>): void {
    this.#defaultLabels = validDefaultLabels(labels);
  }

  /** Deletes every metric's stored values for all instances on the next flush. */
  resetMetrics(): void {
    for (const m of this.#metricsByName.values()) m.reset?.();
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
    return this.#writer.flush(options.intervalMs ?? this.flushIntervalMs ?? 0);
  }

  *#ownMetrics(): Generator<Metric> {
    for (const m of this.#metricsByName.values()) if (m instanceof Metric) yield m;
  }

  /** Reads the global values of every metric (one request per page of the store) and renders them. */
  async metrics(contentType: string = this.#type): Promise<string> {
    const collected = await this.#readAll();
    return render(
      collected.map((c) => c.family),
      contentType === OPENMETRICS_CONTENT_TYPE ? "openmetrics" : "text",
      this.#defaultLabels,
    );
  }

  /**
   * Reads the global values of every metric (one request per page), in the Prometheus protobuf format
   * (`PROTOBUF_CONTENT_TYPE`, delimited MetricFamily messages): the only format that carries
   * native histogram buckets.
   */
  async metricsProtobuf(): Promise<Uint8Array<ArrayBuffer>> {
    const collected = await this.#readAll();
    return encodeProtobuf(
      collected.map((c) => c.family),
      this.#defaultLabels,
    );
  }

  /**
   * @internal prometheus-upstash/remote-write's read: what a scrape renders (self-metrics
   * included), the default labels, and the Redis server's clock at the read (ms).
   */
  async collectForPush(): Promise<[MetricFamily[], Record<string, string>, number]> {
    const { collected, serverTimeMs } = await this.#reader.read(this.getMetricsAsArray(), true);
    return [collected.map((c) => c.family), this.#defaultLabels, serverTimeMs ?? 0];
  }

  /** One metric in the registry's content type, without a final newline (as prom-client). */
  async getSingleMetricAsString(name: string): Promise<string> {
    const metric = this.#metricsByName.get(name);
    if (!metric) throw new Error(`No metric named ${name}`);
    const [collected] = (await this.#reader.read([metric])).collected;
    const om = this.#type === OPENMETRICS_CONTENT_TYPE;
    return renderFamily(collected!.family, om, this.#defaultLabels).slice(0, -1);
  }

  /** prom-client's JSON shapes (le and quantile as numbers), with global values. */
  async getMetricsAsJSON(): Promise<MetricJSON[]> {
    const defaults = Object.entries(this.#defaultLabels);
    return (await this.#readAll()).map(({ metric, family, custom }) => {
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
    const [collected] = (await this.#reader.read([metric])).collected;
    return collected!.family;
  }

  /** Every metric's family, and the self-metrics some instance has written. */
  async #readAll(): Promise<Collected[]> {
    return (await this.#reader.read(this.getMetricsAsArray(), true)).collected;
  }
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

let defaultRegistry: Registry | undefined;

/** The global registry metrics join when they name no `registers`. */
export function globalRegistry(): Registry {
  defaultRegistry ??= provideDefaultRegistry(new Registry()); // no module side effect: see there
  return defaultRegistry;
}

/**
 * An instance id ends up in a hash field and a label value: printable, no whitespace, no lone
 * surrogate (two ids differing only there would be one instance_id on the wire).
 */
function validateInstanceId(id: unknown): void {
  if (typeof id !== "string" || !/^[^\s\p{Cc}\p{Cs}]{1,256}$/u.test(id)) {
    throw new Error(
      `prometheus-upstash: Invalid instanceId ${JSON.stringify(id)}: 1 to 256 characters, no whitespace, controls or lone surrogates`,
    );
  }
}

export { negotiateContentType };
