// A local stand-in for Upstash: the Upstash REST protocol over HTTP, in front of a real Redis.
// Shipped (dist/dev, `prometheus-upstash dev`): Node built-ins only. The test suite's billing
// meter wraps it in server.ts.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { CommandTable } from "./command-table.ts";
import { RedisExecutor } from "./executor.ts";
import { createHandler, type RequestInfo } from "./http.ts";
import { RecordSizeGuard, resolveLimits, type UpstashLimits } from "./limits.ts";

export type { RequestInfo } from "./http.ts";
export type { UpstashLimits } from "./limits.ts";

export interface RestServerOptions {
  redisUrl: string;
  /** Bearer token clients must send; random when omitted. */
  token?: string;
  /** Port to listen on; a free one when omitted. */
  port?: number;
  /** Interface to bind; 127.0.0.1 by default. Anything but loopback needs allowRemote. */
  host?: string;
  allowRemote?: boolean;
  /** Called for every well-formed, authorized request before it runs. */
  onRequest?: (info: RequestInfo) => void;
  /** Called once a request was answered with Redis reachable (its commands were served). */
  onServed?: (info: RequestInfo) => void;
  /**
   * Upstash's size limits, each in bytes; Upstash's values (UPSTASH_LIMITS) where omitted.
   * Tests lower them to reach a limit at a size that runs fast, e.g. `{ maxReplyBytes: 65536 }`.
   */
  limits?: Partial<UpstashLimits>;
}

export interface RestServer {
  url: string;
  token: string;
  port: number;
  /** The Redis this server runs commands on. */
  redisUrl: string;
  /** The size limits in force. */
  limits: Readonly<UpstashLimits>;
  /** How many HTTP requests reached the server so far (any route, any outcome). */
  requests(): number;
  /** True when `peer` ("ip:port" as Redis names a client) is one of this server's connections. */
  ownsPeer(peer: string): boolean;
  stop(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export function randomToken(): string {
  return randomBytes(24).toString("base64url");
}

async function commandTable(executor: RedisExecutor): Promise<CommandTable> {
  const outcome = await executor.run(["COMMAND"]);
  if ("error" in outcome) throw new Error(`Redis refused COMMAND: ${outcome.error}`);
  return new CommandTable(outcome.reply);
}

/** MEMORY USAGE of each key (Redis' default sampling); 0 for a key that does not exist. */
async function memoryUsage(executor: RedisExecutor, keys: string[]): Promise<number[]> {
  const outcomes = await executor.pipeline(keys.map((key) => ["MEMORY", "USAGE", key]));
  return outcomes.map((o) => ("reply" in o && o.reply !== null ? Number(o.reply) : 0));
}

export async function startRestServer(opts: RestServerOptions): Promise<RestServer> {
  const host = opts.host ?? "127.0.0.1";
  if (!LOOPBACK.has(host) && !opts.allowRemote) {
    throw new Error(`refusing to bind ${host}: pass allowRemote to listen beyond loopback`);
  }
  const token = opts.token ?? randomToken();
  const limits = resolveLimits(opts.limits);
  const executor = new RedisExecutor(opts.redisUrl);
  await executor.start();
  let table: CommandTable;
  try {
    table = await commandTable(executor);
  } catch (err) {
    await executor.close();
    throw err;
  }

  const handle = createHandler({
    token,
    executor,
    limits,
    table,
    records: new RecordSizeGuard(limits.maxRecordBytes, table, (keys) =>
      memoryUsage(executor, keys),
    ),
    onRequest: opts.onRequest,
    onServed: opts.onServed,
  });
  let requestCount = 0;
  const http = createServer((req, res) => {
    requestCount++;
    void handle(req, res);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(opts.port ?? 0, host, () => resolve());
    });
  } catch (err) {
    await executor.close();
    throw err;
  }
  const port = (http.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    token,
    port,
    redisUrl: opts.redisUrl,
    limits,
    requests: () => requestCount,
    ownsPeer: (peer) => executor.ownsPeer(peer),
    async stop() {
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections(); // keep-alive sockets would hold close() open
      });
      await executor.close();
    },
  };
}
