// `prometheus-upstash/dev`: a local Upstash-compatible server for development and tests, in
// front of a redis-server from PATH (or a Redis you name). Node only, never part of a Worker
// bundle: nothing else in the package imports it. The `prometheus-upstash dev` command
// (cli.ts) runs the same thing.
import { type LocalStackOptions, startLocalStack } from "./stack.ts";

export { UPSTASH_LIMITS, type UpstashLimits } from "./limits.ts";
export { RedisServerNotFound } from "./redis-server.ts";

export interface LocalUpstashOptions extends LocalStackOptions {}

export interface LocalUpstash {
  /** The REST URL, e.g. http://127.0.0.1:41234 (UPSTASH_REDIS_REST_URL). */
  url: string;
  /** The bearer token (UPSTASH_REDIS_REST_TOKEN). */
  token: string;
  /** The Redis behind it, e.g. redis://127.0.0.1:40001. */
  redisUrl: string;
  /** The two variables @upstash/redis' `Redis.fromEnv()` reads, ready to merge into an env. */
  env: { UPSTASH_REDIS_REST_URL: string; UPSTASH_REDIS_REST_TOKEN: string };
  /** Stops the REST server and the redis-server it started (not one you passed as redisUrl). */
  stop(): Promise<void>;
}

/**
 * Starts a redis-server from PATH on a free loopback port (unless `redisUrl` is given) and the
 * Upstash REST API in front of it, with Upstash's size limits. Rejects with RedisServerNotFound
 * (whose message says how to install one) when there is no redis-server.
 */
export async function startLocalUpstash(opts: LocalUpstashOptions = {}): Promise<LocalUpstash> {
  const stack = await startLocalStack(opts);
  return {
    url: stack.url,
    token: stack.token,
    redisUrl: stack.redisUrl,
    env: { UPSTASH_REDIS_REST_URL: stack.url, UPSTASH_REDIS_REST_TOKEN: stack.token },
    stop: () => stack.stop(),
  };
}
