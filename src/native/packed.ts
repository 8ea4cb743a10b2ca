// One series' native histogram as one string: the flush delta, and the value of its Redis hash
// field. Space-separated tokens:
//
//   <schema> <zeroThreshold> <zeroCount> <count> <sum> p<index>:<count>… n<index>:<count>…
//
// Integers are written as integers, floats so that they read back exactly (Number() here,
// tonumber() in Lua): String(x) in a delta, string.format('%.17g', x) when Lua writes a merged
// value (format-g17.ts writes that form too). merge.ts is the rule Lua applies in Redis.

import type { NativeBuckets } from "../types.ts";

/** A whole native histogram: the buckets plus the series' count and sum. */
export interface NativeHistogram extends NativeBuckets {
  count: number;
  sum: number;
}

/** The shortest text that reads back as exactly x, −0 included. */
const exact = (x: number): string => (Object.is(x, -0) ? "-0" : String(x));

/**
 * The packed string of a native histogram (buckets by ascending index, zero counts left out);
 * `format` writes the two floats (any exact form; merge.ts passes Lua's).
 */
export function encodePacked(h: NativeHistogram, format: (x: number) => string = exact): string {
  let out = `${h.schema} ${format(h.zeroThreshold)} ${h.zeroCount} ${h.count} ${format(h.sum)}`;
  for (const [index, count] of h.positive) if (count > 0) out += ` p${index}:${count}`;
  for (const [index, count] of h.negative) if (count > 0) out += ` n${index}:${count}`;
  return out;
}

/**
 * Reads a packed string as the Lua merge writes it (canonical: buckets sorted, one space, no
 * duplicates). Throws on anything that is not a number where one belongs; the thorough check
 * of every token runs in Redis before a value is written (lua.ts, merge.ts).
 */
export function decodePacked(packed: string): NativeHistogram {
  const t = packed.split(" ");
  const positive: [number, number][] = [];
  const negative: [number, number][] = [];
  const h: NativeHistogram = {
    schema: Number(t[0]),
    zeroThreshold: Number(t[1]),
    zeroCount: Number(t[2]),
    count: Number(t[3]),
    sum: Number(t[4]),
    positive,
    negative,
  };
  let ok = t.length >= 5 && t.slice(0, 5).every((x) => Number.isFinite(Number(x)));
  for (let k = 5; k < t.length; k++) {
    const token = t[k]!;
    const cut = token.indexOf(":");
    const bucket: [number, number] = [Number(token.slice(1, cut)), Number(token.slice(cut + 1))];
    ok &&= /^[pn]/.test(token) && cut > 1 && Number.isInteger(bucket[0]) && bucket[1] > 0;
    (token[0] === "n" ? negative : positive).push(bucket);
  }
  if (!ok) throw new Error(`bad native histogram: ${packed.slice(0, 80)}`);
  return h;
}
