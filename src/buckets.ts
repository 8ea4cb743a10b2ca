// Bucket generators with prom-client's results and errors: the bounds are computed the same
// way (exponential ones by repeated multiplication), so `le` strings — and the dashboards
// built on them — are the same as prom-client's. A Histogram checks the bounds it is given.

/** prom-client's default histogram buckets (seconds). */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

export function linearBuckets(start: number, width: number, count: number): number[] {
  if (count < 1) throw new Error("Linear buckets needs a positive count");
  const buckets = new Array<number>(count);
  for (let i = 0; i < count; i++) buckets[i] = start + i * width;
  return buckets;
}

export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  if (start <= 0) throw new Error("Exponential buckets needs a positive start");
  if (count < 1) throw new Error("Exponential buckets needs a positive count");
  if (factor <= 1) throw new Error("Exponential buckets needs a factor greater than 1");
  const buckets = new Array<number>(count);
  let bound = start;
  for (let i = 0; i < count; i++) {
    buckets[i] = bound;
    bound *= factor;
  }
  return buckets;
}
