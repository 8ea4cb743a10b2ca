// NATIVE_LUA run by the real redis-server (Redis 7.0, Lua 5.1) against the TypeScript rule
// (mergePacked): the same inputs must give identical strings, or the same error. Also holds
// formatG17 to Lua's own string.format('%.17g') and the two fraction tables to each other.
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  bucketIndex,
  DEFAULT_ZERO_THRESHOLD,
  decodePacked,
  encodePacked,
  formatG17,
  fractions,
  mergePacked,
  NativeAccumulator,
  type NativeHistogram,
} from "../../src/native/index.ts";
import { NATIVE_LUA } from "../../src/store/lua.generated.ts";

const SEED = 20261203;

/** The snippet as a flush script would call it, on one field's old value and one delta. */
const MERGE_SCRIPT = `${NATIVE_LUA}
local old = false
if ARGV[1] == '1' then old = ARGV[2] end
local merged, err = native_merge(old, ARGV[3], tonumber(ARGV[4]))
if not merged then return { 0, err } end
return { 1, merged }`;

/** How a flush script would use it on one hash field: read, merge, refuse or write. */
const FIELD_SCRIPT = `${NATIVE_LUA}
local merged, err = native_merge(redis.call('HGET', KEYS[1], ARGV[1]), ARGV[2], tonumber(ARGV[3]))
if not merged then return redis.error_reply(err) end
redis.call('HSET', KEYS[1], ARGV[1], merged)
return merged`;

const FORMAT_SCRIPT = `local out = {}
for i = 1, #ARGV do out[i] = string.format('%.17g', tonumber(ARGV[i])) end
return out`;

const FRACTIONS_SCRIPT = `${NATIVE_LUA}
local out = {}
for s = 1, 8 do
  for j = 0, 2 ^ s - 1 do out[#out + 1] = string.format('%.17g', native_fraction(s, j)) end
end
return out`;

let redis: Redis;

beforeAll(async () => {
  redis = new Redis(inject("redisUrl"), { protocol: 2, lazyConnect: true });
  await redis.connect();
});

afterAll(() => {
  redis?.disconnect();
});

async function luaMerge(
  old: string | undefined,
  delta: string,
  maxBuckets: number,
): Promise<{ ok: string } | { error: string }> {
  const [ok, value] = (await redis.eval(
    MERGE_SCRIPT,
    0,
    old === undefined ? "0" : "1",
    old ?? "",
    delta,
    String(maxBuckets),
  )) as [number, string];
  return ok === 1 ? { ok: value } : { error: value };
}

function tsMerge(
  old: string | undefined,
  delta: string,
  maxBuckets: number,
): { ok: string } | { error: string } {
  try {
    return { ok: mergePacked(old, delta, maxBuckets) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

const buckets = fc.array(
  fc.tuple(
    fc.integer({ min: -400, max: 400 }),
    fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 2 ** 45 })),
  ),
  { maxLength: 40 },
);

const finite = fc.double({ noNaN: true, noDefaultInfinity: true });

/** A valid packed string: at any schema and threshold, sometimes spelled unusually. */
const packed = fc
  .record({
    schema: fc.integer({ min: -4, max: 8 }),
    zeroThreshold: fc.constantFrom(0, -0, DEFAULT_ZERO_THRESHOLD, 1e-3, 0.25, 1, 1.5, 3),
    zeroCount: fc.integer({ min: 0, max: 1000 }),
    count: fc.integer({ min: 0, max: 2 ** 50 }),
    sum: fc.oneof(finite, fc.double({ min: -1e3, max: 1e3, noNaN: true })),
    positive: buckets,
    negative: buckets,
  })
  .chain((h) =>
    fc.tuple(fc.constant(h), fc.boolean()).map(([h, odd]) => {
      const base = encodePacked(h as NativeHistogram);
      if (!odd) return base;
      // Unsorted, duplicated, zero-count and exponent-spelled tokens, extra spaces.
      const tokens = base.split(" ");
      const rest = tokens.slice(5).reverse();
      if (rest.length > 0)
        rest.push(rest[0]!, `${rest[0]![0]}${rest[0]!.slice(1).split(":")[0]}:0`);
      return [
        tokens[0],
        String(h.zeroThreshold === 1e-3 ? "1e-3" : tokens[1]),
        ...tokens.slice(2, 5),
        ...rest,
      ].join("  ");
    }),
  );

