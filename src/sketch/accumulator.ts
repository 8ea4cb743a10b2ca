// The in-memory side of a sketch: observations of one series between two flushes, coalesced
// into one count per touched bucket. add() runs on the hot path of Summary.observe, so it does
// a log and an array increment, and allocates only when the range of indices grows.

import { SKETCH_PART } from "../store/lua.generated.ts";
import { useScriptPart } from "../store/scripts.ts";
import { DEFAULT_BUCKET_CAP } from "./collapse.ts";
import { DenseCounts, type MemoryBudget } from "./dense.ts";
import { negativeToken, positiveToken, ZERO_TOKEN } from "./fields.ts";
import type { LogMapping } from "./mapping.ts";

export class SketchAccumulator {
  readonly #mapping: LogMapping;
  /** Each side spans at most `cap` indices: a flush carries at most `cap` buckets per side. */
  readonly #positive: DenseCounts;
  readonly #negative: DenseCounts;
  #zero = 0;
  /** Observations since the last drain. */
  count = 0;

  /** `budget` pays for the bucket arrays (dense.ts); release() gives them back. */
  constructor(mapping: LogMapping, cap: number = DEFAULT_BUCKET_CAP, budget?: MemoryBudget) {
    useScriptPart(SKETCH_PART); // the write script merges what this sends
    if (!Number.isInteger(cap) || cap < 1) {
      throw new RangeError(`bucket cap must be a positive integer, got ${cap}`);
    }
    this.#mapping = mapping;
    this.#positive = new DenseCounts(cap, budget);
    this.#negative = new DenseCounts(cap, budget);
  }

  /**
   * Records one observation; false (nothing recorded) when the budget has no room for it.
   * Throws on NaN; ±Infinity land in the outermost bucket.
   */
  add(value: number): boolean {
    const mapping = this.#mapping;
    if (value > mapping.minIndexable) {
      if (!this.#positive.add(mapping.index(value))) return false;
    } else if (value < -mapping.minIndexable) {
      if (!this.#negative.add(mapping.index(-value))) return false;
    } else if (!Number.isNaN(value)) {
      this.#zero++;
    } else {
      throw new TypeError("cannot observe NaN");
    }
    this.count++;
    return true;
  }

  /** Bytes of budget its bucket arrays hold. */
  get bytes(): number {
    return this.#positive.bytes + this.#negative.bytes;
  }

  /** Gives its memory back to the budget; the accumulator is not used afterwards. */
  release(): void {
    this.#positive.release();
    this.#negative.release();
  }

  /** Number of distinct buckets pending (both sides and the zero count). */
  get bucketCount(): number {
    return this.#positive.size + this.#negative.size + (this.#zero > 0 ? 1 : 0);
  }

  /** The pending buckets as sketch tokens (fields.ts). */
  tokens(): string {
    const out: string[] = [];
    this.#positive.forEach((index, count) => {
      out.push(positiveToken(index, count));
    });
    this.#negative.forEach((index, count) => {
      out.push(negativeToken(index, count));
    });
    if (this.#zero > 0) out.push(`${ZERO_TOKEN}:${this.#zero}`);
    return out.join(" ");
  }
}
