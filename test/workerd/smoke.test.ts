// workerd reaches the run-wide local Upstash server (its URL and token arrive as bindings).

import { env } from "cloudflare:workers";
import { Redis } from "@upstash/redis";
import { expect, inject, it } from "vitest";

it("reaches the local Upstash server through @upstash/redis from inside workerd", async () => {
  const bindings = env as unknown as Record<string, string>;
  expect(bindings.UPSTASH_REDIS_REST_URL).toBe(inject("upstashUrl"));
  expect(navigator.userAgent).toBe("Cloudflare-Workers");
  const redis = new Redis({
    url: bindings.UPSTASH_REDIS_REST_URL!,
    token: bindings.UPSTASH_REDIS_REST_TOKEN!,
  });
  const key = `wd-smoke:${crypto.randomUUID()}`;
  await redis.set(key, "héllo ✓", { ex: 60 });
  expect(await redis.get(key)).toBe("héllo ✓");
  expect(await redis.incr(`${key}:n`)).toBe(1);
  await redis.del(key, `${key}:n`);
});
