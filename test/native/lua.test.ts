// NATIVE_LUA run by the real redis-server (Redis 7.0, Lua 5.1) against the TypeScript model
// (mergePacked, merge-model.ts): the same inputs — valid, oddly spelled, or garbage — must give
// identical strings, or the same error. Also holds the two fraction tables to each other.
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  bucketIndex,
  DEFAULT_ZERO_THRESHOLD,
  decodePacked,
  fractions,
  NativeAccumulator,
  type NativeHistogram,
} from "../../src/native/index.ts";
import { DIGITS, packFloat, packNumber } from "../../src/native/packed.ts";
import { NATIVE_LUA } from "../../src/store/lua.generated.ts";
import { mulberry32 } from "../../tools/prng.ts";
import { encodePacked, mergePacked } from "./merge-model.ts";

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

/** A leading continuation digit of value 0: the same number, spelled longer. */
const padded = (digits: string, pad: boolean) => (pad ? `!${digits}` : digits);

/**
 * A valid but unusual spelling of h: buckets in the order given (unsorted, duplicated, zero
 * counts), each its own span or run together, padded numbers, an even mantissa.
 */
function oddly(h: NativeHistogram, rng: () => number): string {
  const pad = () => rng() < 0.2;
  const num = (v: number, signed?: boolean) => padded(packNumber(v, signed), pad());
  const float = (x: number) => {
    if (x === 0 || rng() < 0.5) return padded(packFloat(x), pad());
    const canonical = mantissaOf(x);
    const shift = Math.abs(canonical.m) * 2 < 2 ** 53 && canonical.e > -1074 ? 1 : 0;
    return num(canonical.m * 2 ** shift, true) + num(canonical.e - shift, true);
  };
  let out = num(h.schema, true) + float(h.zeroThreshold) + num(h.zeroCount) + num(h.count);
  out += float(h.sum);
  for (const side of [h.positive, h.negative]) {
    const spans: [number, number[]][] = [];
    for (const [index, n] of side) {
      const last = spans[spans.length - 1];
      if (last && rng() < 0.5 && last[0] + last[1].length === index) last[1].push(n);
      else spans.push([index, [n]]);
    }
    out += num(spans.length);
    let next = 0;
    let previous = 0;
    for (const [start, counts] of spans) {
      out += num(start - next, true) + num(counts.length);
      for (const n of counts) {
        out += num(n - previous, true);
        previous = n;
      }
      next = start + counts.length;
    }
  }
  return out;
}

/** x = m·2^e with m an odd integer (the canonical mantissa and exponent; x ≠ 0). */
function mantissaOf(x: number): { m: number; e: number } {
  let e = Math.max(Math.floor(Math.log2(Math.abs(x))) - 52, -1074);
  while (!Number.isInteger(x / 2 ** e)) e--;
  let m = x / 2 ** e;
  while (m % 2 === 0) {
    m /= 2;
    e++;
  }
  return { m, e };
}

/** A valid packed string: at any schema and threshold, sometimes spelled unusually. */
const packed = fc
  .record({
    schema: fc.integer({ min: -4, max: 8 }),
    zeroThreshold: fc.constantFrom(0, -0, DEFAULT_ZERO_THRESHOLD, 1e-3, 0.25, 1, 1.5, 3, 5e-324),
    zeroCount: fc.integer({ min: 0, max: 1000 }),
    count: fc.integer({ min: 0, max: 2 ** 50 }),
    sum: fc.oneof(finite, fc.double({ min: -1e3, max: 1e3, noNaN: true })),
    positive: buckets,
    negative: buckets,
  })
  .chain((h) =>
    fc.tuple(fc.constant(h), fc.boolean(), fc.integer()).map(([h, odd, seed]) => {
      if (!odd)
        return encodePacked({
          ...h,
          positive: sortedUnique(h.positive),
          negative: sortedUnique(h.negative),
        });
      const rng = mulberry32(seed);
      const dupe = (side: [number, number][]) =>
        side.length > 0 && rng() < 0.5
          ? [...side, side[0]!, [side[0]![0], 0] as [number, number]]
          : side;
      return oddly({ ...h, positive: dupe(h.positive), negative: dupe(h.negative) }, rng);
    }),
  );

