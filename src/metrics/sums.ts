import type { BatchWriter } from "../batch.ts";
import type { Series } from "../series.ts";
import { Metric } from "./metric.ts";

/** A pending entry counts the metric calls it stands for (for exact drop accounting). */
export interface Counted {
  n: number;
}

/**
 * What counters, histograms and summaries share: per-series pending deltas (entry type P, kept
 * on the series itself so a call is one tree walk) that flush into global sums, plus the
 * deletions of remove() and reset(), which act for every instance. A subclass says how one
 * entry is written (`write`, which only writes) and, if an entry holds budgeted memory, how it
 * is given back (`release`, called in one place: when the entry is dropped).
 */
export abstract class SumsMetric<T extends string, P extends Counted> extends Metric<T, P> {
  abstract override readonly type: "counter" | "histogram" | "summary";
  /** Series with a pending entry, in the order they were first touched since the last drain. */
  protected dirty: Series<P>[] = [];
  #removed: string[] = [];
  #resetPending = false;

  /** Writes one series' pending entry, changing nothing. */
  protected abstract write(batch: BatchWriter, key: string, entry: P): void;

  /** An entry is dropped (drained, removed or reset): the memory it holds goes back. */
  protected release(_entry: P): void {}

  /** Bucket bounds of the stored series (histograms), for remove(). */
  protected get bounds(): readonly number[] | undefined {
    return undefined;
  }

  /** The pending entry of a series, made by `make` if it has none since the last drain. */
  protected entryOf(s: Series<P>, make: () => P): P {
    let e = s.entry;
    if (e === undefined) {
      e = make();
      s.entry = e;
      this.dirty.push(s);
    }
    return e;
  }

  /** Forgets the series here and deletes it for every instance. */
  protected removeSeries(key: string): void {
    const s = this.forgetSeries(key);
    if (s?.entry !== undefined) {
      this.#dropEntry(s);
      this.dirty = this.dirty.filter((x) => x !== s);
    }
    this.#removed.push(key);
  }

  /** Deletes every series of this metric for every instance (on the next flush). */
  reset(): void {
    for (const s of this.forgetAllSeries()) this.#dropEntry(s);
    this.dirty = [];
    this.#removed = [];
    this.#resetPending = true;
  }

  drain(batch: BatchWriter): void {
    this.peek(batch);
    for (const s of this.dirty) this.#dropEntry(s);
    this.dirty = [];
    this.#removed = [];
    this.#resetPending = false;
  }

  peek(batch: BatchWriter): void {
    if (this.#resetPending) batch.reset(this.type, this.name);
    for (const key of this.#removed) batch.remove(this.type, this.name, this.bounds, key);
    for (const s of this.dirty) this.write(batch, s.key, s.entry!);
  }

  #dropEntry(s: Series<P>): void {
    if (s.entry !== undefined) this.release(s.entry);
    s.entry = undefined;
  }
}
