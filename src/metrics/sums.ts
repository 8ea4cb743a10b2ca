import type { BatchWriter } from "../batch.ts";
import type { Series } from "../series.ts";
import { Metric } from "./metric.ts";

/** A pending entry counts the metric calls it stands for (for exact drop accounting). */
export interface Counted {
  n: number;
}

/** What the registries of one prefix have yet to write: deletions, then additions. */
interface Owed<O> {
  reset: boolean;
  removed: string[];
  entries: Map<string, O>;
}

function nothingOwed<O>(): Owed<O> {
  return { reset: false, removed: [], entries: new Map() };
}

/**
 * What counters, histograms and summaries share: per-series pending deltas (entry type P, kept
 * on the series itself so a call is one tree walk) that flush into global sums, plus the
 * deletions of remove() and reset(), which act for every instance. A subclass says how one
 * entry is written, and how entries add up (type O) for a metric in registries of several
 * prefixes: there, a drain first splits the pending data into what each prefix is owed.
 */
export abstract class SumsMetric<
  T extends string,
  P extends Counted,
  O extends Counted = P,
> extends Metric<T, P> {
  abstract override readonly type: "counter" | "histogram" | "summary";
  /** Series with a pending entry, in the order they were first touched since the last drain. */
  protected dirty: Series<P>[] = [];
  private removed: string[] = [];
  private resetPending = false;
  /** Per prefix, data taken from the series that its registries have not written yet. */
  private owed: Map<string, Owed<O>> | undefined;

  /** Writes one series' pending entry. */
  protected abstract write(batch: BatchWriter, key: string, entry: P): void;
  /** Writes what a prefix is owed of one series. */
  protected abstract writeOwed(batch: BatchWriter, key: string, owed: O): void;
  /** Adds a pending entry into what a prefix is owed (a new O when there is none yet). */
  protected abstract owe(owed: O | undefined, entry: P): O;

  /** A pending entry is dropped (written, removed or reset): what it held can go. */
  protected discard(_entry: P): void {}

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
      this.discard(s.entry);
      s.entry = undefined;
      this.dirty = this.dirty.filter((x) => x !== s);
    }
    this.removed.push(key);
  }

  /** Deletes every series of this metric for every instance (on the next flush). */
  reset(): void {
    for (const s of this.forgetAllSeries()) {
      if (s.entry !== undefined) this.discard(s.entry);
      s.entry = undefined;
    }
    this.dirty = [];
    this.removed = [];
    this.resetPending = true;
  }

  protected sharesChanged(prefixes: readonly string[]): void {
    if (prefixes.length < 2 && this.owed === undefined) return;
    this.owed ??= new Map();
    for (const p of prefixes) if (!this.owed.has(p)) this.owed.set(p, nothingOwed());
    for (const p of this.owed.keys()) if (!prefixes.includes(p)) this.owed.delete(p);
  }

  protected drainFor(prefix: string, batch: BatchWriter): void {
    if (this.owed === undefined) {
      this.writePending(batch);
      this.clearPending();
      return;
    }
    this.fold(this.owed);
    const mine = this.owed.get(prefix);
    if (mine === undefined) return;
    this.writeOwedData(batch, mine);
    this.owed.set(prefix, nothingOwed());
  }

  writeUnflushed(prefix: string, batch: BatchWriter): void {
    const mine = this.owed?.get(prefix);
    if (mine !== undefined) this.writeOwedData(batch, mine);
    this.writePending(batch);
  }

  private writePending(batch: BatchWriter): void {
    if (this.resetPending) batch.reset(this.type, this.name);
    for (const key of this.removed) batch.remove(this.type, this.name, this.bounds, key);
    for (const s of this.dirty) this.write(batch, s.key, s.entry!);
  }

  private clearPending(): void {
    for (const s of this.dirty) {
      if (s.entry !== undefined) this.discard(s.entry);
      s.entry = undefined;
    }
    this.dirty = [];
    this.removed = [];
    this.resetPending = false;
  }

  private writeOwedData(batch: BatchWriter, owed: Owed<O>): void {
    if (owed.reset) batch.reset(this.type, this.name);
    for (const key of owed.removed) batch.remove(this.type, this.name, this.bounds, key);
    for (const [key, o] of owed.entries) this.writeOwed(batch, key, o);
  }

  /** Moves the pending data into what every prefix is owed. */
  private fold(owed: Map<string, Owed<O>>): void {
    for (const o of owed.values()) {
      if (this.resetPending) {
        o.reset = true;
        o.removed = [];
        o.entries.clear();
      }
      for (const key of this.removed) {
        o.entries.delete(key);
        o.removed.push(key);
      }
      for (const s of this.dirty) o.entries.set(s.key, this.owe(o.entries.get(s.key), s.entry!));
    }
    this.clearPending();
  }
}
