// A redis-server SIGKILLed mid-run: the local server answers a clear 5xx at once, then serves
// again once Redis is back on the same port. Uses its own redis-server and server.
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type RedisServer,
  startRedisServer,
  startUpstashServer,
  type UpstashServer,
} from "../../tools/local-upstash/index.ts";

let redisServer: RedisServer;
let server: UpstashServer;

beforeAll(async () => {
  redisServer = await startRedisServer();
  server = await startUpstashServer({ redisUrl: redisServer.url });
});
afterAll(async () => {
  await server?.stop();
  await redisServer?.stop();
});

function client(options: Record<string, unknown> = {}): Redis {
  return new Redis({ url: server.url, token: server.token, ...options });
}

async function raw(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(server.url + path, {
    method: "POST",
    headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** Polls until fn stops throwing, or fails after timeoutMs. */
async function eventually<T>(fn: () => Promise<T>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe("redis-server killed mid-run", () => {
  it("answers 503 with a clear error while Redis is down, then recovers", async () => {
    const redis = client();
    const tx = redis.multi();
    tx.set("before", "1");
    await tx.exec(); // leaves a pooled transaction connection that the kill will break
    expect(await redis.incr("n")).toBe(1);

    redisServer.kill();
    await new Promise((r) => setTimeout(r, 100));

    const started = Date.now();
    for (const [path, body] of [
      ["/", ["incr", "n"]],
      [
        "/pipeline",
        [
          ["incr", "n"],
          ["get", "n"],
        ],
      ],
      ["/multi-exec", [["incr", "n"]]],
    ] as const) {
      const got = await raw(path, body);
      expect(got.status).toBe(503);
      expect(got.body).toEqual({
        error: expect.stringMatching(
          /^ERR local-upstash: Redis at redis:\/\/127\.0\.0\.1:\d+ is unavailable/,
        ),
      });
    }
    // Fails fast: no request waits for reconnect attempts.
    expect(Date.now() - started).toBeLessThan(2_000);

    // The real client surfaces the HTTP error (it does not retry HTTP errors).
    await expect(client({ enableAutoPipelining: false }).get("n")).rejects.toThrow(/unavailable/);

    await redisServer.restart();

    // The restarted redis-server has no persistence, so the data is gone: that is expected.
    await eventually(async () => expect(await redis.incr("n")).toBe(1));
    expect((await raw("/", ["incr", "n"])).body).toEqual({ result: 2 });
    expect(
      (
        await raw("/pipeline", [
          ["incr", "n"],
          ["get", "n"],
        ])
      ).body,
    ).toEqual([{ result: 3 }, { result: "3" }]);
    // Transactions recover too: the broken pooled connection is replaced.
    expect(
      (
        await raw("/multi-exec", [
          ["incr", "n"],
          ["get", "n"],
        ])
      ).body,
    ).toEqual([{ result: 4 }, { result: "4" }]);
  });

  it("serves a burst of concurrent transactions after the restart", async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, () =>
        raw("/multi-exec", [
          ["incr", "burst"],
          ["incr", "burst"],
        ]),
      ),
    );
    for (const r of results) expect(r.status).toBe(200);
    expect((await raw("/", ["get", "burst"])).body).toEqual({ result: "60" });
  });
});
