// The in-memory side of a native histogram: one series' observations between two flushes, one
// count per bucket. observe() is on the hot path of Histogram.observe: a frexp through typed
// arrays, a short binary search (schema > 0) and an array increment; it allocates only when
// the range of indices grows.
//
// Bounded: at most maxBuckets non-empty buckets (both sides together); past that the schema is
// lowered by one (resolution halved, neighbouring buckets merged), as Prometheus' clients do,
// and no count is ever dropped. Each side is a dense window over its index range, so memory is
// bounded by the span of indices too: a side spans at most 4·maxBuckets indices (and at least
// 256, wider than the whole double range at schema −4), and a wider spread also lowers it.

import { NATIVE_PART } from "../store/lua.generated.ts";
import { useScriptPart } from "../store/scripts.ts";
import { packFloat, packNumber } from "./packed.ts";
import { bucketIndex, MIN_SCHEMA, type SchemaTables, tablesOf } from "./schema.ts";

const INITIAL_LENGTH = 32;
const NO_ROOM = -1;

/** Counts of one side over a contiguous window of bucket indices. */
class Window {
  #counts = new Float64Array(0);
  /** Bucket index of counts[0]. */
  #offset = 0;
  /** Non-empty index range (min > max when empty). */
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;

  /** Adds n to bucket `index`: 1 if the bucket was empty, 0 if not, NO_ROOM if out of span. */
  add(index: number, maxSpan: number, n = 1): number {
    const slot = index - this.#offset;
    if (slot >= 0 && slot < this.#counts.length) {
      const was = this.#counts[slot]!;
      this.#counts[slot] = was + n;
      if (was !== 0) return 0;
      if (index < this.#min) this.#min = index;
      if (index > this.#max) this.#max = index;
      return 1;
    }
    return this.#makeRoom(index, maxSpan) ? this.add(index, maxSpan, n) : NO_ROOM;
  }

  /** Moves or grows the window so that `index` has a slot; false if that would pass maxSpan. */
  #makeRoom(index: number, maxSpan: number): boolean {
    if (this.#min > this.#max) {
      if (this.#counts.length === 0) this.#counts = new Float64Array(INITIAL_LENGTH);
      this.#offset = index - (this.#counts.length >> 1);
      return true;
    }
    const low = Math.min(this.#min, index);
    const span = Math.max(this.#max, index) - low + 1;
    if (span > maxSpan) return false;
    let length = this.#counts.length;
    while (length < span) length *= 2;
    this.#relocate(Math.min(length, maxSpan), low - ((Math.min(length, maxSpan) - span) >> 1));
    return true;
  }

  #relocate(length: number, offset: number): void {
    const next = new Float64Array(length);
    for (let i = this.#min; i <= this.#max; i++) next[i - offset] = this.#counts[i - this.#offset]!;
    this.#counts = next;
    this.#offset = offset;
  }

  #forEach(visit: (index: number, count: number) => void): void {
    for (let i = this.#min; i <= this.#max; i++) {
      const n = this.#counts[i - this.#offset]!;
      if (n > 0) visit(i, n);
    }
  }

  /** Merges bucket pairs (index i → ceil(i/2)); returns the number of non-empty buckets left. */
  halve(): number {
    if (this.#min > this.#max) return 0;
    const min = Math.ceil(this.#min / 2) + 0; // + 0: no −0 index
    const max = Math.ceil(this.#max / 2) + 0;
    const next = new Float64Array(this.#counts.length);
    const offset = min - ((next.length - (max - min + 1)) >> 1);
    let buckets = 0;
    this.#forEach((i, n) => {
      const slot = Math.ceil(i / 2) - offset;
      if (next[slot] === 0) buckets++;
      next[slot]! += n;
    });
    this.#counts = next;
    this.#offset = offset;
    this.#min = min;
    this.#max = max;
    return buckets;
  }

  /**
   * This side as packed spans (packed.ts, canonical: one empty bucket between two stays inside
   * a span): the number of spans, their text and the side's total count.
   */
  pack(): [spans: number, text: string, total: number] {
    const at = (i: number) => this.#counts[i - this.#offset]! > 0;
    let spans = 0;
    let text = "";
    let total = 0;
    let next = 0;
    let previous = 0;
    for (let i = this.#min; i <= this.#max; spans++) {
      let j = i;
      while (j < this.#max && (at(j + 1) || at(j + 2))) j++;
      text += packNumber(i - next, true) + packNumber(j - i + 1);
      for (; i <= j; i++) {
        const n = this.#counts[i - this.#offset]!;
        text += packNumber(n - previous, true);
        previous = n;
        total += n;
      }
      next = i;
      while (i <= this.#max && !at(i)) i++;
    }
    return [spans, text, total];
  }

  clear(): void {
    if (this.#min <= this.#max)
      this.#counts.fill(0, this.#min - this.#offset, this.#max - this.#offset + 1);
    this.#min = Number.POSITIVE_INFINITY;
    this.#max = Number.NEGATIVE_INFINITY;
  }
}

export class NativeAccumulator {
  /** Current schema: starts at the configured one and only goes down. */
  schema: number;
  readonly #zeroThreshold: number;
  readonly #maxBuckets: number;
  zeroCount = 0;
  #tables: SchemaTables;
  readonly #maxSpan: number;
  readonly #positive = new Window();
  readonly #negative = new Window();
  /** Non-empty buckets of both sides. */
  #nonEmpty = 0;

  constructor(schema: number, zeroThreshold: number, maxBuckets: number) {
    useScriptPart(NATIVE_PART); // the write script merges what this sends
    this.schema = schema;
    this.#zeroThreshold = zeroThreshold;
    this.#maxBuckets = maxBuckets;
    this.#tables = tablesOf(schema);
    this.#maxSpan = Math.max(4 * maxBuckets, 256);
  }

  /** Records one observation (finite; the caller has rejected NaN). */
  observe(value: number): void {
    if (value > this.#zeroThreshold) this.#add(this.#positive, value);
    else if (value < -this.#zeroThreshold) this.#add(this.#negative, -value);
    else this.zeroCount++;
  }

  #add(side: Window, magnitude: number): void {
    for (;;) {
      const added = side.add(bucketIndex(magnitude, this.schema, this.#tables), this.#maxSpan);
      if (added === 0) return;
      if (added === 1) {
        if (++this.#nonEmpty > this.#maxBuckets) this.#lowerSchema();
        return;
      }
      this.#lowerSchema(true);
    }
  }

  /** Halves the resolution until the buckets fit (or once more, `force`, to fit a wider span). */
  #lowerSchema(force = false): void {
    while ((force || this.#nonEmpty > this.#maxBuckets) && this.schema > MIN_SCHEMA) {
      this.schema--;
      this.#tables = tablesOf(this.schema);
      this.#nonEmpty = this.#positive.halve() + this.#negative.halve();
      force = false;
    }
  }

  get isEmpty(): boolean {
    return this.#nonEmpty === 0 && this.zeroCount === 0;
  }

  /** Non-empty buckets (both sides, zero bucket not included). */
  get bucketCount(): number {
    return this.#nonEmpty;
  }

  /** The packed delta (packed.ts) of what is pending; `sum` is the series' pending sum. */
  encode(sum: number): string {
    const [ps, pt, pn] = this.#positive.pack();
    const [ns, nt, nn] = this.#negative.pack();
    return `${packNumber(this.schema, true)}${packFloat(this.#zeroThreshold)}${packNumber(
      this.zeroCount,
    )}${packNumber(this.zeroCount + pn + nn)}${packFloat(sum)}${packNumber(ps)}${pt}${packNumber(ns)}${nt}`;
  }

  /** Forgets the pending observations, keeping the schema reached and the arrays. */
  clear(): void {
    this.#positive.clear();
    this.#negative.clear();
    this.zeroCount = 0;
    this.#nonEmpty = 0;
  }
}
