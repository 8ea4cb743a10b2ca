// The `native` option of a Histogram, named after Prometheus' own clients: client_java's
// nativeInitialSchema / nativeMaxNumberOfBuckets, client_golang's NativeHistogramBucketFactor /
// NativeHistogramZeroThreshold / NativeHistogramMaxBucketNumber.

import { DEFAULT_ZERO_THRESHOLD, MAX_SCHEMA, MIN_SCHEMA, schemaOfFactor } from "./schema.ts";

export interface NativeHistogramOptions {
  /**
   * Starting resolution, −4..8 (client_java's nativeInitialSchema): boundaries are powers of
   * 2^(2^−schema), so 5 means buckets 2.2% wide (quantiles within about ±1.1%). Lowered by
   * itself, never raised, when a series would exceed maxBuckets. Default 5.
   */
  schema?: number;
  /**
   * Instead of `schema` (client_golang's NativeHistogramBucketFactor): the widest acceptable
   * ratio between neighbouring boundaries, > 1; picks the coarsest schema within it (1.1 → 3).
   */
  bucketFactor?: number;
  /** |v| ≤ zeroThreshold counts in the zero bucket. Default 2^−128 (client_golang's). */
  zeroThreshold?: number;
  /**
   * Most buckets one series keeps, both signs together, in memory and in Redis (client_java's
   * nativeMaxNumberOfBuckets, default 160); past it the resolution is halved, no data dropped.
   */
  maxBuckets?: number;
}

/** The resolved native configuration of a histogram. */
export interface NativeConfig {
  schema: number;
  zeroThreshold: number;
  maxBuckets: number;
}

export const DEFAULT_NATIVE_SCHEMA = 5;
export const DEFAULT_NATIVE_MAX_BUCKETS = 160;

/** `native: true | {…}` → the configuration; undefined when native buckets are off. */
export function resolveNativeOptions(
  metric: string,
  native: boolean | NativeHistogramOptions | undefined,
): NativeConfig | undefined {
  if (native === undefined || native === false) return undefined;
  const o: NativeHistogramOptions = native === true ? {} : native;
  if (typeof o !== "object" || o === null) {
    throw new TypeError(`native of ${metric} must be true, false or an options object`);
  }
  if (o.schema !== undefined && o.bucketFactor !== undefined) {
    throw new Error(`native of ${metric}: give schema or bucketFactor, not both`);
  }
  if (o.bucketFactor !== undefined && !(o.bucketFactor > 1 && o.bucketFactor < Infinity)) {
    throw new Error(`native bucketFactor of ${metric} must be a number > 1, got ${o.bucketFactor}`);
  }
  const schema =
    o.bucketFactor !== undefined
      ? schemaOfFactor(o.bucketFactor)
      : (o.schema ?? DEFAULT_NATIVE_SCHEMA);
  if (!Number.isInteger(schema) || schema < MIN_SCHEMA || schema > MAX_SCHEMA) {
    throw new Error(`native schema of ${metric} must be an integer in -4..8, got ${schema}`);
  }
  const zeroThreshold = o.zeroThreshold ?? DEFAULT_ZERO_THRESHOLD;
  if (!(zeroThreshold >= 0 && zeroThreshold < Infinity)) {
    throw new Error(`native zeroThreshold of ${metric} must be a finite number >= 0`);
  }
  const maxBuckets = o.maxBuckets ?? DEFAULT_NATIVE_MAX_BUCKETS;
  if (!Number.isInteger(maxBuckets) || maxBuckets < 1) {
    throw new Error(`native maxBuckets of ${metric} must be a positive integer, got ${maxBuckets}`);
  }
  return { schema, zeroThreshold, maxBuckets };
}
