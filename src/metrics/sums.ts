import type { BatchWriter } from "../batch.ts";
import { Metric } from "./metric.ts";

/** A pending entry counts the metric calls it stands for (for exact drop accounting). */
export interface Counted {
  n: number;
}

/**
 * What counters, histograms and summaries share: per-series pending deltas (entry type P) that
 * flush into global sums, plus the deletions of remove() and reset(), which act for every
 * instance. A subclass says how one entry is written.
 */
export abstract class SumsMetric<T extends string, P extends Counted> extends Metric<T> {
  abstract override readonly type: "counter" | "histogram" | "summary";
  protected pending = new Map<string, P>();
  private removed: string[] = [];
  private resetPending = false;

  /** Writes one series' pending entry. */
  protected abstract write(batch: BatchWriter, key: string, entry: P): void;

  /** Bucket bounds of the stored series (histograms), for remove(). */
  protected get bounds(): readonly number[] | undefined {
    return undefined;
  }

  /** Forgets the series here and deletes it for every instance. */
  protected removeSeries(key: string): void {
    this.pending.delete(key);
    this.forgetSeries(key);
    this.removed.push(key);
  }

  /** Deletes every series of this metric for every instance (on the next flush). */
  reset(): void {
    this.pending.clear();
    this.forgetAllSeries();
    this.removed = [];
    this.resetPending = true;
  }

  pendingSeries(): number {
    return this.pending.size;
  }

  drain(batch: BatchWriter): void {
    if (this.resetPending) batch.reset(this.type, this.name);
    for (const key of this.removed) batch.remove(this.type, this.name, this.bounds, key);
    for (const [key, entry] of this.pending) this.write(batch, key, entry);
    this.pending = new Map();
    this.removed = [];
    this.resetPending = false;
  }
}
