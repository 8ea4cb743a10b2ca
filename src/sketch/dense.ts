// Counts of one side of a sketch over a contiguous range of bucket indices: an array increment
// per observation instead of a Map lookup (about 17 ns against 40 ns per add, measured). The
// range grows by doubling, and once it would span more than `maxSpan` indices the lowest are
// folded into the lowest kept slot, exactly as DDSketch's CollapsingLowestDenseStore does with
// binLimit = maxSpan (test/sketch/sketch.test.ts holds them to the same answers). This bounds
// the memory and the flush size of a batch; Redis applies its own cap on top (lua.ts), by
// number of buckets rather than by span, which never folds more than this does.

const INITIAL_LENGTH = 64;

export class DenseCounts {
  private readonly maxSpan: number;
  private counts = new Float64Array(0);
  /** Bucket index of counts[0]. */
  private offset = 0;
  /** Index range touched since the last clear (min > max when empty). */
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  /** Once collapsed, indices below counts[0] belong to counts[0]. */
  private collapsed = false;

  constructor(maxSpan: number) {
    this.maxSpan = maxSpan;
  }

  add(index: number): void {
    let slot = index - this.offset;
    if (slot < 0 || slot >= this.counts.length) slot = this.makeRoom(index);
    this.counts[slot]!++;
    if (index < this.min) this.min = Math.max(index, this.offset);
    if (index > this.max) this.max = index;
  }

  get isEmpty(): boolean {
    return this.min > this.max;
  }

  /** Number of non-empty buckets. */
  get size(): number {
    let n = 0;
    for (let i = this.min; i <= this.max; i++) if (this.counts[i - this.offset]! > 0) n++;
    return n;
  }

  /** Calls `visit` for every non-empty bucket in ascending index order. */
  forEach(visit: (index: number, count: number) => void): void {
    for (let i = this.min; i <= this.max; i++) {
      const count = this.counts[i - this.offset]!;
      if (count > 0) visit(i, count);
    }
  }

  /** Empties the counts, keeping the array for the next batch. */
  clear(): void {
    if (!this.isEmpty) this.counts.fill(0, this.min - this.offset, this.max - this.offset + 1);
    this.min = Number.POSITIVE_INFINITY;
    this.max = Number.NEGATIVE_INFINITY;
    this.collapsed = false;
  }

  /** Grows, recentres or collapses the array so that `index` has a slot; returns the slot. */
  private makeRoom(index: number): number {
    if (this.isEmpty) {
      if (this.counts.length === 0) this.counts = new Float64Array(INITIAL_LENGTH);
      this.offset = index - (this.counts.length >> 1);
      return index - this.offset;
    }
    if (index < this.offset && this.collapsed) return 0;
    const low = Math.min(this.min, index);
    const high = Math.max(this.max, index);
    const span = high - low + 1;
    if (span > this.maxSpan) return this.collapseTo(high, index);
    let length = this.counts.length;
    while (length < span) length *= 2;
    length = Math.min(length, this.maxSpan);
    this.relocate(length, low - ((length - span) >> 1));
    return index - this.offset;
  }

  /** Keeps [high − maxSpan + 1, high], folding lower counts into the first slot. */
  private collapseTo(high: number, index: number): number {
    const floor = high - this.maxSpan + 1;
    let folded = 0;
    for (let i = this.min; i < floor && i <= this.max; i++) folded += this.counts[i - this.offset]!;
    this.relocate(this.maxSpan, floor);
    this.counts[0]! += folded;
    this.collapsed = true;
    return index < floor ? 0 : index - floor;
  }

  /** Moves the live counts at or above `offset` into a new array of `length` from `offset`. */
  private relocate(length: number, offset: number): void {
    const next = new Float64Array(length);
    const start = Math.max(this.min, offset);
    for (let i = start; i <= this.max; i++) next[i - offset] = this.counts[i - this.offset]!;
    this.counts = next;
    this.offset = offset;
    // After a collapse everything below `offset` now lives in slot 0.
    if (this.min < offset) this.min = offset;
    if (this.max < offset) this.max = offset;
  }
}