function sortedUnique(side: [number, number][]): [number, number][] {
  return [...new Map(side)].sort((a, b) => a[0] - b[0]);
}

/** Garbage and near misses: characters of the alphabet and a few outside it, or a valid value cut or altered. */
const garbage = fc.oneof(
  fc.string({ unit: fc.constantFrom(...DIGITS, " ", '"', "é"), maxLength: 40 }),
  fc.tuple(packed, fc.nat(), fc.constantFrom(...DIGITS, " ")).map(([p, at, c]) => {
    const i = at % (p.length + 1);
    return at % 3 === 0
      ? p.slice(0, i)
      : at % 3 === 1
        ? p.slice(0, i) + c + p.slice(i)
        : p.slice(0, i) + c + p.slice(i + 1);
  }),
);

describe("NATIVE_LUA in redis-server", () => {
  it("builds the same fraction tables as schema.ts, bit for bit", async () => {
    const lua = (await redis.eval(FRACTIONS_SCRIPT, 0)) as string[];
    const ts: number[] = [];
    for (let s = 1; s <= 8; s++) ts.push(...fractions(s));
    expect(lua.map(Number)).toEqual(ts);
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

  it("gives the same string or the same error on garbage and near misses", async () => {
    await fc.assert(
      fc.asyncProperty(fc.option(packed, { nil: undefined }), garbage, async (old, delta) => {
        expect(await luaMerge(old, delta, 10)).toEqual(tsMerge(old, delta, 10));
        if (old !== undefined) {
          expect(await luaMerge(delta, old, 10)).toEqual(tsMerge(delta, old, 10));
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("refuses malformed input and a sum that is not finite, with the same message", async () => {
    const u = (v: number) => packNumber(v);
    const s = (v: number) => packNumber(v, true);
    const f = packFloat;
    const head = (schema = 3, zt = f(0), zero = u(0), count = u(0), sum = f(0)) =>
      s(schema) + zt + zero + count + sum;
    const side = (...spans: [number, number[]][]) =>
      u(spans.length) + spans.map(([o, ds]) => s(o) + u(ds.length) + ds.map(s).join("")).join("");
    const empty = side();
    const good = head(3, f(0), u(1), u(3), f(1.5)) + side([0, [1]]) + side([2, [1]]);
    const tooBig = "~~~~~~~~~~~~0"; // more than 2^53
    const bad: [value: string, wrong: string][] = [
      ["", "schema"],
      [" 00000000", "schema"],
      ["é", "schema"],
      [s(3), "zero threshold"],
      [head(9) + empty + empty, "schema"],
      [head(-5) + empty + empty, "schema"],
      [head(3, f(-1)) + empty + empty, "zero threshold"],
      [head(3, f(Number.POSITIVE_INFINITY)) + empty + empty, "zero threshold"],
      [head(3, s(1) + s(-1075)) + empty + empty, "zero threshold"],
      [head(3, f(0), tooBig) + empty + empty, "zero count"],
      [head(3, f(0), u(0), tooBig) + empty + empty, "count"],
      [head(3, f(0), u(0), u(0), f(Number.NaN)) + empty + empty, "sum"],
      [head(3, f(0), u(0), u(0), s(2 ** 53 - 1) + s(1000)) + empty + empty, "sum"],
      [head(), "bucket"],
      [head() + empty, "bucket"],
      [head() + u(1) + s(1) + u(2) + s(1) + empty, "bucket"],
      [head() + side([0, [-1]]) + empty, "bucket"],
      [head() + side([1, [2 ** 53, 1]]) + empty, "bucket"],
      [head() + side([8194, [1]]) + empty, "bucket"],
      [head() + empty + side([-8593, [1]]), "bucket"],
      [head(-4) + side([66, [1]]) + empty, "bucket"],
      [head() + empty + empty + u(0), "trailing characters"],
    ];
    for (const [value, what] of bad) {
      for (const [old, delta] of [
        [undefined, value],
        [value, good],
      ] as const) {
        const ts = tsMerge(old, delta, 10);
        expect(ts, `${what}: ${JSON.stringify([old, delta])}`).toEqual({
          error: "bad native histogram: malformed",
        });
        expect(await luaMerge(old, delta, 10)).toEqual(ts);
      }
    }
    // Unusual but valid spellings read the same on both sides: −0, padded numbers, an even
    // mantissa, duplicated and unsorted buckets, zero counts.
    for (const [old, delta] of [
      [
        s(-0) + f(-0) + `!${u(0)}` + u(0) + f(-0) + side([-0, [1]]) + empty,
        head(8) + empty + empty,
      ],
      [undefined, head(3, s(2) + s(-11)) + empty + side([0, [2, -2]], [-3, [5, 0]])],
    ] as const) {
      const ts = tsMerge(old, delta, 10);
      expect(ts).toHaveProperty("ok");
      expect(await luaMerge(old, delta, 10)).toEqual(ts);
    }
    expect(
      decodePacked(
        mergePacked(
          undefined,
          head(3, s(2) + s(-11)) + empty + side([0, [2, -2]], [-3, [5, 0]]),
          10,
        ),
      ),
    ).toMatchObject({
      zeroThreshold: 2 ** -10,
      negative: [
        [-1, 5],
        [0, 7],
      ],
    });
    const huge = head(3, f(0), u(0), u(1), f(1e308)) + empty + empty;
    const overflow = tsMerge(huge, huge, 10);
    expect(overflow).toEqual({ error: "bad native histogram: sum not finite" });
    expect(await luaMerge(huge, huge, 10)).toEqual(overflow);
    // The boundary cases of the index range are accepted.
    expect(tsMerge(undefined, head() + side([8193, [1]]) + side([-8592, [1]]), 10)).toHaveProperty(
      "ok",
    );
    expect(tsMerge(undefined, head(-4) + side([65, [1]]) + side([-67, [1]]), 10)).toHaveProperty(
      "ok",
    );
  });

  it("folds buckets wholly inside a larger zero threshold, and halves past the cap", async () => {
    const h = (
      schema: number,
      zeroThreshold: number,
      zeroCount: number,
      count: number,
      sum: number,
      positive: [number, number][],
    ): NativeHistogram => ({
      schema,
      zeroThreshold,
      zeroCount,
      count,
      sum,
      positive,
      negative: [],
    });
    // Buckets at schema 0: p-10 = (2^-11, 2^-10], p-9 = (2^-10, 2^-9] …; threshold 2^-9.
    const old = encodePacked(
      h(0, 0, 0, 4, 0.01, [
        [-10, 1],
        [-9, 1],
        [-8, 1],
        [3, 1],
      ]),
    );
    const delta = encodePacked(h(2, 2 ** -9, 2, 3, 0.5, [[0, 3]]));
    const merged = encodePacked(
      h(0, 2 ** -9, 4, 7, 0.01 + 0.5, [
        [-8, 1],
        [0, 3],
        [3, 1],
      ]),
    );
    expect(mergePacked(old, delta, 10)).toBe(merged);
    expect(await luaMerge(old, delta, 10)).toEqual({ ok: merged });
    // Five buckets (1, 2, 4, 8, 16) over a cap of two: schema 3 → … → −1 (3 left) → −2.
    const wide = encodePacked(
      h(3, 0, 0, 5, 10, [
        [0, 1],
        [8, 1],
        [16, 1],
        [24, 1],
        [32, 1],
      ]),
    );
    const halved = encodePacked(
      h(-2, 0, 0, 5, 10, [
        [0, 1],
        [1, 4],
      ]),
    );
    expect(mergePacked(undefined, wide, 2)).toBe(halved);
    expect(await luaMerge(undefined, wide, 2)).toEqual({ ok: halved });
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
    const nan = encodePacked({ ...decodePacked(last), sum: Number.NaN });
    await expect(redis.eval(FIELD_SCRIPT, 1, key, field, nan, "160")).rejects.toThrow(
      "bad native histogram: malformed",
    );
    expect(await redis.hget(key, field)).toBe(last);
    await redis.del(key);
  });
});
