// Helpers for test files that use the run-wide local stack started by test/global-setup.ts.
import { randomBytes } from "node:crypto";
import { Redis, type RedisConfigNodejs } from "@upstash/redis";
import { inject } from "vitest";

export interface SharedStack {
  /** Base URL of the local Upstash REST server, e.g. http://127.0.0.1:41234 */
  url: string;
  token: string;
  /** redis:// URL of the redis-server behind it (for direct checks). */
  redisUrl: string;
}

export function sharedStack(): SharedStack {
  return { url: inject("upstashUrl"), token: inject("upstashToken"), redisUrl: inject("redisUrl") };
}

/** A key prefix no other test (or run) shares, e.g. "t:counter:3f9a1c:". */
export function uniquePrefix(name: string): string {
  return `t:${name}:${randomBytes(4).toString("hex")}:`;
}

/** An @upstash/redis client for the shared stack; options override its defaults. */
export function newClient(opts: Partial<RedisConfigNodejs> = {}): Redis {
  const { url, token } = sharedStack();
  return new Redis({ url, token, ...opts });
}
