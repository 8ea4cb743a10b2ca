// Upstash's `#!lua flags=allow-key-locking` shebang through the local server, with the real
// @upstash/redis client: stock Redis refuses the flag, the local server strips it (keeping every
// flag Redis knows) and answers to the digest the client computed over its own text.
import { createHash } from "node:crypto";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type RedisServer,
  type RequestInfo,
  scriptForRedis,
  startRedisServer,
  startUpstashServer,
  type UpstashServer,
} from "../../tools/local-upstash/index.ts";
import { recordingServer, uniquePrefix } from "../helpers/stack.ts";

const LOCKING = "#!lua flags=allow-key-locking";
const sha1 = (text: string) => createHash("sha1").update(text, "utf8").digest("hex");

/** INCR KEYS[1] by ARGV[1] and return the new value — with the Upstash-only flag. */
const INCR_SCRIPT = `${LOCKING}
return redis.call('INCRBY', KEYS[1], ARGV[1])`;

describe("scriptForRedis", () => {
  it.each([
    [`${LOCKING}\nreturn 1`, "\nreturn 1"],
    ["#!lua flags=allow-key-locking,no-writes\nreturn 1", "#!lua flags=no-writes\nreturn 1"],
    ["#!lua flags=no-writes,allow-key-locking\nreturn 1", "#!lua flags=no-writes\nreturn 1"],
    ["#!lua   flags=allow-key-locking  \nreturn 1", "\nreturn 1"],
  ])("strips the Upstash-only flag: %j → %j", (source, forRedis) => {
    expect(scriptForRedis(source)).toBe(forRedis);
  });

  it.each([
    "return 1",
    "#!lua\nreturn 1",
    "#!lua flags=no-writes\nreturn 1",
    "#!lua flags=bogus\nreturn 1", // Redis' own error stays Redis' own
    "#!python flags=allow-key-locking\nreturn 1",
    LOCKING, // no line feed: Redis says "Invalid script shebang"
    `-- ${LOCKING}\nreturn 1`,
  ])("leaves %j alone", (source) => {
    expect(scriptForRedis(source)).toBe(source);
  });
});

