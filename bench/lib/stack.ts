// The measuring stack of the benchmarks: a throwaway redis-server, the project's local Upstash
// REST server in front of it with its billing meter on (`billing()`: billed commands as Upstash
// bills them, each command of a request plus every command a script runs), and a small
// counting proxy in front of that which measures requests and bytes on the wire.
// `INFO commandstats` read straight from Redis (ioredis) counts what Redis really executed.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis as IORedis } from "ioredis";
import {
  type Billing,
  type RedisServer,
  startRedisServer,
  startUpstashServer,
  type UpstashServer,
} from "../../tools/local-upstash/index.ts";

export interface Counts {
  /** HTTP requests that reached the Upstash server. */
  requests: number;
  /** Commands inside those requests (MULTI/EXEC wrappers not included); scripts' not counted. */
  requestCommands: number;
  /** Request bytes through the proxy: request line, headers and body. */
  bytesSent: number;
  /** Request body bytes through the proxy. */
  bodyBytesSent: number;
  /** Response bytes through the proxy (status line, headers, body). */
  bytesReceived: number;
  /** Requests per route ("/", "/pipeline", "/multi-exec"). */
  routes: Record<string, number>;
}

export interface BenchStack {
  /** The Upstash server itself (no proxy: for timings). */
  url: string;
  /** The counting proxy in front of it (for bytes). */
  proxyUrl: string;
  token: string;
  redisUrl: string;
  /** A direct Redis connection (RESP2) for INFO, MEMORY USAGE, SCAN, FLUSHALL. */
  redis: IORedis;
  counts(): Counts;
  resetCounts(): void;
  /** Billed commands so far, as Upstash bills them (tools/local-upstash/billing.ts); needs
   * `startBenchStack({ billing: true })`. */
  billing(): Promise<Billing>;
  /** Total commands Redis has executed (commandstats), not counting INFO itself. */
  executedCommands(): Promise<number>;
  stop(): Promise<void>;
}

function zero(): Counts {
  return {
    requests: 0,
    requestCommands: 0,
    bytesSent: 0,
    bodyBytesSent: 0,
    bytesReceived: 0,
    routes: {},
  };
}

function headerBytes(req: IncomingMessage): number {
  // "METHOD path HTTP/1.1\r\n" + "name: value\r\n" per header + "\r\n"
  let n = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`.length + 2;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    n += Buffer.byteLength(req.rawHeaders[i]!) + 2 + Buffer.byteLength(req.rawHeaders[i + 1]!) + 2;
  }
  return n;
}

/**
 * `billing: true` turns the server's billing meter on (a MONITOR connection, which slows Redis
 * down a little: leave it off where times are measured).
 */
export async function startBenchStack(opts: { billing?: boolean } = {}): Promise<BenchStack> {
  const redisServer: RedisServer = await startRedisServer();
  let counts = zero();
  let upstash: UpstashServer | undefined;
  try {
    upstash = await startUpstashServer({
      redisUrl: redisServer.url,
      billing: opts.billing,
      onRequest: (info) => {
        counts.requests++;
        counts.requestCommands += info.commands.length;
        counts.routes[info.path] = (counts.routes[info.path] ?? 0) + 1;
      },
    });
  } catch (err) {
    await redisServer.stop();
    throw err;
  }
  const upstream = upstash.url;

  const proxy = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    counts.bodyBytesSent += body.length;
    counts.bytesSent += headerBytes(req) + body.length;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (name === "host" || name === "content-length" || name === "connection") continue;
      if (typeof value === "string") headers[name] = value;
    }
    try {
      const reply = await fetch(upstream + (req.url ?? "/"), {
        method: req.method ?? "POST",
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
      });
      const out = Buffer.from(await reply.arrayBuffer());
      const replyHeaders = {
        "content-type": reply.headers.get("content-type") ?? "application/json",
      };
      counts.bytesReceived += out.length + 17 + 50; // body + status line + the two headers we send
      res.writeHead(reply.status, { ...replyHeaders, "content-length": out.length });
      res.end(out);
    } catch (err) {
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: `bench proxy: ${(err as Error).message}` }));
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", () => resolve()));
  const proxyPort = (proxy.address() as AddressInfo).port;

  const redis = new IORedis(redisServer.url, { protocol: 2, lazyConnect: true });
  await redis.connect();

  return {
    url: upstash.url,
    proxyUrl: `http://127.0.0.1:${proxyPort}`,
    token: upstash.token,
    redisUrl: redisServer.url,
    redis,
    counts: () => ({ ...counts, routes: { ...counts.routes } }),
    resetCounts: () => {
      counts = zero();
    },
    billing: () => upstash.billing(),
    async executedCommands() {
      const info = (await redis.info("commandstats")) as string;
      let total = 0;
      for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        if (match[1] !== "info") total += Number(match[2]);
      }
      return total;
    },
    async stop() {
      redis.disconnect();
      await new Promise<void>((resolve) => {
        proxy.close(() => resolve());
        proxy.closeAllConnections();
      });
      await upstash.stop();
      await redisServer.stop();
    },
  };
}
