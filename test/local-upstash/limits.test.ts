// Upstash's size limits on the local server, with Upstash's error texts, seen through the real
// @upstash/redis client: a reply or a request over the limit, a key name over 32 KB, a write
// that grows one key past the record limit. Each cliff is shown from both sides. Limits are
// lowered on servers of this file's own so the sizes stay small; the key-name limit is checked
// at Upstash's own value on the run-wide server.
import { describe, expect, it } from "vitest";
import { UPSTASH_LIMITS } from "../../tools/local-upstash/index.ts";
import { directRedis, newClient, recordingServer, uniquePrefix } from "../helpers/stack.ts";

const KiB = 1024;

/** A raw request (exact bytes, as @upstash/redis would send it); status and parsed body. */
async function post(
  server: { url: string; token: string },
  path: string,
  body: string,
  base64 = true,
): Promise<{ status: number; body: unknown; bytes: number }> {
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${server.token}`,
      "content-type": "application/json",
      ...(base64 ? { "upstash-encoding": "base64" } : {}),
    },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text), bytes: Buffer.byteLength(text) };
}

const tooLarge = (limit: number, actual: number) =>
  `ERR max request size exceeded. Limit: ${limit} bytes, Actual: ${actual} bytes`;

describe("replies over maxReplyBytes", () => {
  const limit = 64 * KiB;
  const local = recordingServer({ limits: { maxReplyBytes: limit } });
  const prefix = uniquePrefix("reply-limit");

  // `{"result":"<base64>"}` is 13 bytes around the base64 text; 49,140 bytes of value are
  // 65,520 of base64 (reply 65,533 ≤ 65,536); 49,143 are 65,524 (reply 65,537).
  const under = "x".repeat(49_140);
  const over = "x".repeat(49_143);

  it("answers a reply of up to the limit, measured after base64", async () => {
    const redis = local.client();
    await redis.set(`${prefix}under`, under);
    await redis.set(`${prefix}over`, over);
    const got = await post(local.server, "/", JSON.stringify(["get", `${prefix}under`]));
    expect(got).toMatchObject({ status: 200, bytes: 65_533 });
    expect(await local.client({ enableAutoPipelining: false }).get(`${prefix}under`)).toBe(under);
  });

  it("refuses one a byte over, with Upstash's error and the size as sent", async () => {
    const got = await post(local.server, "/", JSON.stringify(["get", `${prefix}over`]));
    expect(got.status).toBe(400);
    expect(got.body).toEqual({ error: tooLarge(limit, 65_537) });
    // The same value without base64 is 49,156 bytes as sent: it passes.
    const plain = await post(local.server, "/", JSON.stringify(["get", `${prefix}over`]), false);
    expect(plain.status).toBe(200);
    const redis = local.client({ enableAutoPipelining: false });
    await expect(redis.get(`${prefix}over`)).rejects.toThrow(
      `ERR max request size exceeded. Limit: ${limit} bytes, Actual: 65537 bytes`,
    );
  });

  it("fails a whole pipeline whose reply is over, though each item alone is under", async () => {
    const redis = local.client();
    const pipe = redis.pipeline();
    pipe.get(`${prefix}under`);
    pipe.get(`${prefix}under`);
    await expect(pipe.exec()).rejects.toThrow(
      /^ERR max request size exceeded\. Limit: 65536 bytes, Actual: \d+ bytes/,
    );
    // Auto-pipelined calls share that fate: they travel in one /pipeline request.
    const both = Promise.all([redis.get(`${prefix}under`), redis.get(`${prefix}under`)]);
    await expect(both).rejects.toThrow("ERR max request size exceeded");
    // The commands ran (a write in it happened), as the reply is measured once it is built.
    const raw = await post(
      local.server,
      "/pipeline",
      JSON.stringify([
        ["set", `${prefix}written`, "1"],
        ["get", `${prefix}under`],
        ["get", `${prefix}under`],
      ]),
    );
    expect(raw.status).toBe(400);
    expect(await redis.get(`${prefix}written`)).toBe(1);
  });
});

describe("requests over maxRequestBytes", () => {
  const limit = 16 * KiB;
  const local = recordingServer({ limits: { maxRequestBytes: limit } });
  const prefix = uniquePrefix("request-limit");

  it("takes a body of up to the limit and refuses one a byte over", async () => {
    const around = JSON.stringify(["set", `${prefix}k`, ""]).length;
    const exact = JSON.stringify(["set", `${prefix}k`, "v".repeat(limit - around)]);
    expect(exact.length).toBe(limit);
    expect((await post(local.server, "/", exact)).status).toBe(200);
    const overBody = JSON.stringify(["set", `${prefix}k`, "v".repeat(limit - around + 1)]);
    const over = await post(local.server, "/", overBody);
    expect(over.status).toBe(413);
    expect(over.body).toEqual({ error: tooLarge(limit, limit + 1) });
    await expect(local.client().set(`${prefix}k`, "v".repeat(limit))).rejects.toThrow(
      "ERR max request size exceeded",
    );
  });

  it("is 10 MB by default, as Upstash's free and pay-as-you-go plans", () => {
    expect(UPSTASH_LIMITS.maxRequestBytes).toBe(10 * 1024 * 1024);
    expect(UPSTASH_LIMITS.maxReplyBytes).toBe(10 * 1024 * 1024);
    expect(UPSTASH_LIMITS.maxRecordBytes).toBe(100 * 1024 * 1024);
    expect(UPSTASH_LIMITS.maxKeyBytes).toBe(32 * 1024);
  });
});

describe("key names over 32 KB (the run-wide server, Upstash's own limit)", () => {
  const prefix = uniquePrefix("key-limit");
  const keyOf = (bytes: number) => prefix + "k".repeat(bytes - prefix.length);

  it("takes a key of 32,768 bytes and refuses 32,769, in writes, reads and scripts", async () => {
    const redis = newClient({ enableAutoPipelining: false });
    expect(await redis.set(keyOf(32_768), "v")).toBe("OK");
    expect(await redis.get(keyOf(32_768))).toBe("v");
    const error = "ERR max key size exceeded. Limit: 32768 bytes, Actual: 32769 bytes";
    await expect(redis.set(keyOf(32_769), "v")).rejects.toThrow(error);
    await expect(redis.get(keyOf(32_769))).rejects.toThrow(error);
    await expect(redis.hset(keyOf(32_769), { f: 1 })).rejects.toThrow(error);
    await expect(redis.eval("return 1", [keyOf(32_769)], [])).rejects.toThrow(error);
    expect(await redis.eval("return 1", [keyOf(32_768)], [])).toBe(1);
  });

  it("counts bytes, not characters, and refuses only the item of a pipeline", async () => {
    const redis = newClient();
    const wide = prefix + "é".repeat(16_380); // 2 bytes each: 32,760 + the prefix
    const pipe = redis.pipeline();
    pipe.set(`${prefix}ok`, "1");
    pipe.set(wide, "1");
    pipe.get(`${prefix}ok`);
    const results = await pipe.exec({ keepErrors: true });
    expect(results[0]!.result).toBe("OK");
    expect(results[1]!.error).toBe(
      `ERR max key size exceeded. Limit: 32768 bytes, Actual: ${Buffer.byteLength(wide)} bytes`,
    );
    expect(results[2]!.result).toBe(1);
  });
});

describe("a key grown past maxRecordBytes", () => {
  const limit = 1024 * KiB;
  const local = recordingServer({ limits: { maxRecordBytes: limit } });
  const direct = directRedis();
  const prefix = uniquePrefix("record-limit");
  const chunk = "c".repeat(16 * KiB);
  const error = "ERR max single record size exceeded";

  it("refuses the write that would pass the limit, not before; reads and deletes still work", async () => {
    const redis = local.client({ enableAutoPipelining: false });
    const key = `${prefix}string`;
    let appended = 0;
    let refused: unknown;
    while (appended < 2 * limit) {
      try {
        await redis.append(key, chunk);
        appended += chunk.length;
      } catch (err) {
        refused = err;
        break;
      }
    }
    expect((refused as Error).message).toMatch(new RegExp(`^${error}`));
    // Just under passed, just over was refused: the key is within one write of the limit
    // (MEMORY USAGE also counts the allocator's rounding, a few bytes past what was written).
    const size = Number(await direct.memory("USAGE", key));
    expect(size + chunk.length).toBeGreaterThan(limit);
    expect(size).toBeLessThan(limit + KiB);
    // Every further write is refused; reads, and writes that shrink, are not.
    await expect(redis.append(key, "x")).rejects.toThrow(error);
    await expect(redis.set(key, "small")).rejects.toThrow(error);
    expect(await redis.strlen(key)).toBe(appended);
    expect((await redis.getrange(key, 0, 3)) as string).toBe("cccc");
    expect(await redis.expire(key, 600)).toBe(1);
    expect(await redis.del(key)).toBe(1);
    // Deleted, the key takes writes again.
    expect(await redis.set(key, "small")).toBe("OK");
  });

  it("refuses a single write larger than the limit on a new key", async () => {
    const redis = local.client({ enableAutoPipelining: false });
    await expect(redis.set(`${prefix}huge`, "h".repeat(limit + 1))).rejects.toThrow(error);
    expect(await redis.exists(`${prefix}huge`)).toBe(0);
  });

  it("refuses a hash's new fields per pipeline item, and scripts that declare the key", async () => {
    const redis = local.client();
    const key = `${prefix}hash`;
    let fields = 0;
    // Fill the hash in pipelines of 8 fields until some are refused.
    let errors: string[] = [];
    while (errors.length === 0 && fields < 200) {
      const pipe = redis.pipeline();
      for (let i = 0; i < 8; i++) pipe.hset(key, { [`f${fields + i}`]: chunk });
      const results = await pipe.exec({ keepErrors: true });
      errors = results.flatMap((r) => (r.error ? [r.error] : []));
      fields += results.filter((r) => !r.error).length;
    }
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors)).toEqual(new Set([error]));
    expect(await redis.hlen(key)).toBe(fields);
    expect(Number(await direct.memory("USAGE", key, "SAMPLES", "0"))).toBeLessThanOrEqual(
      limit * 1.05,
    );
    // A script that declares the key is a write (EVAL may write): refused when what it carries
    // would pass the limit; reads are not.
    await expect(
      redis.eval("return redis.call('HSET', KEYS[1], 'late', ARGV[1])", [key], [chunk]),
    ).rejects.toThrow(error);
    expect(await redis.hget(key, "f0")).toBe(chunk);
    expect(await redis.hdel(key, "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7")).toBe(8);
    // Room again after deleting fields.
    expect(await redis.hset(key, { again: "1" })).toBe(1);
  });

  it("leaves small keys unmeasured: no MEMORY USAGE on the common path", async () => {
    const redis = local.client();
    const before = await commandCalls(direct, "memory|usage");
    for (let i = 0; i < 50; i++) await redis.hincrby(`${prefix}small`, `f${i % 5}`, 1);
    expect(await commandCalls(direct, "memory|usage")).toBe(before);
  });
});

/** Calls of one command so far on the shared redis-server (INFO commandstats). */
async function commandCalls(redis: ReturnType<typeof directRedis>, name: string): Promise<number> {
  const info = await redis.info("commandstats");
  const match = new RegExp(`cmdstat_${name.replace("|", "\\|")}:calls=(\\d+)`).exec(info);
  return Number(match?.[1] ?? 0);
}
