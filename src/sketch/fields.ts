// How one sketch is laid out in a Redis hash (one hash per summary series and time slice).
// Buckets are plain counters, so instances merge by HINCRBY on the same fields.
//
//   "<i>"   count of positive values in bucket i (i may be negative: values below 1)
//   "n<i>"  count of negative values whose magnitude is in bucket i
//   "z"     count of zeros (and of magnitudes too small to index)
//   "fp"    collapse floor of the positive side: buckets below it were folded into it
//   "fn"    the same for the negative side
//
// Positive buckets, by far the common case, carry no prefix so Redis keeps them as integers.

export const ZERO_FIELD = "z";
export const POSITIVE_FLOOR_FIELD = "fp";
export const NEGATIVE_FLOOR_FIELD = "fn";
export const NEGATIVE_PREFIX = "n";

export function positiveField(index: number): string {
  return String(index);
}

export function negativeField(index: number): string {
  return NEGATIVE_PREFIX + index;
}
