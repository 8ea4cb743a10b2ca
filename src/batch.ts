// The unit of one flush: every pending delta of a registry, shaped the way the write script
// reads it (see store/scripts.ts). Numbers travel as strings: Lua would round them to 14 digits.

/** [metric, reset (1 = DEL first), fields to HDEL, [field, delta, field, delta, …]] */
export type SumOp = [name: string, reset: 0 | 1, deletes: string[], increments: string[]];

/** [metric, expiry ms, reset (1 = DEL first), fields to HDEL, [field, value, …]] */
export type GaugeOp = [
  name: string,
  expireMs: number,
  reset: 0 | 1,
  deletes: string[],
  sets: string[],
];

/**
 * [metric, slice ms, slices per window, bucket cap, reset (1 = drop every series first),
 *  series keys to drop, [series key, [sketch field, count delta, …], series key, …]]
 * Summary quantile sketches; the server's clock picks the time slice (store/summary-scripts.ts).
 */
export type SketchOp = [
  name: string,
  sliceMs: number,
  slices: number,
  cap: number,
  reset: 0 | 1,
  deletes: string[],
  series: (string | string[])[],
];

export interface Batch {
  /** Global sums: counters, histogram buckets, summary _sum/_count. */
  v: SumOp[];
  /** This instance's gauge values, kept alive by expiry. */
  g: GaugeOp[];
  /** Summary quantile sketches, per series and time slice. */
  s: SketchOp[];
}

export class BatchBuilder {
  readonly batch: Batch = { v: [], g: [], s: [] };
  /** How many metric calls the batch stands for (for drop accounting). */
  updates = 0;

  get isEmpty(): boolean {
    return this.batch.v.length === 0 && this.batch.g.length === 0 && this.batch.s.length === 0;
  }
}

/** Stable, short text for a number in a Redis argument. */
export function num(n: number): string {
  return String(n);
}
