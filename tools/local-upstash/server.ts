// A local stand-in for Upstash: the Upstash REST protocol over HTTP, in front of a real Redis.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type Billing, BillingMeter, type ScriptRun } from "./billing.ts";
import { CommandTable } from "./command-table.ts";
import { RedisExecutor } from "./executor.ts";
import { createHandler, type RequestInfo } from "./http.ts";
import { RecordSizeGuard, resolveLimits, type UpstashLimits } from "./limits.ts";

export type { Billing, ScriptRun } from "./billing.ts";
export type { RequestInfo } from "./http.ts";
export type { UpstashLimits } from "./limits.ts";

export interface UpstashServerOptions {
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
  /**
   * Count billed commands as Upstash bills them (see billing.ts) and record script runs:
   * enables billing(), resetBilling() and recordScripts(). Opens a MONITOR connection to Redis.
   */
  billing?: boolean;
  /**
   * Upstash's size limits, each in bytes; Upstash's values (UPSTASH_LIMITS) where omitted.
   * Tests lower them to reach a limit at a size that runs fast, e.g. `{ maxReplyBytes: 65536 }`.
   */
  limits?: Partial<UpstashLimits>;
}

export interface UpstashServer {
  url: string;
  token: string;
  port: number;
  /** The Redis this server runs commands on. */
  redisUrl: string;
  /** The size limits in force. */
  limits: Readonly<UpstashLimits>;
  /** How many HTTP requests reached the server so far (any route, any outcome). */
  requests(): number;
  /**
   * Billed commands since the start or the last resetBilling(), counted as Upstash bills them:
   * each command of a request plus every command a script run by this server ran. Exact once
   * the requests have been answered, also when other clients share the redis-server. Needs the
   * `billing` option.
   */
  billing(): Promise<Billing>;
  resetBilling(): Promise<void>;
  /**
   * Every script call this server made to Redis while `work` ran (its KEYS and ARGV, the text
   * the client sent, and each command the script ran). Needs the `billing` option.
   */
  recordScripts<T>(work: () => Promise<T>): Promise<{ result: T; runs: ScriptRun[] }>;
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

export async function startUpstashServer(opts: UpstashServerOptions): Promise<UpstashServer> {
  const host = opts.host ?? "127.0.0.1";
  if (!LOOPBACK.has(host) && !opts.allowRemote) {
    throw new Error(`refusing to bind ${host}: pass allowRemote to listen beyond loopback`);
  }
  const token = opts.token ?? randomToken();
  const limits = resolveLimits(opts.limits);
  const executor = new RedisExecutor(opts.redisUrl);
  await executor.start();
  let meter: BillingMeter | undefined;
  let table: CommandTable;
  try {
    table = await commandTable(executor);
    if (opts.billing) meter = await BillingMeter.start(opts.redisUrl, (p) => executor.ownsPeer(p));
  } catch (err) {
    await executor.close();
    throw err;
  }
  const metered = (): BillingMeter => {
    if (!meter) throw new Error("start the local Upstash server with { billing: true } for this");
    return meter;
  };

  const handle = createHandler({
    token,
    executor,
    limits,
    table,
    records: new RecordSizeGuard(limits.maxRecordBytes, table, (keys) =>
      memoryUsage(executor, keys),
    ),
    onRequest: opts.onRequest,
    // A request Redis could not serve (503) is not billed.
    onServed: meter ? (info) => meter.countRequest(info.commands as string[][]) : undefined,
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
    await meter?.close();
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
    billing: async () => metered().billing(),
    resetBilling: async () => metered().reset(),
    recordScripts: async (work) => metered().record(work),
    async stop() {
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections(); // keep-alive sockets would hold close() open
      });
      await meter?.close();
      await executor.close();
    },
  };
}