describe("allow-key-locking scripts through the shared stack", () => {
  const recording = recordingServer();
  let redis: Redis;
  let prefix: string;
  beforeAll(() => {
    redis = recording.client();
    prefix = uniquePrefix("flags");
  });
  const paths = (requests: RequestInfo[]) =>
    requests.map((r) => r.commands.map((c) => String(c[0]).toLowerCase()).join(","));

  it("EVAL runs a script whose first line carries the flag", async () => {
    expect(await redis.eval(INCR_SCRIPT, [`${prefix}eval`], [5])).toBe(5);
    expect(await redis.eval(INCR_SCRIPT, [`${prefix}eval`], [2])).toBe(7);
  });

  it("keeps Lua's line numbers of the client's text in error messages", async () => {
    const source = `${LOCKING}\nlocal x = 1\nerror('boom')`;
    const error = await redis.eval(source, [], []).catch((e: Error) => e);
    expect(String(error)).toMatch(/user_script:3: boom/);
    // and names the script by the digest the client knows it by
    expect(String(error)).toContain(sha1(source));
    expect(String(error)).not.toContain(sha1(scriptForRedis(source)));
  });

  it("EVALSHA of the client's own digest works once the script is known", async () => {
    const key = `${prefix}sha`;
    await redis.eval(INCR_SCRIPT, [key], [1]);
    expect(await redis.evalsha(sha1(INCR_SCRIPT), [key], [1])).toBe(2);
  });

  it("createScript: EVALSHA, NOSCRIPT, EVAL the first time; one EVALSHA afterwards", async () => {
    const source = `${LOCKING}\n-- ${prefix}\nreturn redis.call('INCR', KEYS[1])`;
    const script = redis.createScript<number>(source);
    const key = `${prefix}create`;
    const first = await recording.during(async () => expect(await script.exec([key], [])).toBe(1));
    expect(paths(first)).toEqual(["evalsha", "eval"]);
    const second = await recording.during(async () => expect(await script.exec([key], [])).toBe(2));
    expect(paths(second)).toEqual(["evalsha"]);
    expect(second[0]!.commands[0]![1]).toBe(sha1(source));
  });

  it("SCRIPT LOAD answers the client's digest; SCRIPT EXISTS knows it", async () => {
    const source = `${LOCKING}\n-- ${prefix} load\nreturn ARGV[1]`;
    expect(await redis.scriptLoad(source)).toBe(sha1(source));
    expect(await redis.scriptExists(sha1(source), "0".repeat(40))).toEqual([1, 0]);
    expect(await redis.evalsha(sha1(source), [], ["hello"])).toBe("hello");
  });

  it("keeps the stock flags: no-writes still forbids writes, EVAL_RO still needs it", async () => {
    const reader = "#!lua flags=no-writes,allow-key-locking\nreturn redis.call('GET', KEYS[1])";
    await redis.set(`${prefix}ro`, "v");
    expect(await redis.evalRo(reader, [`${prefix}ro`], [])).toBe("v");
    const roScript = redis.createScript<string, true>(reader, { readonly: true });
    expect(await roScript.exec([`${prefix}ro`], [])).toBe("v");
    const writer = "#!lua flags=no-writes,allow-key-locking\nreturn redis.call('SET', KEYS[1], 1)";
    await expect(redis.eval(writer, [`${prefix}w`], [])).rejects.toThrow(/Write commands/i);
    await expect(redis.eval("#!lua flags=bogus\nreturn 1", [], [])).rejects.toThrow(
      /Unexpected flag in script shebang: bogus/,
    );
  });

  it("EVALSHA of a digest nobody loaded answers NOSCRIPT", async () => {
    await expect(redis.evalsha("f".repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
  });

  it("a pipeline mixes flagged scripts, unflagged scripts and plain commands", async () => {
    const key = `${prefix}pipe`;
    await redis.eval(INCR_SCRIPT, [`${prefix}warm`], [0]); // so the EVALSHA below is known
    const p = redis.pipeline();
    p.set(key, 10);
    p.evalsha(sha1(INCR_SCRIPT), [key], [5]);
    p.eval("return redis.call('GET', KEYS[1])", [key], []);
    p.eval(INCR_SCRIPT, [key], [1]);
    p.evalsha("e".repeat(40), [key], []);
    p.incr(key);
    const got = await p.exec({ keepErrors: true });
    expect(got.map((r) => r.error ?? r.result)).toEqual([
      "OK",
      15,
      15,
      16,
      expect.stringMatching(/NOSCRIPT/),
      17,
    ]);
  });

  it("a transaction (/multi-exec) runs flagged scripts too", async () => {
    const key = `${prefix}multi`;
    const tx = redis.multi();
    tx.eval(INCR_SCRIPT, [key], [3]);
    tx.evalsha(sha1(INCR_SCRIPT), [key], [4]);
    expect(await tx.exec()).toEqual([3, 7]);
  });
});

// SCRIPT FLUSH empties the script cache of every client of a redis-server: on its own one.
describe("after SCRIPT FLUSH (a redis-server of its own)", () => {
  let redisServer: RedisServer;
  let server: UpstashServer;
  const seen: RequestInfo[] = [];
  beforeAll(async () => {
    redisServer = await startRedisServer();
    server = await startUpstashServer({
      redisUrl: redisServer.url,
      onRequest: (r) => seen.push(r),
    });
  });
  afterAll(async () => {
    await server?.stop();
    await redisServer?.stop();
  });

  it("EVALSHA of the client's digest gets NOSCRIPT and the client falls back to EVAL", async () => {
    const redis = new Redis({ url: server.url, token: server.token });
    const script = redis.createScript<number>(INCR_SCRIPT);
    expect(await script.exec(["k"], ["1"])).toBe(1);
    expect(await script.exec(["k"], ["1"])).toBe(2);
    expect(await redis.scriptExists(sha1(INCR_SCRIPT))).toEqual([1]);

    expect(await redis.scriptFlush()).toBe("OK");
    expect(await redis.scriptExists(sha1(INCR_SCRIPT))).toEqual([0]);
    await expect(redis.evalsha(sha1(INCR_SCRIPT), ["k"], ["1"])).rejects.toThrow(/NOSCRIPT/);

    const before = seen.length;
    expect(await script.exec(["k"], ["1"])).toBe(3);
    expect(seen.slice(before).map((r) => String(r.commands[0]![0]).toLowerCase())).toEqual([
      "evalsha",
      "eval",
    ]);
    expect(await redis.scriptExists(sha1(INCR_SCRIPT))).toEqual([1]);
    expect(await script.exec(["k"], ["1"])).toBe(4);
  });
});
