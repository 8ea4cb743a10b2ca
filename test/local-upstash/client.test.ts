// Conformance of the local Upstash server with the real @upstash/redis client as its peer, once
// with the client's defaults (auto-pipelining, base64 responses, automatic deserialization) and
// once with all three off.
import type { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type RequestInfo,
  startUpstashServer,
  type UpstashServer,
} from "../../tools/local-upstash/index.ts";
import { newClient, sharedStack, uniquePrefix } from "../helpers/stack.ts";

const CONFIGS = [
  { name: "client defaults", options: {}, parsed: true },
  {
    name: "auto-pipelining, base64 and deserialization off",
    options: {
      enableAutoPipelining: false,
      responseEncoding: false,
      automaticDeserialization: false,
    },
    parsed: false,
  },
] as const;

// Strings that must survive the trip unchanged whatever the encoding.
const AWKWARD_STRINGS = [
  "héllo wörld",
  "日本語のテキスト",
  "emoji 🎉👍🏽 and ZWJ 👩‍👩‍👧",
  "\u0000\u0001\u001f\u007f\u0080\u00ff",
  "line\r\nbreak +OK\r\n$3\r\nfoo",
  '{"json":"looking"}',
  "T0s=", // valid base64 on its own
  "",
] as const;

function parsedByClient(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

describe.each(CONFIGS)("@upstash/redis ($name)", ({ options, parsed }) => {
  let redis: Redis;
  let prefix: string;

  beforeAll(() => {
    redis = newClient(options);
    prefix = uniquePrefix("conformance");
  });

  it.each(AWKWARD_STRINGS)("round-trips the string %j", async (value) => {
    const key = `${prefix}str:${value}`;
    expect(await redis.set(key, value)).toBe("OK");
    const got = await redis.get(key);
    // With automatic deserialization the client JSON-parses what it can.
    expect(got).toEqual(parsed ? parsedByClient(value) : value);
    expect(await redis.strlen(key)).toBe(Buffer.byteLength(value, "utf8"));
  });

  it("returns integers as numbers", async () => {
    const key = `${prefix}int`;
    expect(await redis.incr(key)).toBe(1);
    expect(await redis.incrby(key, 41)).toBe(42);
    expect(await redis.decrby(key, 50)).toBe(-8);
    expect(await redis.exists(key, `${prefix}missing`)).toBe(1);
  });

  it("returns floats as strings (the client may parse them)", async () => {
    const key = `${prefix}float`;
    const sum = await redis.incrbyfloat(key, 1.5);
    // INCRBYFLOAT is deserialized by the client itself in both modes.
    expect(Number(sum)).toBe(1.5);
    await redis.zadd(`${prefix}zf`, { score: 0.25, member: "m" });
    const score = await redis.zscore(`${prefix}zf`, "m");
    expect(score).toBe(parsed ? 0.25 : "0.25");
    const raw = await redis.get(key);
    expect(raw).toBe(parsed ? 1.5 : "1.5");
  });

  it("returns nil as null", async () => {
    expect(await redis.get(`${prefix}nothing`)).toBeNull();
    expect(await redis.hget(`${prefix}nothing`, "f")).toBeNull();
    expect(await redis.mget(`${prefix}a-missing`, `${prefix}b-missing`)).toEqual([null, null]);
  });

  it("returns nested arrays from EVAL", async () => {
    const result = await redis.eval("return {1, 'two', {3, {'four', 'ü'}}, {}, 5.9}", [], []);
    // Lua numbers become integers (5.9 → 5), as Redis does.
    expect(result).toEqual([1, "two", [3, ["four", "ü"]], [], 5]);
  });

  it("returns ZRANGE WITHSCORES flat", async () => {
    const key = `${prefix}z`;
    await redis.zadd(key, { score: 1.5, member: "a" }, { score: 2, member: "b" });
    const got = await redis.zrange(key, 0, -1, { withScores: true });
    expect(got).toEqual(parsed ? ["a", 1.5, "b", 2] : ["a", "1.5", "b", "2"]);
  });

  it("returns HGETALL as the flat RESP2 array (the client builds the object)", async () => {
    const key = `${prefix}h`;
    await redis.hset(key, { field: "välue", n: 7 });
    const got = await redis.hgetall(key);
    if (parsed) expect(got).toEqual({ field: "välue", n: 7 });
    else expect(got).toEqual(["field", "välue", "n", "7"]);
  });

  it("keeps an error inside a pipeline beside the successes", async () => {
    const key = `${prefix}p`;
    const p = redis.pipeline();
    p.set(key, "not a number");
    p.incr(key);
    p.get(key);
    p.get(`${prefix}p-missing`);
    const got = await p.exec({ keepErrors: true });
    expect(got.map((r) => r.error)).toEqual([
      undefined,
      "ERR value is not an integer or out of range",
      undefined,
      undefined,
    ]);
    expect(got.map((r) => r.result)).toEqual(["OK", undefined, "not a number", null]);

    const again = redis.pipeline();
    again.get(key);
    again.incr(key);
    await expect(again.exec()).rejects.toThrow(
      /Command 2 \[ incr \] failed: ERR value is not an integer/,
    );
  });

  it("runs a multi-exec atomically and reports per-command errors", async () => {
    const key = `${prefix}m`;
    const tx = redis.multi();
    tx.set(key, "1");
    tx.incr(key);
    tx.hset(key, { f: "v" }); // WRONGTYPE at run time; the rest still applies
    tx.get(key);
    const got = await tx.exec({ keepErrors: true });
    expect(got.map((r) => r.error)).toEqual([
      undefined,
      undefined,
      expect.stringMatching(/^WRONGTYPE/),
      undefined,
    ]);
    expect(got[1]!.result).toBe(2);
    expect(got[3]!.result).toBe(parsed ? 2 : "2");
  });

  it("rejects a multi-exec Redis discarded as a whole (EXECABORT) and applies none of it", async () => {
    const key = `${prefix}abort`;
    const tx = redis.multi();
    tx.set(key, "written?");
    tx.hset(key, {}); // ["hset", key]: wrong number of arguments, refused while queueing
    await expect(tx.exec()).rejects.toThrow(/EXECABORT|wrong number of arguments/);
    expect(await redis.exists(key)).toBe(0);
  });

  it("keeps concurrent multi-execs apart", async () => {
    const counter = `${prefix}concurrent`;
    const rounds = 40;
    const results = await Promise.all(
      Array.from({ length: rounds }, (_, i) => {
        const tx = redis.multi();
        tx.incr(counter);
        tx.rpush(`${prefix}log`, `tx${i}-a`);
        tx.incr(counter);
        tx.rpush(`${prefix}log`, `tx${i}-b`);
        return tx.exec<[number, number, number, number]>();
      }),
    );
    // Each transaction saw its own two increments back to back, and its two log entries sat
    // next to each other: nothing from another transaction ran in between.
    for (const [first, , second] of results) expect(second).toBe(first + 1);
    expect(new Set(results.map(([first]) => first)).size).toBe(rounds);
    const log = await redis.lrange<string>(`${prefix}log`, 0, -1);
    expect(log).toHaveLength(rounds * 2);
    for (let i = 0; i < log.length; i += 2) {
      expect(log[i + 1]).toBe(log[i]!.replace(/-a$/, "-b"));
    }
    expect(Number(await redis.get(counter))).toBe(rounds * 2);
  });

  it("returns a status reply like OK and PONG as plain text", async () => {
    expect(await redis.ping()).toBe("PONG");
    expect(await redis.set(`${prefix}ok`, "x")).toBe("OK");
    expect(await redis.type(`${prefix}ok`)).toBe("string");
  });
});

describe("what the client sends", () => {
  let server: UpstashServer;
  const seen: RequestInfo[] = [];
  let prefix: string;

  beforeAll(async () => {
    server = await startUpstashServer({
      redisUrl: sharedStack().redisUrl,
      onRequest: (info) => seen.push(info),
    });
    prefix = uniquePrefix("sent");
  });
  afterAll(() => server.stop());

  function clientFor(options: Record<string, unknown> = {}) {
    return newClient({ url: server.url, token: server.token, ...options });
  }

  it("auto-pipelines concurrent calls into one /pipeline request", async () => {
    const redis = clientFor();
    seen.length = 0;
    const before = server.requests();
    // The client batches reads and writes separately; these are all writes.
    const [, b, c] = await Promise.all([
      redis.set(`${prefix}a`, 1),
      redis.incr(`${prefix}b`),
      redis.incrby(`${prefix}b`, 2),
    ]);
    expect([b, c]).toEqual([1, 3]);
    expect(server.requests() - before).toBe(1);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.path).toBe("/pipeline");
    expect(seen[0]!.commands.map((c) => c[0])).toEqual(["set", "incr", "incrby"]);
  });

  it("sends single commands to / when auto-pipelining is off", async () => {
    const redis = clientFor({ enableAutoPipelining: false });
    seen.length = 0;
    await redis.set(`${prefix}c`, "v");
    expect(seen.map((s) => s.path)).toEqual(["/"]);
  });

  it("falls back from EVALSHA to EVAL on NOSCRIPT through createScript", async () => {
    const redis = clientFor({ enableAutoPipelining: false });
    await redis.scriptFlush();
    // A script body unique to this run, so no other test has loaded it.
    const script = redis.createScript<string>(`return ARGV[1] .. '${prefix}'`);
    seen.length = 0;
    expect(await script.exec([], ["hi-"])).toBe(`hi-${prefix}`);
    expect(seen.map((s) => String(s.commands[0]![0]).toLowerCase())).toEqual(["evalsha", "eval"]);

    seen.length = 0;
    expect(await script.exec([], ["again-"])).toBe(`again-${prefix}`);
    expect(seen.map((s) => String(s.commands[0]![0]).toLowerCase())).toEqual(["evalsha"]);
  });

  it("accepts the upstash-sync-token header the client sends (read-your-writes)", async () => {
    const redis = clientFor({ readYourWrites: true, enableAutoPipelining: false });
    await redis.set(`${prefix}ryw`, "1");
    expect(await redis.get(`${prefix}ryw`)).toBe(1);
  });
});
