// The reliability knobs of a registry — and the bounds of what it keeps in Redis — their
// defaults and their validation. The defaults keep a registry's unsent data far inside a 128 MB
// isolate (see docs in RegistryOptions) and its prefix's scrape far inside Upstash's limits.

export interface ReliabilityOptions {
  /**
   * Milliseconds one write (flush) or read (scrape) request may take before it counts as
   * failed. The request itself is not cancelled — the user's client may have no `signal` —
   * and may still land; a batch sent again keeps its number, so it is applied once. Default 3000:
   * with the retries one write then takes at most ~9.75 s, so a flush that waits for the write
   * under way and then for its own stays well inside the 30 s Workers allow `waitUntil` after
   * the response (see flush/schedule.ts).
   */
  timeoutMs?: number;
  /** Further attempts a flush makes after a failed write, with backoff. Default 2. */
  retries?: number;
  /** Backoff before the first retry (ms); each next one waits 4× longer, ±50 % jitter. Default 100. */
  backoffMs?: number;
  /**
   * Bytes of unwritten batches kept for later flushes (a failed flush's batch is resent with
   * the next one). Beyond it the oldest batches are dropped and counted in
   * `prometheus_upstash_dropped_updates_total{reason="pending_limit"}`. Default 8 MiB.
   */
  maxPendingBytes?: number;
  /**
   * Largest request body a flush sends, and the bound a scrape keeps each reply under; more
   * data is split into several requests (a flush: parts, each a batch with its own number; a
   * scrape: pages). Default 4 MiB; at most 10 MB, Upstash's request and reply limit.
   */
  maxRequestBytes?: number;
  /**
   * Distinct label sets one metric accepts in this isolate. Updates to a new label set beyond it
   * are dropped (never thrown) and counted with reason "series_limit". Default 10 000.
   */
  maxSeriesPerMetric?: number;
  /**
   * Approximate bytes of label sets all metrics of this registry may remember in this isolate;
   * beyond it new label sets are dropped like above. Default 16 MiB.
   */
  maxSeriesBytes?: number;
  /** Write and expose the `prometheus_upstash_*` self-metrics. Default true. */
  selfMetrics?: boolean;
  /**
   * A counter, histogram or summary series no instance has written for this long (ms) leaves
   * Redis and the scrape; a later write starts it again from zero, which Prometheus reads as a
   * counter reset. Pruned by work scrapes (or, when nothing scrapes, flushes) do anyway. 0 keeps
   * series forever; otherwise at least 1000 (stamps count seconds). Default 7 days.
   */
  seriesTtlMs?: number;
  /**
   * Series one metric may hold in Redis, across all instances: a new series beyond it is refused
   * (existing ones keep being written), counted in
   * `prometheus_upstash_dropped_updates_total{reason="global_series_limit"}` and reported to
   * `onError`. 0: no bound. Default 20 000.
   */
  maxStoredSeriesPerMetric?: number;
}

export type ResolvedReliability = Required<ReliabilityOptions>;

export const RELIABILITY_DEFAULTS: ResolvedReliability = {
  timeoutMs: 3000,
  retries: 2,
  backoffMs: 100,
  maxPendingBytes: 8 * 1024 * 1024,
  maxRequestBytes: 4 * 1024 * 1024,
  maxSeriesPerMetric: 10_000,
  maxSeriesBytes: 16 * 1024 * 1024,
  selfMetrics: true,
  seriesTtlMs: 7 * 24 * 3_600_000,
  maxStoredSeriesPerMetric: 20_000,
};

/** Smallest request size accepted: room for the script call and a few series. */
const MIN_REQUEST_BYTES = 1024;
/** Upstash refuses a request or a reply larger than this ("ERR max request size exceeded"). */
export const UPSTASH_MAX_REQUEST_BYTES = 10_000_000;

export function resolveReliability(options: ReliabilityOptions): ResolvedReliability {
  const o = { ...RELIABILITY_DEFAULTS };
  for (const key of Object.keys(RELIABILITY_DEFAULTS) as (keyof ReliabilityOptions)[]) {
    const value = options[key];
    if (value !== undefined) (o as Record<string, unknown>)[key] = value;
  }
  positive("timeoutMs", o.timeoutMs);
  integer("retries", o.retries, 0);
  integer("backoffMs", o.backoffMs, 0);
  integer("maxRequestBytes", o.maxRequestBytes, MIN_REQUEST_BYTES);
  if (o.maxRequestBytes > UPSTASH_MAX_REQUEST_BYTES) {
    throw new RangeError(
      `maxRequestBytes must be at most ${UPSTASH_MAX_REQUEST_BYTES} (Upstash refuses larger ` +
        `requests and replies), got ${o.maxRequestBytes}`,
    );
  }
  integer("maxPendingBytes", o.maxPendingBytes, 0);
  integer("maxSeriesPerMetric", o.maxSeriesPerMetric, 1);
  integer("maxSeriesBytes", o.maxSeriesBytes, 0);
  integer("maxStoredSeriesPerMetric", o.maxStoredSeriesPerMetric, 0);
  integer("seriesTtlMs", o.seriesTtlMs, 0);
  if (o.seriesTtlMs > 0) integer("seriesTtlMs", o.seriesTtlMs, 1000);
  if (typeof o.selfMetrics !== "boolean") {
    throw new TypeError(`selfMetrics must be a boolean, got ${String(o.selfMetrics)}`);
  }
  return o;
}

function positive(name: string, v: unknown): void {
  if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) {
    throw new RangeError(`${name} must be a positive finite number, got ${String(v)}`);
  }
}

function integer(name: string, v: unknown, min: number): void {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${String(v)}`);
  }
}
