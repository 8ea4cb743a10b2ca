/** prom-client's default histogram buckets (seconds). */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

export function linearBuckets(start: number, width: number, count: number): number[] {
  if (!(count >= 1) || !Number.isInteger(count))
    throw new Error("Linear buckets needs a positive count");
  if (!(width > 0)) throw new Error("Linear buckets needs a positive width");
  return Array.from({ length: count }, (_, i) => start + i * width);
}

export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  if (!(start > 0)) throw new Error("Exponential buckets needs a positive start value");
  if (!(factor > 1)) throw new Error("Exponential buckets needs a factor greater than 1");
  if (!(count >= 1) || !Number.isInteger(count)) {
    throw new Error("Exponential buckets needs a positive count");
  }
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}
