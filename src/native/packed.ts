// One series' native histogram as one string: the flush delta, and the value of its Redis hash
// field (merged there by native_merge in store/lua/native.lua). A run of self-delimiting
// numbers in printable ASCII, no separators (docs/native-histograms.md, "The packed value"):
//
//   schema:s  zeroThreshold:f  zeroCount:u  count:u  sum:f  side(positive)  side(negative)
//   side  = spans:u, then per span  offset:s  length:u  and length count deltas:s
//   f     = mantissa:s exponent:s   (value = mantissa·2^exponent, mantissa odd, or 0 0)
//
// A number is continuation digits (`!#$%'()*+,-./:;=?@[]^_\`{|}~`, 0–26, base 27, most
// significant first) ended by one terminal digit (`0-9A-Za-z`, 0–61): u = prefix·62 + t;
// s = ±(prefix·31 + ⌊t/2⌋), negative when t is odd. A span's offset counts from the end of the
// previous span (from index 0 for the first); the counts are deltas from the previous bucket
// of the side. Canonical form (what every writer produces: native_merge in Lua, the
// accumulator's delta, test/native/merge-model.ts): buckets ascending, one empty bucket between
// two others written as a zero count, a wider gap starting a new span.

import type { NativeBuckets } from "../types.ts";
import { frexp } from "./schema.ts";

/** A whole native histogram: the buckets plus the series' count and sum. */
export interface NativeHistogram extends NativeBuckets {
  count: number;
  sum: number;
}

/** Terminal digits 0–61, then continuation digits 0–26: no space, `"`, `\`, `&`, `<`, `>`. */
export const DIGITS =
  "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%'()*+,-./:;=?@[]^_`{|}~";
const TERMINALS = 62;
const CONTINUATION = 27;

/** The digits of an integer |v| ≤ 2^53; `signed` puts the sign in the last digit's low bit. */
export function packNumber(v: number, signed?: boolean): string {
  const magnitude = Math.abs(v);
  const base = signed ? TERMINALS / 2 : TERMINALS;
  let prefix = Math.floor(magnitude / base);
  let t = magnitude - prefix * base;
  if (signed) t = 2 * t + (v < 0 ? 1 : 0);
  let out = DIGITS[t]!;
  while (prefix > 0) {
    out = DIGITS[TERMINALS + (prefix % CONTINUATION)]! + out;
    prefix = Math.floor(prefix / CONTINUATION);
  }
  return out;
}

/** A float as mantissa and exponent (exact); a non-finite x as a form every reader refuses. */
export function packFloat(x: number): string {
  if (x === 0) return "00";
  if (!Number.isFinite(x)) return packNumber(1, true) + packNumber(2000, true); // 2^2000: refused
  let [m, e] = frexp(Math.abs(x));
  m *= 2 ** 53; // an integer: x = m·2^(e − 53)
  e -= 53;
  while (m % 2 === 0) {
    m /= 2;
    e++;
  }
  return packNumber(x < 0 ? -m : m, true) + packNumber(e, true);
}

const VALUE = new Int8Array(128).fill(-1);
for (let k = 0; k < DIGITS.length; k++) VALUE[DIGITS.charCodeAt(k)] = k;

/**
 * Reads a packed string as the Lua merge writes it (canonical). Throws on a character or a
 * structure that is not a packed histogram; the thorough check of every number (ranges, 2^53)
 * runs in Redis before a value is written.
 */
export function decodePacked(packed: string): NativeHistogram {
  let at = 0;
  const read = (signed?: boolean): number => {
    let prefix = 0;
    for (;;) {
      const d = VALUE[packed.charCodeAt(at++)] ?? -1;
      if (d < 0) throw new Error(`bad native histogram: ${packed.slice(0, 80)}`);
      if (d >= TERMINALS) prefix = prefix * CONTINUATION + d - TERMINALS;
      else if (!signed) return prefix * TERMINALS + d;
      else return (d & 1 ? -1 : 1) * (prefix * (TERMINALS / 2) + (d >> 1));
    }
  };
  const float = () => read(true) * 2 ** read(true) + 0;
  const positive: [number, number][] = [];
  const negative: [number, number][] = [];
  const h: NativeHistogram = {
    schema: read(true),
    zeroThreshold: float(),
    zeroCount: read(),
    count: read(),
    sum: float(),
    positive,
    negative,
  };
  for (const side of [positive, negative]) {
    let index = 0;
    let n = 0;
    for (let spans = read(); spans > 0; spans--) {
      index += read(true);
      for (let length = read(); length > 0; length--, index++) {
        n += read(true);
        if (n > 0) side.push([index, n]);
      }
    }
  }
  if (at !== packed.length) throw new Error(`bad native histogram: ${packed.slice(0, 80)}`);
  return h;
}
