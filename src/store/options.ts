// How long series stay in Redis and how many one metric may hold there: the store's options of
// a registry, their defaults and their validation.

export interface StoreOptions {
  /**
   * A counter, histogram or summary series not written by any instance for this long (ms)
   * leaves Redis and the scrape (a later write starts it again from zero, which Prometheus
   * reads as a counter reset). It is pruned by work a scrape or flush does anyway. 0 keeps
   * series forever. Default 7 days.
   */
  seriesTtlMs?: number;
  /**
   * Series one metric may hold in Redis, across all instances: a write of a new series beyond
   * it is refused (existing series keep being updated) and counted in
   * `prometheus_upstash_dropped_updates_total{reason="global_series_limit"}`. 0: no bound.
   * Default 20 000.
   */
  maxStoredSeriesPerMetric?: number;
}

export type ResolvedStoreOptions = Required<StoreOptions>;

export const STORE_DEFAULTS: ResolvedStoreOptions = {
  seriesTtlMs: 7 * 24 * 3_600_000,
  maxStoredSeriesPerMetric: 20_000,
};

export function resolveStoreOptions(options: StoreOptions): ResolvedStoreOptions {
  const o = {
    seriesTtlMs: options.seriesTtlMs ?? STORE_DEFAULTS.seriesTtlMs,
    maxStoredSeriesPerMetric:
      options.maxStoredSeriesPerMetric ?? STORE_DEFAULTS.maxStoredSeriesPerMetric,
  };
  for (const [name, v] of Object.entries(o)) {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(
        `prometheus-upstash: ${name} must be an integer ≥ 0 (0 turns it off), got ${String(v)}`,
      );
    }
  }
  if (o.seriesTtlMs > 0 && o.seriesTtlMs < 1000) {
    throw new RangeError(
      `prometheus-upstash: seriesTtlMs must be at least 1000 (stamps count seconds) or 0, got ${o.seriesTtlMs}`,
    );
  }
  return o;
}
