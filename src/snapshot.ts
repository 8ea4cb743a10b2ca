// What a scrape hands to a metric: everything Redis held for it at one instant, decoded by the
// store (store/decode.ts) into series keys and numbers. The read side of batch.ts.
import type { GaugeRecord } from "./batch.ts";

export interface HistogramSeries {
  key: string;
  /** The finite upper bounds it was written with; undefined if Redis lost them. */
  bounds: readonly number[] | undefined;
  sum: number;
  /** Non-cumulative counts, one per bound and one for +Inf. */
  counts: readonly number[];
}

export interface GaugeInstance {
  instance: string;
  records: readonly GaugeRecord[];
}

export interface Snapshot {
  /** Server clock at the read, ms. */
  readonly now: number;
  counter(name: string): ReadonlyMap<string, number>;
  histogram(name: string): readonly HistogramSeries[];
  /** Native buckets of each histogram series, packed (native/packed.ts). */
  native(name: string): ReadonlyMap<string, string>;
  summary(name: string): ReadonlyMap<string, { count: number; sum: number }>;
  /** Sketch tokens of every live time slice of each summary series. */
  sketches(name: string): ReadonlyMap<string, readonly string[]>;
  /** The instances whose values of this gauge are live. */
  gauge(name: string): readonly GaugeInstance[];
}

/** The map of one metric's series in a map by metric name, made when missing. */
export function inner<V>(outer: Map<string, Map<string, V>>, name: string): Map<string, V> {
  let m = outer.get(name);
  if (m === undefined) {
    m = new Map();
    outer.set(name, m);
  }
  return m;
}
