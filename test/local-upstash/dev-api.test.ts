// `prometheus-upstash/dev` (src/dev/index.ts), as a user's test suite calls it, e.g. from a
// vitest globalSetup: startLocalUpstash() gives url, token, env and stop(); stop() leaves no
// redis-server; a Redis the caller names is used and left running.
import { spawnSync } from "node:child_process";
import { Redis } from "@upstash/redis";
import { describe, expect, it } from "vitest";
import { startLocalUpstash, UPSTASH_LIMITS } from "../../src/dev/index.ts";
import { sharedStack, uniquePrefix } from "../helpers/stack.ts";

function redisProcessAlive(port: string): boolean {
  return spawnSync("pgrep", ["-f", `redis-server 127.0.0.1:${port}`]).status === 0;
}

describe("startLocalUpstash", () => {
  it("starts a redis-server and the REST API, serves Redis.fromEnv(), and stops both", async () => {
    const local = await startLocalUpstash();
    expect(local.env).toEqual({
      UPSTASH_REDIS_REST_URL: local.url,
      UPSTASH_REDIS_REST_TOKEN: local.token,
    });
    const saved = { ...process.env };
    Object.assign(process.env, local.env);
    try {
      const redis = Redis.fromEnv();
      expect(await redis.incr("visits")).toBe(1);
    } finally {
      process.env = saved;
    }
    const redisPort = new URL(local.redisUrl).port;
    expect(redisProcessAlive(redisPort)).toBe(true);
    await local.stop();
    expect(redisProcessAlive(redisPort)).toBe(false);
    await expect(fetch(local.url, { method: "POST" })).rejects.toThrow();
  });

  it("uses a Redis it is given, with a fixed port, token and lowered limits", async () => {
    const local = await startLocalUpstash({
      redisUrl: sharedStack().redisUrl,
      token: "dev-token",
      limits: { maxReplyBytes: 64 },
    });
    try {
      expect(local.token).toBe("dev-token");
      const redis = new Redis({ url: local.url, token: local.token, enableAutoPipelining: false });
      const key = `${uniquePrefix("dev-api")}long`;
      await redis.set(key, "x".repeat(64));
      await expect(redis.get(key)).rejects.toThrow("ERR max request size exceeded");
      expect(UPSTASH_LIMITS.maxReplyBytes).toBe(10 * 1024 * 1024);
    } finally {
      await local.stop();
    }
    // The shared redis-server is still there.
    expect(redisProcessAlive(new URL(sharedStack().redisUrl).port)).toBe(true);
  });
});
