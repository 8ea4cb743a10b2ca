// One series' native histogram as one string: the flush delta, and the value of its Redis hash
// field. Space-separated tokens:
//
//   <schema> <zeroThreshold> <zeroCount> <count> <sum> p<index>:<count>… n<index>:<count>…
//
// Integers are written as integers, the two floats as Lua's string.format('%.17g', x) writes
// them, so every number reads back exactly (Number() here, tonumber() in Lua). mergePacked is
// the rule the Lua snippet (lua.ts) applies in Redis; test/native/lua.test.ts holds the two to
// identical strings.

import type { NativeBuckets } from "../types.ts";
import { insideZero, MAX_SCHEMA, MIN_SCHEMA } from "./schema.ts";

/** A whole native histogram: the buckets plus the series' count and sum. */
export interface NativeHistogram extends NativeBuckets {
  count: number;
  sum: number;
}

/** Largest count accepted: beyond 2^53 integers stop being exact. */
const MAX_COUNT = 2 ** 53;

/**
 * x as C's printf("%.17g") (and so Lua's string.format) writes it: 17 significant digits
 * rounded half to even, trailing zeros dropped, an exponent (two digits at least) below 1e-4
 * or from 1e17 on. Reads back as exactly x.
 */
export function formatG17(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e17) return Object.is(x, -0) ? "-0" : String(x);
  if (!Number.isFinite(x)) return x > 0 ? "inf" : x < 0 ? "-inf" : "nan";
  const magnitude = Math.abs(x);
  // toExponential rounds a tie up; C rounds it to even. A tie needs the exact value to have 18
  // significant digits ending in 5, so check the 18-digit form exactly when it ends so.
  const [m17, e17] = magnitude.toExponential(16).split("e") as [string, string];
  let digits = m17.replace(".", "");
  let exp = Number(e17);
  const [m18, e18] = magnitude.toExponential(17).split("e") as [string, string];
  if (m18.endsWith("5") && isExactly(magnitude, m18.replace(".", ""), Number(e18))) {
    const truncated = m18.replace(".", "").slice(0, 17);
    if (Number(truncated[16]) % 2 === 0) {
      digits = truncated;
      exp = Number(e18);
    }
  }
  digits = digits.replace(/0+$/, "");
  let out: string;
  if (exp < -4 || exp >= 17) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    out = `${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  } else if (exp < 0) {
    out = `0.${"0".repeat(-exp - 1)}${digits}`;
  } else {
    const whole = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
    const fraction = digits.slice(exp + 1);
    out = fraction ? `${whole}.${fraction}` : whole;
  }
  return x < 0 ? `-${out}` : out;
}

/** True when the decimal digits·10^(exp − digits.length + 1) equal the double x (> 0) exactly. */
function isExactly(x: number, digits: string, exp: number): boolean {
  // x = mantissa·2^binExp with an integer mantissa: scale by powers of two, exact in doubles.
  let binExp = 0;
  let mantissa = x;
  while (!Number.isInteger(mantissa)) {
    mantissa *= 2;
    binExp--;
  }
  const decExp = exp - digits.length + 1;
  const left = BigInt(digits) * 10n ** BigInt(Math.max(decExp, 0)) * 2n ** BigInt(-binExp);
  const right = BigInt(mantissa) * 10n ** BigInt(Math.max(-decExp, 0));
  return left === right;
}

/** The packed string of a native histogram (buckets by ascending index, zero counts left out). */
export function encodePacked(h: NativeHistogram): string {
  let out = `${h.schema} ${formatG17(h.zeroThreshold)} ${h.zeroCount} ${h.count} ${formatG17(h.sum)}`;
  for (const [index, count] of h.positive) if (count > 0) out += ` p${index}:${count}`;
  for (const [index, count] of h.negative) if (count > 0) out += ` n${index}:${count}`;
  return out;
}

/** A parsed packed string whose buckets are still maps (index → count). */
interface Parsed {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  positive: Map<number, number>;
  negative: Map<number, number>;
}

function float(token: string | undefined): number | undefined {
  if (token === undefined || !/^[\d.eE+-]+$/.test(token)) return undefined;
  const x = Number(token);
  return Number.isFinite(x) ? x : undefined;
}

function count(token: string | undefined): number | undefined {
  if (token === undefined || !/^\d+$/.test(token)) return undefined;
  const x = Number(token);
  return x <= MAX_COUNT ? x : undefined;
}

function bad(what: string): never {
  throw new Error(`bad native histogram: ${what}`);
}

/** Parses a packed string, throwing "bad native histogram: …" (Lua's message) if malformed. */
function parse(packed: string): Parsed {
  const tokens = packed.split(" ").filter((t) => t !== "");
  if (tokens.length < 5) bad("too few fields");
  const [schemaToken, ztToken, zeroToken, countToken, sumToken] = tokens as [
    string,
    string,
    string,
    string,
    string,
  ];
  const schema = /^-?\d+$/.test(schemaToken) ? Number(schemaToken) : Number.NaN;
  if (!(schema >= MIN_SCHEMA && schema <= MAX_SCHEMA)) bad(`schema "${schemaToken}"`);
  // + 0: −0 becomes 0, so the larger threshold is the same one in Lua and here.
  const zeroThreshold = (float(ztToken) ?? Number.NaN) + 0;
  if (!(zeroThreshold >= 0)) bad(`zero threshold "${ztToken}"`);
  const zeroCount = count(zeroToken) ?? bad(`zero count "${zeroToken}"`);
  const total = count(countToken) ?? bad(`count "${countToken}"`);
  const sum = float(sumToken) ?? bad(`sum "${sumToken}"`);
  const low = Math.ceil(-1074 * 2 ** schema);
  const high = Math.ceil(1024 * 2 ** schema) + 1;
  const positive = new Map<number, number>();
  const negative = new Map<number, number>();
  for (let k = 5; k < tokens.length; k++) {
    const match = /^([pn])(-?\d+):(\d+)$/.exec(tokens[k]!);
    const index = Number(match?.[2]);
    const n = Number(match?.[3]);
    if (!match || index < low || index > high || n > MAX_COUNT) bad(`bucket "${tokens[k]}"`);
    const side = match[1] === "p" ? positive : negative;
    side.set(index, (side.get(index) ?? 0) + n);
  }
  return { schema, zeroThreshold, zeroCount, count: total, sum, positive, negative };
}

function sorted(buckets: Map<number, number>): [number, number][] {
  return [...buckets].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
}

/** Reads a packed string (a stored field); throws on a malformed one. */
export function decodePacked(packed: string): NativeHistogram {
  const p = parse(packed);
  return { ...p, positive: sorted(p.positive), negative: sorted(p.negative) };
}

/**
 * The packed sum of two native histograms, exactly as native_merge in lua.ts computes it:
 * counts, zero counts, count and sum add; the lower schema wins (the finer side's buckets merge
 * pairwise down to it); the larger zero threshold wins and buckets wholly inside it join the
 * zero count; then, while more than maxBuckets buckets remain, the schema is lowered again
 * (never below −4, and no count is ever dropped). `old` may be missing. Throws
 * "bad native histogram: …" on malformed input or a sum that is not finite.
 */
export function mergePacked(old: string | undefined, delta: string, maxBuckets: number): string {
  const d = parse(delta);
  const o: Parsed =
    old === undefined
      ? { ...d, zeroCount: 0, count: 0, sum: 0, positive: new Map(), negative: new Map() }
      : parse(old);
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
  if (total > MAX_COUNT || zeroCount > MAX_COUNT) bad("count too large");
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
