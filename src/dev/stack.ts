// The local stack: a redis-server of its own (unless given one) behind the local Upstash server.
import type { UpstashLimits } from "./limits.ts";
import { type RedisServer, startRedisServer } from "./redis-server.ts";
import { startRestServer } from "./rest-server.ts";

export interface LocalStackOptions {
  /** Port of the REST server; a free one when omitted. */
  port?: number;
  /** Bearer token; random when omitted. */
  token?: string;
  /** A Redis to use (`redis://host:port[/db]`); a redis-server of its own when omitted. */
  redisUrl?: string;
  /** Upstash's size limits, lowered for tests; Upstash's values where omitted. */
  limits?: Partial<UpstashLimits>;
}

export interface LocalStack {
  url: string;
  token: string;
  redisUrl: string;
  stop(): Promise<void>;
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const redis: RedisServer | undefined =
    opts.redisUrl === undefined ? await startRedisServer() : undefined;
  const redisUrl = opts.redisUrl ?? redis!.url;
  try {
    const server = await startRestServer({
      redisUrl,
      token: opts.token,
      port: opts.port,
      limits: opts.limits,
    });
    return {
      url: server.url,
      token: server.token,
      redisUrl,
      async stop() {
        await server.stop();
        await redis?.stop();
      },
    };
  } catch (err) {
    await redis?.stop();
    throw err;
  }
}
