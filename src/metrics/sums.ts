import type { BatchBuilder } from "../batch.ts";
import { Metric, type ReadSpec } from "./metric.ts";

/**
 * What counters and histograms share: per-series pending deltas (entry type P) that flush as
 * HINCRBYFLOATs into the metric's global sums hash, plus the HDELs of remove() and the DEL of
 * reset(). A subclass says how one entry becomes hash fields.
 */
export abstract class SumsMetric<T extends string, P> extends Metric<T> {
  protected pending = new Map<string, P>();
  /** Metric calls recorded since the last drain (for drop accounting). */
  protected updates = 0;
  private deletes: string[] = [];
  private resetPending = false;

  /** Appends [field, delta, …] for one series' pending entry. */
  protected abstract increments(key: string, entry: P, out: string[]): void;

  /** Forgets the series here and deletes these of its fields for every instance. */
  protected removeSeries(key: string, fields: readonly string[]): void {
    this.pending.delete(key);
    this.forgetSeries(key);
    this.deletes.push(...fields);
  }

  /** Deletes every series of this metric for every instance (DEL on the next flush). */
  reset(): void {
    this.pending.clear();
    this.forgetAllSeries();
    this.deletes = [];
    this.resetPending = true;
  }

  pendingSeries(): number {
    return this.pending.size;
  }

  drain(batch: BatchBuilder): void {
    if (this.pending.size === 0 && this.deletes.length === 0 && !this.resetPending) return;
    const increments: string[] = [];
    for (const [key, entry] of this.pending) this.increments(key, entry, increments);
    batch.batch.v.push([this.name, this.resetPending ? 1 : 0, this.deletes, increments]);
    batch.updates += this.updates;
    this.updates = 0;
    this.pending = new Map();
    this.deletes = [];
    this.resetPending = false;
  }

  readSpec(): ReadSpec {
    return { kind: "sums" };
  }
}
