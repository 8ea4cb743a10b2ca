// SKETCH_LUA's sketch_merge run by a real redis-server, against the same rule in TypeScript
// (collapseLowest): the stored sketch after every flush must be exactly what the model says,
// and stay within the cap.
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  collapseLowest,
  LogMapping,
  NEGATIVE_FLOOR_TOKEN,
  NEGATIVE_PREFIX,
  POSITIVE_FLOOR_TOKEN,
  SketchAccumulator,
  SketchCounts,
  ZERO_TOKEN,
} from "../../src/sketch/index.ts";
import { SKETCH_LUA } from "../../src/store/lua.generated.ts";
import { type RedisServer, startRedisServer } from "../../tools/local-upstash/redis-server.ts";
import { exactQuantile, mulberry32, relativeError } from "./prng.ts";

const SEED = 20261125;
/** The snippet as the write script calls it, on one stored value; fmt as the script has it. */
const ADD_SCRIPT = `
local function fmt(x)
  local s = string.format('%.15g', x)
  if tonumber(s) ~= x then s = string.format('%.17g', x) end
  return s
end
${SKETCH_LUA}
local merged = sketch_merge(redis.call('GET', KEYS[1]) or nil, ARGV[1], tonumber(ARGV[2]))
redis.call('SET', KEYS[1], merged)
return merged`;

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis({ port: server.port, host: "127.0.0.1", protocol: 2, lazyConnect: true });
  await redis.connect();
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

/** Merges tokens into the value at `key`; returns the number of tokens stored. */
async function luaAdd(key: string, tokens: string, cap: number): Promise<number> {
  const merged = (await redis.eval(ADD_SCRIPT, 1, key, tokens, String(cap))) as string;
  return merged === "" ? 0 : merged.split(" ").length;
}

/** The stored sketch as token → count text, for comparison with the model. */
async function readHash(key: string): Promise<Record<string, string>> {
  const stored = (await redis.get(key)) ?? "";
  const hash: Record<string, string> = {};
  for (const token of stored.split(" ").filter(Boolean)) {
    const colon = token.indexOf(":");
    hash[token.slice(0, colon)] = token.slice(colon + 1);
  }
  return hash;
}

/** The Lua rule restated over plain Maps: floors clamp incoming buckets, then collapse per side. */
class HashModel {
  positive = new Map<number, number>();
  negative = new Map<number, number>();
  zero = 0;
  positiveFloor: number | undefined;
  negativeFloor: number | undefined;

  add(increments: string[], cap: number): void {
    for (let j = 0; j < increments.length; j += 2) {
      const field = increments[j]!;
      const delta = Number(increments[j + 1]);
      if (field === ZERO_TOKEN) {
        this.zero += delta;
      } else if (field.startsWith(NEGATIVE_PREFIX)) {
        const index = Math.max(Number(field.slice(1)), this.negativeFloor ?? -Infinity);
        this.negative.set(index, (this.negative.get(index) ?? 0) + delta);
      } else {
        const index = Math.max(Number(field), this.positiveFloor ?? -Infinity);
        this.positive.set(index, (this.positive.get(index) ?? 0) + delta);
      }
    }
    if (this.positive.size + this.negative.size <= cap) return;
    this.positiveFloor = collapseLowest(this.positive, cap) ?? this.positiveFloor;
    this.negativeFloor = collapseLowest(this.negative, cap) ?? this.negativeFloor;
  }

  asHash(): Record<string, string> {
    const hash: Record<string, string> = {};
    for (const [index, count] of this.positive) hash[String(index)] = String(count);
    for (const [index, count] of this.negative) hash[NEGATIVE_PREFIX + index] = String(count);
    if (this.zero > 0) hash[ZERO_TOKEN] = String(this.zero);
    if (this.positiveFloor !== undefined) hash[POSITIVE_FLOOR_TOKEN] = String(this.positiveFloor);
    if (this.negativeFloor !== undefined) hash[NEGATIVE_FLOOR_TOKEN] = String(this.negativeFloor);
    return hash;
  }
}

const flushArb = fc.array(
  fc.tuple(
    fc.oneof(
      fc.integer({ min: -3000, max: 3000 }).map(String),
      fc.integer({ min: -3000, max: 3000 }).map((i) => NEGATIVE_PREFIX + i),
      fc.constant(ZERO_TOKEN),
    ),
    fc.integer({ min: 1, max: 1000 }),
  ),
  { maxLength: 60 },
);

describe("SKETCH_LUA in redis-server", () => {
  it("leaves exactly the sketch the TypeScript rule predicts, flush after flush", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(flushArb, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 40 }),
        async (flushes, cap) => {
          const key = `{t}:lua:${run++}`;
          const model = new HashModel();
          for (const flush of flushes) {
            // One flush carries each field once (the accumulator coalesces).
            const merged = new Map<string, number>();
            for (const [field, delta] of flush) merged.set(field, (merged.get(field) ?? 0) + delta);
            const increments = [...merged].flatMap(([field, delta]) => [field, String(delta)]);
            model.add(increments, cap);
            await luaAdd(key, [...merged].map(([f, d]) => `${f}:${d}`).join(" "), cap);
            expect(await readHash(key)).toEqual(model.asHash());
          }
          await redis.del(key);
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it("keeps a million distinct magnitudes under the cap in Redis, high quantiles intact", async () => {
    const cap = 2048;
    const mapping = new LogMapping(0.01);
    const key = "{t}:lua:million";
    const uniform = mulberry32(SEED);
    const n = 1_000_000;
    const perFlush = 10_000;
    const values = new Float64Array(n);
    let accumulator = new SketchAccumulator(mapping, cap);
    let largestHash = 0;
    let largestFlushFields = 0;
    for (let j = 0; j < n; j++) {
      const v = 2 ** (2000 * (uniform() + uniform() / 2 ** 32) - 1000);
      values[j] = v;
      accumulator.add(v);
      if ((j + 1) % perFlush === 0) {
        const tokens = accumulator.tokens();
        accumulator = new SketchAccumulator(mapping, cap);
        largestFlushFields = Math.max(largestFlushFields, tokens.split(" ").length);
        largestHash = Math.max(largestHash, await luaAdd(key, tokens, cap));
      }
    }
    expect(new Set(values).size).toBe(n);
    // cap buckets plus the floor field (no zeros, no negatives here)
    expect(largestHash).toBeLessThanOrEqual(cap + 1);
    const counts = new SketchCounts().addTokens((await redis.get(key)) ?? "");
    expect(counts.positive.size).toBeLessThanOrEqual(cap);
    expect(counts.count).toBe(n);
    const sorted = values.sort();
    for (const q of [0.99, 0.999]) {
      expect(
        relativeError(counts.quantile(mapping, q), exactQuantile(sorted, q)),
      ).toBeLessThanOrEqual(0.01 * (1 + 1e-9));
    }
    const bytes = await redis.memory("USAGE", key);
    console.log(
      `capped sketch: ${counts.positive.size} buckets, MEMORY USAGE ${bytes} bytes; ` +
        `largest flush ${largestFlushFields} fields`,
    );
  });
});
