// The merge rule of the Lua snippet (lua.ts), in TypeScript, producing the same string: the
// model test/native/lua.test.ts holds the Lua to, and a merge for code that must combine two
// packed values outside Redis.

import { formatG17 } from "./format-g17.ts";
import { encodePacked } from "./packed.ts";
import { insideZero, MAX_SCHEMA, MIN_SCHEMA } from "./schema.ts";

/** Largest count accepted: beyond 2^53 integers stop being exact. */
const MAX_COUNT = 2 ** 53;

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
function parsePacked(packed: string): ParsedPacked {
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
  const sum = (float(sumToken) ?? bad(`sum "${sumToken}"`)) + 0; // as Lua: −0 read as 0
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

/**
 * The packed sum of two native histograms, exactly as native_merge in lua.ts computes it:
 * counts, zero counts, count and sum add; the lower schema wins (the finer side's buckets merge
 * pairwise down to it); the larger zero threshold wins and buckets wholly inside it join the
 * zero count; then, while more than maxBuckets buckets remain, the schema is lowered again
 * (never below −4, and no count is ever dropped). `old` may be missing. Throws
 * "bad native histogram: …" on malformed input or a sum that is not finite.
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
  if (!Number.isFinite(sum)) throw new Error("bad native histogram: sum not finite");
  if (total > MAX_COUNT || zeroCount > MAX_COUNT) {
    throw new Error("bad native histogram: count too large");
  }
  return encodePacked(
    {
      schema,
      zeroThreshold,
      zeroCount,
      count: total,
      sum,
      positive: sorted(sides[0]!),
      negative: sorted(sides[1]!),
    },
    formatG17,
  );
}

function sorted(buckets: Map<number, number>): [number, number][] {
  return [...buckets].sort((a, b) => a[0] - b[0]);
}
