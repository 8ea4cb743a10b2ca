// The library's own health, as ordinary global counters written with the next flush that
// succeeds, so every instance's failures add up in one place:
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
// A count is "owed" until a batch carries it; if that batch is dropped, the count is owed again.
// They are Counters registered nowhere: the registry drains and scrapes them itself.
import { Counter } from "../metrics/counter.ts";
import { drainAll, type Part } from "../store/encode.ts";

export type DropReason =
  | "pending_limit"
  | "too_old"
  | "series_limit"
  | "global_series_limit"
  | "no_redis"
  | "overflow";

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

export class SelfMetrics {
  private readonly failures = counter(
    "flush_failures_total",
    "Flushes that ended with data not written to Redis (kept for the next flush or dropped)",
  );
  private readonly retries = counter(
    "flush_retries_total",
    "Write requests repeated after a failed or timed-out attempt",
  );
  private readonly duplicates = counter(
    "duplicate_batches_total",
    "Batches Redis had already applied when they were sent again (skipped by sequence number)",
  );
  private readonly dropped = counter(
    "dropped_updates_total",
    "Metric updates given up by this library, by reason",
    ["reason"],
  );
  private owed = noDeltas();

  /** The counters, for scrapes. */
  readonly metrics: readonly Counter[] = [
    this.failures,
    this.retries,
    this.duplicates,
    this.dropped,
  ];

  countFailure(): void {
    this.add({ ...noDeltas(), failures: 1 });
  }

  countRetry(): void {
    this.add({ ...noDeltas(), retries: 1 });
  }

  countDuplicates(n: number): void {
    if (n > 0) this.add({ ...noDeltas(), duplicates: n });
  }

  countDropped(reason: DropReason, n: number): void {
    if (n > 0) this.add({ ...noDeltas(), dropped: { [reason]: n } });
  }

  /** Moves everything owed into parts; the first part carries the deltas (for giveBack). */
  drain(nowMs: number, maxBytes: number): { parts: Part[]; deltas: SelfDeltas } {
    const deltas = this.owed;
    this.owed = noDeltas();
    const parts = drainAll(this.metrics, "", nowMs, maxBytes);
    // Their counts are not metric updates of the app: dropping them drops no update.
    for (const part of parts) {
      part.updates = 0;
      part.refusable.clear();
    }
    return { parts, deltas };
  }

  /** A batch carrying these counts was dropped: owe them again. */
  giveBack(deltas: SelfDeltas): void {
    this.add(deltas);
  }

  private add(d: SelfDeltas): void {
    if (d.failures) this.failures.inc(d.failures);
    if (d.retries) this.retries.inc(d.retries);
    if (d.duplicates) this.duplicates.inc(d.duplicates);
    this.owed.failures += d.failures;
    this.owed.retries += d.retries;
    this.owed.duplicates += d.duplicates;
    for (const [reason, n] of Object.entries(d.dropped) as [DropReason, number][]) {
      if (!n) continue;
      this.dropped.inc({ reason }, n);
      this.owed.dropped[reason] = (this.owed.dropped[reason] ?? 0) + n;
    }
  }
}
