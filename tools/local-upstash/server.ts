// A local stand-in for Upstash: the Upstash REST protocol over HTTP, in front of a real Redis.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { RedisExecutor } from "./executor.ts";
import { createHandler, type RequestInfo } from "./http.ts";

export type { RequestInfo } from "./http.ts";

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
}

export interface UpstashServer {
  url: string;
  token: string;
  port: number;
  /** How many HTTP requests reached the server so far (any route, any outcome). */
  requests(): number;
  stop(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export function randomToken(): string {
  return randomBytes(24).toString("base64url");
}

export async function startUpstashServer(opts: UpstashServerOptions): Promise<UpstashServer> {
  const host = opts.host ?? "127.0.0.1";
  if (!LOOPBACK.has(host) && !opts.allowRemote) {
    throw new Error(`refusing to bind ${host}: pass allowRemote to listen beyond loopback`);
  }
  const token = opts.token ?? randomToken();
  const executor = new RedisExecutor(opts.redisUrl);
  await executor.start();

  const handle = createHandler({ token, executor, onRequest: opts.onRequest });
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
    requests: () => requestCount,
    async stop() {
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections(); // keep-alive sockets would hold close() open
      });
      await executor.close();
    },
  };
}
