// The merge rule of native_merge (src/store/lua/native.lua) in TypeScript, producing the same
// string or the same error: the model test/native/lua.test.ts holds the Lua to, and a merge for
// tests that combine packed values outside Redis; with the canonical writer of any histogram.
// Test-only: Redis does every merge, the accumulator writes its own deltas.

import type { NativeAccumulator } from "../../src/native/accumulator.ts";
import {
  DIGITS,
  decodePacked,
  type NativeHistogram,
  packFloat,
  packNumber,
} from "../../src/native/packed.ts";
import { insideZero, MAX_SCHEMA, MIN_SCHEMA } from "../../src/native/schema.ts";

/** Largest count (and number) accepted: beyond 2^53 integers stop being exact. */
const MAX = 2 ** 53;

/** A parsed packed string whose buckets are still maps (index → count). */
interface ParsedPacked {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  positive: Map<number, number>;
  negative: Map<number, number>;
}

function bad(what: string): never {
  throw new Error(`bad native histogram: ${what}`);
}

/** Parses a packed string exactly as native_parse does, throwing Lua's message if malformed. */
function parsePacked(s: string): ParsedPacked {
  let at = 0;
  const read = (signed?: boolean): number => {
    let prefix = 0;
    for (;;) {
      const d = DIGITS.indexOf(s[at] ?? "\u0000");
      if (d < 0) bad("malformed");
      at++;
      let base = 27;
      let t = d - 62;
      if (d < 62) {
        base = signed ? 31 : 62;
        t = signed ? Math.floor(d / 2) : d;
      }
      if (prefix * base > MAX - t) bad("malformed");
      prefix = prefix * base + t;
      if (d < 62) return signed && d % 2 === 1 ? -prefix : prefix;
    }
  };
  const float = (): number => {
    const m = read(true);
    const e = read(true);
    const x = m * 2 ** e;
    if (e < -1074 || e > 1023 || !Number.isFinite(x)) bad("malformed");
    return x + 0;
  };
  const schema = read(true);
  const zeroThreshold = float();
  const zeroCount = read();
  const count = read();
  const sum = float();
  if (schema < MIN_SCHEMA || schema > MAX_SCHEMA) bad("malformed");
  if (zeroThreshold < 0) bad("malformed");
  const low = Math.ceil(-1074 * 2 ** schema);
  const high = Math.ceil(1024 * 2 ** schema) + 1;
  const sides = [new Map<number, number>(), new Map<number, number>()];
  for (const side of sides) {
    let i = 0;
    let n = 0;
    for (let spans = read(), k = 0; k < spans; k++) {
      i += read(true);
      for (let length = read(), j = 0; j < length; j++) {
        const delta = read(true);
        if (delta < -n || delta > MAX - n || i < low || i > high) bad("malformed");
        n += delta;
        side.set(i, (side.get(i) ?? 0) + n);
        i++;
      }
    }
  }
  if (at < s.length) bad("malformed");
  return {
    schema,
    zeroThreshold,
    zeroCount,
    count,
    sum,
    positive: sides[0]!,
    negative: sides[1]!,
  };
}

/**
 * The packed sum of two native histograms, exactly as native_merge computes it: counts, zero
 * counts, count and sum add; the lower schema wins (the finer side's buckets merge pairwise
 * down to it); the larger zero threshold wins and buckets wholly inside it join the zero count;
 * then, while more than maxBuckets buckets remain, the schema is lowered again (never below
 * −4, and no count is ever dropped). `old` may be missing. Throws "bad native histogram: …" on
 * malformed input, a sum that is not finite or a count past 2^53.
 */
export function mergePacked(old: string | undefined, delta: string, maxBuckets: number): string {
  const d = parsePacked(delta);
  const o: ParsedPacked =
    old === undefined
      ? { ...d, zeroCount: 0, count: 0, sum: 0, positive: new Map(), negative: new Map() }
      : parsePacked(old);
  let schema = Math.min(d.schema, o.schema);
  const zeroThreshold = Math.max(d.zeroThreshold, o.zeroThreshold);
  let zeroCount = o.zeroCount + d.zeroCount;
  const total = o.count + d.count;
  const sum = o.sum + d.sum;
  let sides = [new Map<number, number>(), new Map<number, number>()];
  let buckets = 0;
  for (const h of [o, d]) {
    const scale = 2 ** (h.schema - schema);
    [h.positive, h.negative].forEach((from, s) => {
      const into = sides[s]!;
      for (const [index, n] of from) {
        if (n === 0) continue;
        const i = Math.ceil(index / scale) + 0;
        if (insideZero(i, schema, zeroThreshold)) {
          zeroCount += n;
          continue;
        }
        const had = into.get(i);
        if (had === undefined) buckets++;
        into.set(i, (had ?? 0) + n);
      }
    });
  }
  while (buckets > maxBuckets && schema > MIN_SCHEMA) {
    schema--;
    buckets = 0;
    sides = sides.map((side) => {
      const merged = new Map<number, number>();
      for (const [index, n] of side) {
        const i = Math.ceil(index / 2) + 0;
        const had = merged.get(i);
        if (had === undefined) buckets++;
        merged.set(i, (had ?? 0) + n);
      }
      return merged;
    });
  }
  if (!Number.isFinite(sum)) bad("sum not finite");
  if (total > MAX || zeroCount > MAX) bad("count too large");
  for (const side of sides) for (const n of side.values()) if (n > MAX) bad("count too large");
  return encodePacked({
    schema,
    zeroThreshold,
    zeroCount,
    count: total,
    sum,
    positive: sorted(sides[0]!),
    negative: sorted(sides[1]!),
  });
}

function sorted(buckets: Map<number, number>): [number, number][] {
  return [...buckets].sort((a, b) => a[0] - b[0]);
}

/** The canonical packed string of a native histogram (buckets by ascending index, zero counts left out). */
export function encodePacked(h: NativeHistogram): string {
  let out =
    packNumber(h.schema, true) +
    packFloat(h.zeroThreshold) +
    packNumber(h.zeroCount) +
    packNumber(h.count) +
    packFloat(h.sum);
  for (const buckets of [h.positive, h.negative]) {
    const side = buckets.filter(([, n]) => n > 0);
    let spans = 0;
    let next = 0;
    let previous = 0;
    let body = "";
    for (let k = 0, j = 0; k < side.length; k = ++j) {
      // A span runs on while the next bucket is at most one empty bucket away.
      while (j + 1 < side.length && side[j + 1]![0] - side[j]![0] <= 2) j++;
      const first = side[k]![0];
      body += packNumber(first - next, true) + packNumber(side[j]![0] - first + 1);
      for (let i = k; i <= j; i++) {
        const [index, n] = side[i]!;
        if (i > k && index - side[i - 1]![0] === 2) {
          body += packNumber(-previous, true); // the empty bucket between, as a zero count
          previous = 0;
        }
        body += packNumber(n - previous, true);
        previous = n;
      }
      next = side[j]![0] + 1;
      spans++;
    }
    out += packNumber(spans) + body;
  }
  return out;
}

/** An accumulator's pending buckets, read back from its packed delta. */
export function bucketsOf(acc: NativeAccumulator): Pick<NativeHistogram, "positive" | "negative"> {
  const { positive, negative } = decodePacked(acc.encode(0));
  return { positive, negative };
}
