// Bounding the number of buckets of one side of a sketch, as DDSketch's
// CollapsingLowestDenseStore does: past the cap, the lowest indices are folded into the lowest
// bucket that is kept. High quantiles (what a latency summary is read for) keep their accuracy;
// only quantiles that fall in the folded range lose it. The same rule runs in Redis
// (store/lua/sketch.lua).

/** Default maximum number of buckets per side of a sketch. */
export const DEFAULT_BUCKET_CAP = 2048;

/**
 * Folds the lowest buckets of `buckets` until at most `cap` remain. Returns the new floor (the
 * lowest kept index: later values below it belong there), or undefined if nothing was folded.
 */
export function collapseLowest(buckets: Map<number, number>, cap: number): number | undefined {
  const excess = buckets.size - cap;
  if (excess <= 0) return undefined;
  const indices = Array.from(buckets.keys()).sort((a, b) => a - b);
  const floor = indices[excess]!;
  let folded = 0;
  for (let j = 0; j < excess; j++) {
    const index = indices[j]!;
    folded += buckets.get(index)!;
    buckets.delete(index);
  }
  buckets.set(floor, buckets.get(floor)! + folded);
  return floor;
}
