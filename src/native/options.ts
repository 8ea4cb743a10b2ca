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
  const check = (ok: boolean, what: string, value: unknown) => {
    if (!ok) throw new Error(`Invalid native ${what} ${String(value)} for histogram ${metric}`);
  };
  check(typeof o === "object" && o !== null, "option", o);
  const { bucketFactor: factor, zeroThreshold = DEFAULT_ZERO_THRESHOLD } = o;
  const { maxBuckets = DEFAULT_NATIVE_MAX_BUCKETS } = o;
  check(factor === undefined || o.schema === undefined, "schema (or bucketFactor)", o.schema);
  check(factor === undefined || (factor > 1 && factor < Infinity), "bucketFactor", factor);
  const schema =
    factor === undefined ? (o.schema ?? DEFAULT_NATIVE_SCHEMA) : schemaOfFactor(factor);
  check(Number.isInteger(schema) && schema >= MIN_SCHEMA && schema <= MAX_SCHEMA, "schema", schema);
  check(zeroThreshold >= 0 && zeroThreshold < Infinity, "zeroThreshold", zeroThreshold);
  check(Number.isInteger(maxBuckets) && maxBuckets >= 1, "maxBuckets", maxBuckets);
  return { schema, zeroThreshold, maxBuckets };
}
