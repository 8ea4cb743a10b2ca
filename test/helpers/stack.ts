// Helpers for test files that use the run-wide local stack started by test/global-setup.ts.
import { randomBytes } from "node:crypto";
import { Redis, type RedisConfigNodejs } from "@upstash/redis";
import { afterAll, beforeAll, inject } from "vitest";
import {
  type RequestInfo,
  startUpstashServer,
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

export interface RecordingServer {
  /** An @upstash/redis client for this server. */
  client(): Redis;
  /** Every request the server took so far (well-formed and authorized ones). */
  readonly seen: readonly RequestInfo[];
  /** The requests made while `fn` ran. */
  during(fn: () => Promise<unknown>): Promise<RequestInfo[]>;
}

/**
 * A local Upstash server of this test file's own, in front of the shared redis-server, that
 * records every request — for tests that count requests and billed commands. Call it at file
 * or describe level: it starts and stops with that scope's hooks.
 */
export function recordingServer(): RecordingServer {
  let server: UpstashServer | undefined;
  const seen: RequestInfo[] = [];
  beforeAll(async () => {
    server = await startUpstashServer({
      redisUrl: sharedStack().redisUrl,
      onRequest: (info) => seen.push(info),
    });
  });
  afterAll(() => server?.stop());
  return {
    client: () => new Redis({ url: server!.url, token: server!.token }),
    seen,
    async during(fn) {
      const before = seen.length;
      await fn();
      return seen.slice(before);
    },
  };
}
