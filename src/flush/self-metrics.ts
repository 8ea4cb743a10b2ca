// The library's own health, as ordinary global counters written with the next flush that
// succeeds, so every instance's failures add up in one place:
//
//   prometheus_upstash_flush_failures_total          flushes that ended with data unwritten
//   prometheus_upstash_flush_retries_total           write requests repeated after a failure
//   prometheus_upstash_duplicate_batches_total       batches Redis had applied already (a resend
//                                                    after a lost response, skipped by its id)
//   prometheus_upstash_dropped_updates_total{reason} metric updates given up: "pending_limit",
//                                                    "too_old", "series_limit", "no_redis"
//
// A count is "owed" until a batch carries it; if that batch is dropped, the count is owed again.
// These counters are stored like a Counter's (one hash field per label set) but are not Counter
// instances: the registry builds them, and metrics/ imports the registry (a module cycle).
import { type BatchBuilder, num } from "../batch.ts";
import { valuesOfKey } from "../labels.ts";
import type { ReadSpec } from "../metrics/metric.ts";
import type { Sample } from "../types.ts";
import { drainToParts, type Part } from "./parts.ts";

/** A global counter with optional labels, enough for the registry to write and scrape it. */
export class SelfCounter {
  readonly type = "counter" as const;
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  private pending = new Map<string, number>();

  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  inc(n: number, labelValues: readonly string[] = []): void {
    const key = JSON.stringify(labelValues);
    this.pending.set(key, (this.pending.get(key) ?? 0) + n);
  }

  drain(batch: BatchBuilder): void {
    if (this.pending.size === 0) return;
    const increments: string[] = [];
    for (const [key, n] of this.pending) increments.push(key, num(n));
    batch.batch.v.push([this.name, 0, [], increments]);
    this.pending = new Map();
  }

  readSpec(): ReadSpec {
    return { kind: "sums" };
  }

  collect(raw: unknown): Sample[] {
    const fields = Array.isArray(raw) ? (raw as string[]) : [];
    const samples: Sample[] = [];
    for (let i = 0; i < fields.length; i += 2) {
      const values = valuesOfKey(fields[i]!, this.labelNames.length);
      if (values) samples.push({ suffix: "", values, value: Number(fields[i + 1]) });
    }
    return samples;
  }
}

export type DropReason = "pending_limit" | "too_old" | "series_limit" | "no_redis";

export interface SelfDeltas {
  failures: number;
  retries: number;
  duplicates: number;
  dropped: Record<DropReason, number>;
}

export const SELF_METRIC_PREFIX = "prometheus_upstash_";

function noDeltas(): SelfDeltas {
  return {
    failures: 0,
    retries: 0,
    duplicates: 0,
    dropped: { pending_limit: 0, too_old: 0, series_limit: 0, no_redis: 0 },
  };
}

export class SelfMetrics {
  private readonly failures = new SelfCounter(
    `${SELF_METRIC_PREFIX}flush_failures_total`,
    "Flushes that ended with data not written to Redis (kept for the next flush or dropped)",
  );
  private readonly retries = new SelfCounter(
    `${SELF_METRIC_PREFIX}flush_retries_total`,
    "Write requests repeated after a failed or timed-out attempt",
  );
  private readonly duplicates = new SelfCounter(
    `${SELF_METRIC_PREFIX}duplicate_batches_total`,
    "Batches Redis had already applied when they were sent again (skipped by batch id)",
  );
  private readonly dropped = new SelfCounter(
    `${SELF_METRIC_PREFIX}dropped_updates_total`,
    "Metric updates given up by this library, by reason",
    ["reason"],
  );
  private owed = noDeltas();

  /** The counters, for scrapes. */
  get metrics(): SelfCounter[] {
    return [this.failures, this.retries, this.duplicates, this.dropped];
  }

  owns(metric: unknown): boolean {
    return this.metrics.includes(metric as SelfCounter);
  }

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
    if (n <= 0) return;
    const d = noDeltas();
    d.dropped[reason] = n;
    this.add(d);
  }

  /** Moves everything owed into parts; the first part carries the deltas (for giveBack). */
  drain(nowMs: number, maxBytes: number): { parts: Part[]; deltas: SelfDeltas } {
    const deltas = this.owed;
    this.owed = noDeltas();
    return { parts: drainToParts(this.metrics, nowMs, maxBytes), deltas };
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
    for (const reason of Object.keys(d.dropped) as DropReason[]) {
      const n = d.dropped[reason];
      if (n) {
        this.dropped.inc(n, [reason]);
        this.owed.dropped[reason] += n;
      }
    }
  }
}