describe("NATIVE_LUA in redis-server", () => {
  it("builds the same fraction tables as schema.ts, bit for bit", async () => {
    const lua = (await redis.eval(FRACTIONS_SCRIPT, 0)) as string[];
    const ts: number[] = [];
    for (let s = 1; s <= 8; s++) ts.push(...fractions(s));
    expect(lua.map(Number)).toEqual(ts);
  });

  it("formats numbers as formatG17 does (C's %.17g), ties to even included", async () => {
    const ties = [
      1 + 2 ** -17, // 1.00000762939453125: 18 digits, a tie at 17
      3 * 2 ** -25,
      2 ** -10 + 2 ** -40,
      5 * 2 ** -30,
      -(1 + 2 ** -17),
      123456789 + 2 ** -20,
      0.5 + 2 ** -25,
    ];
    const specials = [
      0,
      -0,
      1,
      -1,
      0.1,
      1e-5,
      1e-4,
      1e16,
      1e17,
      1e21,
      2 ** 53,
      2 ** 53 + 2,
      1e-310,
    ];
    await fc.assert(
      fc.asyncProperty(fc.array(finite, { minLength: 1, maxLength: 200 }), async (xs) => {
        const all = [...xs, ...ties, ...specials];
        const args = all.map((x) => (Object.is(x, -0) ? "-0" : String(x)));
        const lua = (await redis.eval(FORMAT_SCRIPT, 0, ...args)) as string[];
        expect(all.map(formatG17)).toEqual(lua);
        for (const s of lua) expect(Number.isFinite(Number(s))).toBe(true);
        expect(lua.map(Number)).toEqual(all);
      }),
      { seed: SEED, numRuns: 30 },
    );
  });

  it("merges exactly as mergePacked does, on any valid old value and delta", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(packed, { nil: undefined }),
        packed,
        fc.integer({ min: 1, max: 30 }),
        async (old, delta, maxBuckets) => {
          const ts = tsMerge(old, delta, maxBuckets);
          expect(await luaMerge(old, delta, maxBuckets)).toEqual(ts);
        },
      ),
      { seed: SEED, numRuns: 400 },
    );
  });

  it("refuses malformed input and a sum that is not finite, with the same message", async () => {
    const good = "3 0 1 3 1.5 p0:1 n2:1";
    const bad = [
      "",
      "5",
      "3 0 0 0",
      "9 0 0 0 0",
      "-5 0 0 0 0",
      "x 0 0 0 0",
      "3 x 0 0 0",
      "3 -1 0 0 0",
      "3 inf 0 0 0",
      "3 0 1.5 0 0",
      "3 0 0 -1 0",
      "3 0 0 0 nan",
      "3 0 0 0 inf",
      "3 0 0 0 0x10",
      "3 0 0 0 1e999",
      "3 0 0 99999999999999999999 0",
      "3 0 0 0 0 q1:2",
      "3 0 0 0 0 p1:-2",
      "3 0 0 0 0 p1.5:2",
      "3 0 0 0 0 p1",
      "3 0 0 0 0 p:1",
      "3 0 0 0 0 p8194:1",
      "3 0 0 0 0 p-8593:1",
      "-4 0 0 0 0 p66:1",
      "3 0 0 0 0 p1:9007199254740994",
    ];
    for (const s of bad) {
      for (const [old, delta] of [
        [undefined, s],
        [s, good],
      ] as const) {
        const ts = tsMerge(old, delta, 10);
        expect(ts, JSON.stringify([old, delta])).toHaveProperty("error");
        expect(await luaMerge(old, delta, 10)).toEqual(ts);
      }
    }
    // Unusual but valid spellings read the same on both sides.
    for (const [old, delta] of [
      ["08 -0 00 0 -0 p-0:1", "8 0 0 0 -0"],
      [undefined, "-0 1e-3 0 0 -0.0 n-0:02"],
    ] as const) {
      const ts = tsMerge(old, delta, 10);
      expect(ts).toHaveProperty("ok");
      expect(await luaMerge(old, delta, 10)).toEqual(ts);
    }
    const overflow = tsMerge("3 0 0 1 1e308", "3 0 0 1 1e308", 10);
    expect(overflow).toEqual({ error: "bad native histogram: sum not finite" });
    expect(await luaMerge("3 0 0 1 1e308", "3 0 0 1 1e308", 10)).toEqual(overflow);
    // The boundary cases of the index range are accepted.
    expect(tsMerge(undefined, "3 0 0 0 0 p8193:1 p-8592:1", 10)).toHaveProperty("ok");
    expect(tsMerge(undefined, "-4 0 0 0 0 p65:1 p-67:1", 10)).toHaveProperty("ok");
  });

  it("folds buckets wholly inside a larger zero threshold, and halves past the cap", async () => {
    // Buckets at schema 0: p-10 = (2^-11, 2^-10], p-9 = (2^-10, 2^-9] …; threshold 2^-9.
    const old = "0 0 0 4 0.01 p-10:1 p-9:1 p-8:1 p3:1";
    const delta = "2 0.001953125 2 3 0.5 p0:3";
    const merged = "0 0.001953125 4 7 0.51000000000000001 p-8:1 p0:3 p3:1";
    expect(mergePacked(old, delta, 10)).toBe(merged);
    expect(await luaMerge(old, delta, 10)).toEqual({ ok: merged });
    // Five buckets (1, 2, 4, 8, 16) over a cap of two: schema 3 → … → −1 (3 left) → −2.
    const wide = "3 0 0 5 10 p0:1 p8:1 p16:1 p24:1 p32:1";
    expect(mergePacked(undefined, wide, 2)).toBe("-2 0 0 5 10 p0:1 p1:4");
    expect(await luaMerge(undefined, wide, 2)).toEqual({ ok: "-2 0 0 5 10 p0:1 p1:4" });
  });

  it("merges instances' flushes into one field of a hash, and refuses a bad delta unwritten", async () => {
    const key = `{t}:native:${Date.now()}`;
    const field = '["GET","/users/:id"]';
    const instances: [number, number[]][] = [
      [5, [0.012, 0.013, 0.2, 1.5, 0]],
      [3, [0.012, 0.9, 30]],
      [5, [0.0125, 7]],
    ];
    let last = "";
    for (const [schema, values] of instances) {
      const acc = new NativeAccumulator(schema, DEFAULT_ZERO_THRESHOLD, 160);
      for (const v of values) acc.observe(v);
      last = (await redis.eval(FIELD_SCRIPT, 1, key, field, acc.encode(1), "160")) as string;
    }
    expect(await redis.hget(key, field)).toBe(last);
    const all = instances.flatMap(([, values]) => values);
    const buckets = new Map<number, number>();
    for (const v of all.filter((v) => v > 0)) {
      const i = bucketIndex(v, 3);
      buckets.set(i, (buckets.get(i) ?? 0) + 1);
    }
    expect(decodePacked(last)).toEqual({
      schema: 3,
      zeroThreshold: DEFAULT_ZERO_THRESHOLD,
      zeroCount: 1,
      count: all.length,
      sum: 3,
      positive: [...buckets].sort((a, b) => a[0] - b[0]),
      negative: [],
    });
    await expect(redis.eval(FIELD_SCRIPT, 1, key, field, "3 0 0 1 nan", "160")).rejects.toThrow(
      'bad native histogram: sum "nan"',
    );
    expect(await redis.hget(key, field)).toBe(last);
    await redis.del(key);
  });
});
