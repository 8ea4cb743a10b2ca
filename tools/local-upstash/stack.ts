// The local stack: a redis-server of its own (unless given one) behind the local Upstash server.

import type { UpstashLimits } from "./limits.ts";
import { type RedisServer, startRedisServer } from "./redis-server.ts";
import { startUpstashServer } from "./server.ts";

export interface LocalStack {
  url: string;
  token: string;
  redisUrl: string;
  stop(): Promise<void>;
}

export async function startLocalStack(
  opts: { port?: number; token?: string; redisUrl?: string; limits?: Partial<UpstashLimits> } = {},
): Promise<LocalStack> {
  const redis: RedisServer | undefined =
    opts.redisUrl === undefined ? await startRedisServer() : undefined;
  const redisUrl = opts.redisUrl ?? redis!.url;
  try {
    const server = await startUpstashServer({
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
