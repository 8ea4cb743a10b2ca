// The read side of a registry: a scrape (metrics(), JSON, get()) reads everything the prefix
// holds, page by page (store/redis-store.ts), runs the collect options and custom metrics' get() meanwhile on this
// instance, and shows what collect() recorded on top of what was read (overlay.ts).
import { type CustomMetric, type CustomMetricData, customFamily } from "./custom-metric.ts";
import { noRedisError } from "./errors.ts";
import { withTimeout } from "./flush/timeout.ts";
import { Metric } from "./metrics/metric.ts";
import { LocalData, OverlaySnapshot } from "./overlay.ts";
import type { Snapshot } from "./snapshot.ts";
import type { RedisStore } from "./store/redis-store.ts";

/** What the last scrape of a registry read (`registry.storeStats`). */
export interface StoreStats {
  /** Requests (pages) it took: 1 while the prefix holds less than a page. */
  pages: number;
  /** Characters of all its replies, and of the largest (base64 sends 4/3 of them). */
  replyChars: number;
  largestReplyChars: number;
  /**
   * Series each counter, histogram and summary holds in Redis across all instances, by metric
   * name: compare with `maxStoredSeriesPerMetric`.
   */
  storedSeries: Record<string, number>;
}

import type { MetricFamily } from "./types.ts";

/** What a registry holds: our metrics, or objects of prom-client's custom-metric protocol. */
export type RegisteredMetric = Metric | CustomMetric;

/** One metric as a scrape read it. */
export interface Collected {
  metric: RegisteredMetric;
  family: MetricFamily;
  /** What a custom metric's get() returned. */
  custom?: CustomMetricData;
}

/** What one scrape read: the families, and the server clock at the read (ms). */
export interface Scrape {
  collected: Collected[];
  /** Undefined when nothing was read from Redis (custom metrics only, no client). */
  serverTimeMs: number | undefined;
}

/** Where a reader reads: its registry, as the reader sees it. */
export interface ReadSource {
  /** Undefined while the registry has no Redis client. */
  store(): RedisStore | undefined;
  /** The id this isolate's gauge values are stored under (replaced by collect()'s values). */
  instanceId(): string;
  readonly timeoutMs: number;
  /** The library's own counters, shown once some instance has written one. */
  readonly selfMetrics: readonly Metric[];
}

export class Reader {
  readonly #source: ReadSource;
  readonly storeStats: StoreStats = {
    pages: 0,
    replyChars: 0,
    largestReplyChars: 0,
    storedSeries: {},
  };

  constructor(source: ReadSource) {
    this.#source = source;
  }

  /**
   * The families of `metrics`, read page by page (custom metrics alone need no Redis: their
   * values come from get()), with the self-metrics after them when `withSelf`.
   */
  async read(metrics: readonly RegisteredMetric[], withSelf = false): Promise<Scrape> {
    const store = this.#source.store();
    const ours = metrics.filter((m): m is Metric => m instanceof Metric);
    if (store === undefined && ours.length > 0) throw noRedisError();
    const collecting = ours.filter((m) => m.hasCollect);
    // Each page of the read is raced on its own: a scrape of many pages may take longer than one
    // request's timeout in all.
    const race = <T>(p: Promise<T>) => withTimeout(p, this.#source.timeoutMs, "a scrape");
    const [stored, customs] = await Promise.all([
      store?.read(race),
      race(Promise.all(metrics.map((m) => (m instanceof Metric ? undefined : m.get())))),
      race(Promise.all(collecting.map((m) => m.runCollect()))),
    ]);
    if (stored !== undefined) {
      const s = this.storeStats;
      s.pages = stored.pages;
      s.replyChars = stored.replyChars;
      s.largestReplyChars = stored.largestReplyChars;
      s.storedSeries = Object.fromEntries(stored.storedSeries);
    }
    const snapshot = stored && this.#withUnflushed(stored, collecting);
    const collected = metrics.map((metric, i): Collected => {
      if (metric instanceof Metric) return { metric, family: metric.family(snapshot!) };
      const custom = customs[i]!;
      return { metric, family: customFamily(metric, custom), custom };
    });
    // Self-metrics show once some instance has written one: a healthy app's exposition is
    // exactly its own metrics, and any failure anywhere makes them appear.
    if (withSelf && stored !== undefined) {
      for (const m of this.#source.selfMetrics) {
        if (stored.counter(m.name).size > 0)
          collected.push({ metric: m, family: m.family(stored) });
      }
    }
    return { collected, serverTimeMs: stored?.now };
  }

  /** What was read, with the unflushed data of metrics with a collect option on top. */
  #withUnflushed(stored: Snapshot, collecting: readonly Metric[]): Snapshot {
    if (collecting.length === 0) return stored;
    const local = new LocalData();
    for (const m of collecting) m.peek(local);
    return new OverlaySnapshot(stored, local, this.#source.instanceId());
  }
}
