// How one sketch is written as text (the flush delta and the value of one Redis hash field per
// summary series and time slice): tokens separated by spaces, so instances merge by adding the
// counts of equal buckets (store/scripts.ts runs sketch_merge from store/lua/sketch.lua).
//
//   "<i>:<c>"   c positive values in bucket i (i may be negative: values below 1)
//   "n<i>:<c>"  c negative values whose magnitude is in bucket i
//   "z:<c>"     c zeros (and magnitudes too small to index)
//   "fp:<i>"    collapse floor of the positive side: buckets below it were folded into it
//   "fn:<i>"    the same for the negative side

export const ZERO_TOKEN = "z";
export const POSITIVE_FLOOR_TOKEN = "fp";
export const NEGATIVE_FLOOR_TOKEN = "fn";
export const NEGATIVE_PREFIX = "n";

export function positiveToken(index: number, count: number): string {
  return `${index}:${count}`;
}

export function negativeToken(index: number, count: number): string {
  return `${NEGATIVE_PREFIX}${index}:${count}`;
}
