// Helpers for test files that use the run-wide local stack started by test/global-setup.ts.
import { randomBytes } from "node:crypto";
import { Redis, type RedisConfigNodejs } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, inject } from "vitest";
import {
  type Billing,
  billingSince,
  type RequestInfo,
  startUpstashServer,
  type UpstashLimits,
  type UpstashServer,
} from "../../tools/local-upstash/index.ts";

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

/**
 * A plain connection to the shared redis-server, for checks that look past the REST server; it
 * connects on its first command and is closed after the calling file's (or describe's) tests.
 */
export function directRedis(): IORedis {
  const redis = new IORedis(sharedStack().redisUrl, { protocol: 2, lazyConnect: true });
  afterAll(() => redis.disconnect());
  return redis;
}

export interface RecordingServer {
  /** An @upstash/redis client for this server; options override its defaults. */
  client(opts?: Partial<RedisConfigNodejs>): Redis;
  /** The server itself (started in beforeAll): url, token, billing(), recordScripts()… */
  readonly server: UpstashServer;
  /** Every request the server took so far (well-formed and authorized ones). */
  readonly seen: readonly RequestInfo[];
  /** The requests made while `fn` ran. */
  during(fn: () => Promise<unknown>): Promise<RequestInfo[]>;
  /**
   * Billed commands (as Upstash bills them: request commands + script commands) while `fn`
   * ran; needs `recordingServer({ billing: true })`. Nothing else may use this server meanwhile.
   * (The server's own total is not reset.)
   */
  billedDuring(fn: () => Promise<unknown>): Promise<Billing>;
}

export interface RecordingServerOptions {
  /** Meter billed commands and record script runs (a MONITOR connection). */
  billing?: boolean;
  /**
   * Upstash's size limits for this server, lowered to reach them fast, e.g.
   * `{ maxReplyBytes: 65536 }`; Upstash's values (10 MB request and reply, 100 MB per key,
   * 32 KB per key name) where omitted. The run-wide server keeps Upstash's values.
   */
  limits?: Partial<UpstashLimits>;
}

/**
 * A local Upstash server of this test file's own, in front of the shared redis-server, that
 * records every request — for tests that count requests and billed commands, or that need
 * lower size limits. Call it at file or describe level: it starts and stops with that scope's
 * hooks. With `billing: true` it also meters billed commands and records script runs (a
 * MONITOR connection; exact although other test files share the redis-server).
 */
export function recordingServer(opts: RecordingServerOptions = {}): RecordingServer {
  let server: UpstashServer | undefined;
  const seen: RequestInfo[] = [];
  beforeAll(async () => {
    server = await startUpstashServer({
      redisUrl: sharedStack().redisUrl,
      onRequest: (info) => seen.push(info),
      billing: opts.billing,
      limits: opts.limits,
    });
  });
  afterAll(() => server?.stop());
  return {
    client: (options = {}) => new Redis({ url: server!.url, token: server!.token, ...options }),
    get server() {
      if (!server) throw new Error("recordingServer(): the server starts in beforeAll");
      return server;
    },
    seen,
    async during(fn) {
      const before = seen.length;
      await fn();
      return seen.slice(before);
    },
    async billedDuring(fn) {
      const before = await server!.billing();
      await fn();
      return billingSince(before, await server!.billing());
    },
  };
}
