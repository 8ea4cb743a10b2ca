// Counts of one side of a sketch over a contiguous range of bucket indices: an array increment
// per observation instead of a Map lookup (about 17 ns against 40 ns per add, measured). The
// range grows by doubling, and once it would span more than `maxSpan` indices the lowest are
// folded into the lowest kept slot, exactly as DDSketch's CollapsingLowestDenseStore does with
// binLimit = maxSpan (test/sketch/sketch.test.ts holds them to the same answers). This bounds
// the memory and the flush size of a batch; Redis applies its own cap on top
// (store/lua/sketch.lua), by number of buckets rather than by span, which never folds more
// than this does.
//
// The array's bytes come out of a memory budget shared by every sketch of a registry. When the
// budget has no room for a larger array (growth stops at half of it, so that new series still
// find room), the counts collapse within the array they have: the same lowest-first folding,
// over a shorter span. Only a side that has no array yet and finds the budget full cannot
// record, and says so (add returns false).

const INITIAL_LENGTH = 16;

/** Bytes a registry lets its pending data take (limits.ts). */
export interface MemoryBudget {
  /** Room for a new array: false when the budget is full. */
  reserve(bytes: number): boolean;
  /** Room to grow an array: refused earlier, so that new series still find room. */
  grow(bytes: number): boolean;
  release(bytes: number): void;
}

const UNBOUNDED: MemoryBudget = { reserve: () => true, grow: () => true, release: () => {} };

export class DenseCounts {
  readonly #maxSpan: number;
  readonly #budget: MemoryBudget;
  #counts = new Float64Array(0);
  /** Bucket index of counts[0]. */
  #offset = 0;
  /** Index range touched since the last clear (min > max when empty). */
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;
  /** Once collapsed, indices below counts[0] belong to counts[0]. */
  #collapsed = false;

  constructor(maxSpan: number, budget: MemoryBudget = UNBOUNDED) {
    this.#maxSpan = maxSpan;
    this.#budget = budget;
  }

  /** Counts one value of bucket `index`; false when there is no memory to hold it. */
  add(index: number): boolean {
    let slot = index - this.#offset;
    if (slot < 0 || slot >= this.#counts.length) {
      slot = this.#makeRoom(index);
      if (slot < 0) return false;
    }
    this.#counts[slot]!++;
    if (index < this.#min) this.#min = Math.max(index, this.#offset);
    if (index > this.#max) this.#max = index;
    return true;
  }

  /** Bytes of budget this holds. */
  get bytes(): number {
    return this.#counts.byteLength;
  }

  /** Gives its memory back to the budget (the counts are dropped). */
  release(): void {
    this.#budget.release(this.#counts.byteLength);
    this.#counts = new Float64Array(0);
    this.#min = Number.POSITIVE_INFINITY;
    this.#max = Number.NEGATIVE_INFINITY;
    this.#collapsed = false;
  }

  get #isEmpty(): boolean {
    return this.#min > this.#max;
  }

  /** Number of non-empty buckets. */
  get size(): number {
    let n = 0;
    for (let i = this.#min; i <= this.#max; i++) if (this.#counts[i - this.#offset]! > 0) n++;
    return n;
  }

  /** Calls `visit` for every non-empty bucket in ascending index order. */
  forEach(visit: (index: number, count: number) => void): void {
    for (let i = this.#min; i <= this.#max; i++) {
      const count = this.#counts[i - this.#offset]!;
      if (count > 0) visit(i, count);
    }
  }

  /** Empties the counts, keeping the array for the next batch. */
  clear(): void {
    if (!this.#isEmpty)
      this.#counts.fill(0, this.#min - this.#offset, this.#max - this.#offset + 1);
    this.#min = Number.POSITIVE_INFINITY;
    this.#max = Number.NEGATIVE_INFINITY;
    this.#collapsed = false;
  }

  /**
   * Grows, recentres or collapses the array so that `index` has a slot; returns the slot, or −1
   * when there is no array and the budget cannot pay for one.
   */
  #makeRoom(index: number): number {
    if (this.#isEmpty) {
      if (this.#counts.length === 0) {
        const length = Math.min(INITIAL_LENGTH, this.#maxSpan);
        if (!this.#budget.reserve(8 * length)) return -1;
        this.#counts = new Float64Array(length);
      }
      this.#offset = index - (this.#counts.length >> 1);
      return index - this.#offset;
    }
    if (index < this.#offset && this.#collapsed) return 0;
    const low = Math.min(this.#min, index);
    const high = Math.max(this.#max, index);
    const span = high - low + 1;
    let length = this.#counts.length;
    while (length < span) length *= 2;
    length = Math.min(length, this.#maxSpan);
    if (length > this.#counts.length && !this.#budget.grow(8 * (length - this.#counts.length))) {
      length = this.#counts.length; // no room to grow: fold within what we have
    }
    if (span > length) return this.#collapseTo(high, index, length);
    this.#relocate(length, low - ((length - span) >> 1));
    return index - this.#offset;
  }

  /** Keeps [high − span + 1, high] in an array of `span`, folding lower counts into slot 0. */
  #collapseTo(high: number, index: number, span: number): number {
    const floor = high - span + 1;
    let folded = 0;
    for (let i = this.#min; i < floor && i <= this.#max; i++)
      folded += this.#counts[i - this.#offset]!;
    this.#relocate(span, floor);
    this.#counts[0]! += folded;
    this.#collapsed = true;
    return index < floor ? 0 : index - floor;
  }

  /** Moves the live counts at or above `offset` into a new array of `length` from `offset`. */
  #relocate(length: number, offset: number): void {
    const next = new Float64Array(length);
    const start = Math.max(this.#min, offset);
    for (let i = start; i <= this.#max; i++) next[i - offset] = this.#counts[i - this.#offset]!;
    this.#counts = next;
    this.#offset = offset;
    // After a collapse everything below `offset` now lives in slot 0.
    if (this.#min < offset) this.#min = offset;
    if (this.#max < offset) this.#max = offset;
  }
}
