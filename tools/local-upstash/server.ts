// The local Upstash server as the tests and benchmarks use it: the REST server (rest-server.ts,
// which ships) plus, on request, the billing meter (billing.ts: a MONITOR connection, ioredis),
// which stays out of the package.

import {
  type RestServer,
  type RestServerOptions,
  startRestServer,
} from "../../src/dev/rest-server.ts";
import { type Billing, BillingMeter, type ScriptRun } from "./billing.ts";

export type { RequestInfo } from "../../src/dev/http.ts";
export type { UpstashLimits } from "../../src/dev/limits.ts";
export { randomToken } from "../../src/dev/rest-server.ts";
export type { Billing, ScriptRun } from "./billing.ts";

export interface UpstashServerOptions extends RestServerOptions {
  /**
   * Count billed commands as Upstash bills them (see billing.ts) and record script runs:
   * enables billing(), resetBilling() and recordScripts(). Opens a MONITOR connection to Redis.
   */
  billing?: boolean;
}

export interface UpstashServer extends RestServer {
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
}

export async function startUpstashServer(opts: UpstashServerOptions): Promise<UpstashServer> {
  let meter: BillingMeter | undefined;
  const { billing, onServed, ...rest } = opts;
  const server = await startRestServer({
    ...rest,
    // A request Redis could not serve (503) is not billed.
    onServed: (info) => {
      meter?.countRequest(info.commands as string[][]);
      onServed?.(info);
    },
  });
  try {
    if (billing) meter = await BillingMeter.start(opts.redisUrl, (p) => server.ownsPeer(p));
  } catch (err) {
    await server.stop();
    throw err;
  }
  const metered = (): BillingMeter => {
    if (!meter) throw new Error("start the local Upstash server with { billing: true } for this");
    return meter;
  };
  return {
    ...server,
    billing: async () => metered().billing(),
    resetBilling: async () => metered().reset(),
    recordScripts: async (work) => metered().record(work),
    async stop() {
      await server.stop();
      await meter?.close();
    },
  };
}
