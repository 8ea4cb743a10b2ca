// What a metric hands to a flush: its pending data as logical writes, named by metric and series
// key only. How they become Redis commands (field names, argument lists, request parts) is the
// store's business (store/encode.ts); metrics never see a key or field name.

/** A gauge series of this instance: [series key, value, time of the write (ms) for "last"]. */
export type GaugeRecord = readonly [key: string, value: number, at?: number];

export interface BatchWriter {
  /** Adds `delta` to a counter series' global sum. */
  counter(name: string, key: string, delta: number, updates: number): void;
  /**
   * Adds to a histogram series' global sum and non-cumulative bucket counts. `bounds` are the
   * histogram's finite upper bounds (counts has one more entry: +Inf); a scrape maps a series
   * written under other bounds onto the current ones.
   */
  histogram(
    name: string,
    bounds: readonly number[],
    key: string,
    sum: number,
    counts: readonly number[],
    updates: number,
  ): void;
  /**
   * Merges a native histogram delta (native/packed.ts) into a histogram series' global native
   * buckets; Redis keeps at most `maxBuckets` of them, lowering the schema past that.
   */
  native(name: string, key: string, maxBuckets: number, packed: string, updates: number): void;
  /** Adds to a summary series' global count and sum. */
  summary(name: string, key: string, count: number, sum: number, updates: number): void;
  /**
   * Adds sketch buckets (sketch/fields.ts tokens) to a summary series' current time slice,
   * chosen by the server clock; a slice is read for `slices` × `sliceMs` and then forgotten.
   */
  sketch(
    name: string,
    key: string,
    sliceMs: number,
    slices: number,
    cap: number,
    tokens: string,
  ): void;
  /**
   * Replaces all of this instance's values of a gauge; they are read until `expireMs` after
   * this write (server clock), unless written again. `instance` names the instance when it is
   * not the flushing registry's own (a gauge shared by registries of one prefix).
   */
  gauge(
    name: string,
    expireMs: number,
    records: Iterable<GaugeRecord>,
    updates: number,
    instance?: string,
  ): void;
  /** Deletes one series of a metric for every instance. */
  remove(
    type: "counter" | "histogram" | "summary",
    name: string,
    bounds: readonly number[] | undefined,
    key: string,
  ): void;
  /** Deletes every series of a metric for every instance. */
  reset(type: "counter" | "histogram" | "summary", name: string): void;
}

/** Anything that can move its pending data into a batch (metrics, self-metrics). */
export interface Drainable {
  drain(batch: BatchWriter, nowMs: number): void;
}

/**
 * A number as text that parses back to exactly the same double (JS's shortest round-trip
 * form). NaN and ±Infinity come out as "NaN" and "±Infinity", which Number() reads back.
 */
export function num(n: number): string {
  return String(n);
}
