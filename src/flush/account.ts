// Everything a registry's writer counts, in one object: `stats` (read by the app and tests) and
// the library's own health as ordinary global counters written with the next flush that
// succeeds, so every instance's failures add up in one place (self-metrics, when enabled):
//
//   prometheus_upstash_flush_failures_total          flushes that ended with data unwritten
//   prometheus_upstash_flush_retries_total           write requests repeated after a failure
//   prometheus_upstash_duplicate_batches_total       batches Redis had applied already (a resend
//                                                    after a lost response, skipped by number)
//   prometheus_upstash_dropped_updates_total{reason} metric updates given up: "pending_limit",
//                                                    "too_old", "series_limit", "no_redis",
//                                                    "overflow" (Redis refused a non-finite sum),
//                                                    "global_series_limit" (a new series past
//                                                    maxStoredSeriesPerMetric in Redis)
//
// A self-metric count is "owed" until a batch carries it; if that batch is dropped, the count is
// owed again. They are Counters registered nowhere: the writer drains them, the reader shows them.
import { Counter } from "../metrics/counter.ts";
import { drainAll, type Part } from "../store/encode.ts";

/** What flushes did, for self-monitoring and tests. */
export interface FlushStats {
  /** Flushes that had something to send. */
  flushes: number;
  /** Flushes that ended with data unwritten (kept for the next flush, or dropped). */
  failedFlushes: number;
  /** Metric updates given up: pending limit, age, series limit. */
  droppedUpdates: number;
  /** Write requests repeated after a failed or timed-out attempt. */
  retries: number;
  /** Batches Redis had applied already when they were sent again (skipped by their id). */
  duplicateBatches: number;
  /** Batches waiting for the next flush right now, and their bytes. */
  pendingBatches: number;
  pendingBytes: number;
  /** Batches given up while a request for them was in flight: counted once it settles. */
  unsettledBatches: number;
  /** Throws of user callbacks (onError and the adapters' callbacks), swallowed. */
  callbackErrors: number;
}

export type DropReason =
  | "pending_limit"
  | "too_old"
  | "series_limit"
  | "global_series_limit"
  | "no_redis"
  | "overflow";

/** Self-metric counts one batch carries (given back if it is dropped). */
export interface SelfDeltas {
  failures: number;
  retries: number;
  duplicates: number;
  dropped: Partial<Record<DropReason, number>>;
}

export const SELF_METRIC_PREFIX = "prometheus_upstash_";

function noDeltas(): SelfDeltas {
  return { failures: 0, retries: 0, duplicates: 0, dropped: {} };
}

function counter(name: string, help: string, labelNames: string[] = []): Counter {
  return new Counter({ name: SELF_METRIC_PREFIX + name, help, labelNames, registers: [] });
}

/** The self-metrics: four counters and what of them no batch carries yet. */
class SelfMetrics {
  readonly #failures = counter(
    "flush_failures_total",
    "Flushes that ended with data not written to Redis (kept for the next flush or dropped)",
  );
  readonly #retries = counter(
    "flush_retries_total",
    "Write requests repeated after a failed or timed-out attempt",
  );
  readonly #duplicates = counter(
    "duplicate_batches_total",
    "Batches Redis had already applied when they were sent again (skipped by sequence number)",
  );
  readonly #dropped = counter(
    "dropped_updates_total",
    "Metric updates given up by this library, by reason",
    ["reason"],
  );
  readonly all: readonly Counter[] = [
    this.#failures,
    this.#retries,
    this.#duplicates,
    this.#dropped,
  ];
  owed = noDeltas();

  add(d: SelfDeltas): void {
    if (d.failures) this.#failures.inc(d.failures);
    if (d.retries) this.#retries.inc(d.retries);
    if (d.duplicates) this.#duplicates.inc(d.duplicates);
    this.owed.failures += d.failures;
    this.owed.retries += d.retries;
    this.owed.duplicates += d.duplicates;
    for (const [reason, n] of Object.entries(d.dropped) as [DropReason, number][]) {
      if (!n) continue;
      this.#dropped.inc({ reason }, n);
      this.owed.dropped[reason] = (this.owed.dropped[reason] ?? 0) + n;
    }
  }
}

export class FlushAccount {
  readonly stats: FlushStats = {
    flushes: 0,
    failedFlushes: 0,
    droppedUpdates: 0,
    retries: 0,
    duplicateBatches: 0,
    pendingBatches: 0,
    pendingBytes: 0,
    unsettledBatches: 0,
    callbackErrors: 0,
  };
  readonly #self: SelfMetrics | undefined;

  constructor(selfMetrics: boolean) {
    this.#self = selfMetrics ? new SelfMetrics() : undefined;
  }

  /** The self-metric counters (none when they are off), for scrapes. */
  get selfMetrics(): readonly Counter[] {
    return this.#self?.all ?? [];
  }

  flushed(): void {
    this.stats.flushes++;
  }

  failed(): void {
    this.stats.failedFlushes++;
    this.#self?.add({ ...noDeltas(), failures: 1 });
  }

  retried(): void {
    this.stats.retries++;
    this.#self?.add({ ...noDeltas(), retries: 1 });
  }

  duplicates(n: number): void {
    this.stats.duplicateBatches += n;
    if (n > 0) this.#self?.add({ ...noDeltas(), duplicates: n });
  }

  dropped(reason: DropReason, n: number): void {
    this.stats.droppedUpdates += n;
    if (n > 0) this.#self?.add({ ...noDeltas(), dropped: { [reason]: n } });
  }

  callbackError(): void {
    this.stats.callbackErrors++;
  }

  /** What is queued now, and how many dropped batches wait for their requests to settle. */
  queued(batches: number, bytes: number, unsettled: number): void {
    this.stats.pendingBatches = batches;
    this.stats.pendingBytes = bytes;
    this.stats.unsettledBatches = unsettled;
  }

  /**
   * Moves the self-metric counts no batch carries yet into parts; the first part carries the
   * deltas (for giveBack). Their counts are not metric updates of the app: dropping them drops
   * no update.
   */
  drainSelf(nowMs: number, maxBytes: number): { parts: Part[]; deltas: SelfDeltas } {
    const self = this.#self;
    if (self === undefined) return { parts: [], deltas: noDeltas() };
    const deltas = self.owed;
    self.owed = noDeltas();
    const parts = drainAll(self.all, "", nowMs, maxBytes);
    for (const part of parts) {
      part.updates = 0;
      part.refusable.clear();
    }
    return { parts, deltas };
  }

  /** A batch carrying these self-metric counts was dropped: owe them again. */
  giveBack(deltas: SelfDeltas): void {
    this.#self?.add(deltas);
  }
}
