// The read side of a sketch: bucket counts read back from Redis (one hash per live time slice),
// summed into one merged sketch, and quantiles estimated from it. Merging is addition of
// counts per bucket, so the sketch of A ∪ B is exactly the merge of the sketches of A and B.

import { NEGATIVE_PREFIX, ZERO_TOKEN } from "./fields.ts";
import type { LogMapping } from "./mapping.ts";

export class SketchCounts {
  readonly positive = new Map<number, number>();
  readonly negative = new Map<number, number>();
  zero = 0;
  /** Total observations held. */
  count = 0;

  /** Adds the buckets of a sketch written as tokens (fields.ts); floor markers are skipped. */
  addTokens(tokens: string): this {
    for (const token of tokens.split(" ")) {
      const colon = token.indexOf(":");
      if (colon > 0) this.#addBucket(token.slice(0, colon), Number(token.slice(colon + 1)));
    }
    return this;
  }

  /** Adds `count` to the bucket a token names ("<i>", "n<i>" or "z"). */
  #addBucket(name: string, count: number): void {
    if (!(count > 0)) return;
    const first = name.charAt(0);
    if (first === ZERO_TOKEN) {
      this.zero += count;
    } else if (first === "f") {
      return;
    } else if (first === NEGATIVE_PREFIX) {
      add(this.negative, Number(name.slice(NEGATIVE_PREFIX.length)), count);
    } else {
      add(this.positive, Number(name), count);
    }
    this.count += count;
  }

  /** Adds another merged sketch into this one. */
  merge(other: SketchCounts): this {
    for (const [index, count] of other.positive) add(this.positive, index, count);
    for (const [index, count] of other.negative) add(this.negative, index, count);
    this.zero += other.zero;
    this.count += other.count;
    return this;
  }

  /**
   * The estimate of the q-quantile, DDSketch's rule: the element of rank ⌊q·(n−1)⌋ (0-based,
   * ascending) is located in its bucket i and answered as ±2·γ^i/(γ+1), within relative error α
   * of the exact element unless its bucket was collapsed. NaN when empty or q is outside [0, 1].
   */
  quantile(mapping: LogMapping, q: number): number {
    return this.quantiles(mapping, [q])[0]!;
  }

  /** Several quantiles over one sort of the buckets. */
  quantiles(mapping: LogMapping, qs: readonly number[]): number[] {
    const out = new Array<number>(qs.length).fill(Number.NaN);
    if (this.count === 0) return out;
    const negatives = sortedBuckets(this.negative);
    const positives = sortedBuckets(this.positive);
    const negativeCount = total(negatives.counts);
    for (let k = 0; k < qs.length; k++) {
      const q = qs[k]!;
      if (!(q >= 0 && q <= 1)) continue;
      const rank = q * (this.count - 1);
      if (rank < negativeCount) {
        // Negative side in ascending value order is descending magnitude: count from the top.
        const index = indexAtRank(negatives, negativeCount - 1 - rank, false);
        out[k] = -mapping.value(index);
      } else if (rank < negativeCount + this.zero) {
        out[k] = 0;
      } else {
        out[k] = mapping.value(indexAtRank(positives, rank - negativeCount - this.zero, true));
      }
    }
    return out;
  }
}

interface SortedBuckets {
  indices: number[];
  counts: number[];
}

function add(buckets: Map<number, number>, index: number, count: number): void {
  buckets.set(index, (buckets.get(index) ?? 0) + count);
}

function sortedBuckets(buckets: Map<number, number>): SortedBuckets {
  const indices = Array.from(buckets.keys()).sort((a, b) => a - b);
  return { indices, counts: indices.map((index) => buckets.get(index)!) };
}

function total(counts: number[]): number {
  let sum = 0;
  for (const count of counts) sum += count;
  return sum;
}

/**
 * Index of the bucket holding the element of (possibly fractional) `rank`, in ascending index
 * order. `lower`: ranks in [k, k+1) belong to element k; otherwise ranks in (k−1, k] do
 * (the mirrored rule used for the negative side, as DDSketch's keyAtRank).
 */
function indexAtRank(buckets: SortedBuckets, rank: number, lower: boolean): number {
  let running = 0;
  for (let j = 0; j < buckets.indices.length; j++) {
    running += buckets.counts[j]!;
    if (lower ? running > rank : running >= rank + 1) return buckets.indices[j]!;
  }
  return buckets.indices[buckets.indices.length - 1]!;
}
