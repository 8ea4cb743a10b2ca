// A fault-injecting HTTP proxy for tests: it sits in front of the local Upstash REST server and,
// for a chosen fraction of requests, fails them the ways a serverless network fails.
//
// Each request draws one outcome from a seeded PRNG (so a run repeats exactly), unless a
// scripted outcome is queued with `script()`:
//   refuse        reset the TCP connection (RST) as soon as the request arrives; nothing is
//                 forwarded. A listening port cannot refuse one request out of many, so this is
//                 the per-request stand-in for "connection refused": the client sees a network
//                 error (ECONNRESET) and knows the request was never answered.
//   delay         hold the request for `delayMs`, then forward it (default: a slow server that
//                 still applies the commands, after the client gave up) or reset it.
//   http500       answer 500 with an Upstash-style JSON error body; nothing is forwarded.
//   http502       answer 502 with an HTML body, as a gateway in front would; nothing forwarded.
//   garbage       answer 200 with malformed JSON; nothing is forwarded.
//   applyThenDrop forward the request, wait for the target's full response (so the commands
//                 ran in Redis), then reset the client connection without replying.
// `setDown()` fails everything instead: "refuse" closes the listener (real ECONNREFUSED),
// "reset" resets every request, "redisDown" answers the way an Upstash REST endpoint does when
// its Redis cannot be reached (HTTP 500, JSON error, nothing applied).
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { mulberry32 as seededRandom } from "../prng.ts";

export const FAULT_MODES = [
  "refuse",
  "delay",
  "http500",
  "http502",
  "garbage",
  "applyThenDrop",
] as const;
export type FaultMode = (typeof FAULT_MODES)[number];
/** Fraction (0..1) of requests that get each fault; the rest are forwarded cleanly. */
export type FaultFractions = Partial<Record<FaultMode, number>>;
export type Outcome = FaultMode | "clean";
export type DownMode = "refuse" | "reset" | "redisDown";
/** After a `delay`: forward the request late (it still applies) or reset it (it never does). */
export type AfterDelay = "forward" | "drop";

export interface FaultProxyOptions {
  /** Base URL of the server to forward to, e.g. the local Upstash server's URL. */
  target: string;
  /** PRNG seed for the fault draws; default 1. */
  seed?: number;
  faults?: FaultFractions;
  /** How long a `delay` request is held; default 1000 ms. */
  delayMs?: number;
  afterDelay?: AfterDelay;
  /** Port to listen on (127.0.0.1); default a free one. */
  port?: number;
  /** Called once per request with what the proxy decided to do with it. */
  onRequest?: (event: ProxyRequestEvent) => void;
}

export interface ProxyRequestEvent {
  outcome: Outcome | `down:${DownMode}`;
  method: string;
  path: string;
  /** The request body (read before deciding, except for `refuse` and `down:reset`). */
  body: string;
}

export interface FaultProxyStats {
  /** Requests that reached the proxy (connections refused by `setDown("refuse")` never do). */
  total: number;
  /** Forwarded without a fault and answered with the target's own response. */
  clean: number;
  /** Requests that drew each fault. */
  faults: Record<FaultMode, number>;
  /** Requests met by `setDown("reset" | "redisDown")`. */
  down: number;
  /** Requests sent on to the target: clean + applyThenDrop + delayed-then-forwarded. */
  forwarded: number;
  /** Forwards the target did not answer (the client connection was reset). */
  forwardFailures: number;
}

export interface FaultProxy {
  /** Base URL of the proxy; give it to the client in place of the target's URL. */
  url: string;
  port: number;
  setFaults(faults: FaultFractions): void;
  setDelay(delayMs: number, afterDelay?: AfterDelay): void;
  /** Outcomes for the next requests, used in order before any random draw. */
  script(...outcomes: Outcome[]): void;
  setDown(mode: DownMode | false): Promise<void>;
  stats(): FaultProxyStats;
  resetStats(): void;
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "host",
  "content-length",
]);

const HTTP500_BODY = JSON.stringify({ error: "ERR fault-proxy: injected HTTP 500" });
const HTTP502_BODY = "<html><head><title>502 Bad Gateway</title></head><body>502</body></html>";
const GARBAGE_BODY = '{"result":[{"result":1},{"res';
// What a REST front end answers when its Redis is unreachable: the whole request fails with
// HTTP 500 and one JSON error (serverless-redis-http, Upstash's recommended stand-in, does this).
const REDIS_DOWN_BODY = JSON.stringify({
  error: "ERR fault-proxy: Redis is unreachable (simulated outage)",
});

export function validateFractions(faults: FaultFractions): void {
  let sum = 0;
  for (const [mode, fraction] of Object.entries(faults)) {
    if (!(FAULT_MODES as readonly string[]).includes(mode)) {
      throw new Error(`unknown fault mode "${mode}"`);
    }
    if (typeof fraction !== "number" || !(fraction >= 0 && fraction <= 1)) {
      throw new Error(`fault fraction for "${mode}" must be within 0..1, got ${fraction}`);
    }
    sum += fraction;
  }
  if (sum > 1 + 1e-9) throw new Error(`fault fractions add up to ${sum}, more than 1`);
}

function emptyStats(): FaultProxyStats {
  const faults = Object.fromEntries(FAULT_MODES.map((m) => [m, 0])) as Record<FaultMode, number>;
  return { total: 0, clean: 0, faults, down: 0, forwarded: 0, forwardFailures: 0 };
}

/** Send a TCP RST and drop the connection (a plain destroy() would send a FIN). */
function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  socket.resetAndDestroy();
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

interface TargetResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const targetBasePath = target.pathname.replace(/\/$/, "");
  const random = seededRandom(options.seed ?? 1);
  const agent = new http.Agent({ keepAlive: true });
  let faults: FaultFractions = {};
  let delayMs = options.delayMs ?? 1000;
  let afterDelay: AfterDelay = options.afterDelay ?? "forward";
  let down: DownMode | false = false;
  let stats = emptyStats();
  const scripted: Outcome[] = [];
  const timers = new Set<NodeJS.Timeout>();

  function setFaults(next: FaultFractions): void {
    validateFractions(next);
    faults = { ...next };
  }
  setFaults(options.faults ?? {});

  function draw(): Outcome {
    const next = scripted.shift();
    if (next !== undefined) return next;
    // Always consume one number per request, so the sequence does not depend on the fractions.
    const r = random();
    let cumulative = 0;
    for (const mode of FAULT_MODES) {
      cumulative += faults[mode] ?? 0;
      if (r < cumulative) return mode;
    }
    return "clean";
  }

  function forward(req: http.IncomingMessage, body: Buffer): Promise<TargetResponse> {
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
    }
    headers["content-length"] = body.length;
    stats.forwarded++;
    return new Promise((resolve, reject) => {
      const outgoing = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: targetBasePath + (req.url ?? "/"),
          headers,
          agent,
        },
        (response) => {
          readBody(response).then(
            (responseBody) =>
              resolve({
                status: response.statusCode ?? 502,
                headers: response.headers,
                body: responseBody,
              }),
            reject,
          );
        },
      );
      outgoing.on("error", reject);
      outgoing.end(body);
    });
  }

  function reply(
    res: http.ServerResponse,
    status: number,
    contentType: string,
    body: string | Buffer,
  ): void {
    if (res.destroyed || res.socket?.destroyed) return;
    res.writeHead(status, {
      "content-type": contentType,
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  }

  function relay(res: http.ServerResponse, response: TargetResponse): void {
    if (res.destroyed || res.socket?.destroyed) return;
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
    }
    headers["content-length"] = response.body.length;
    res.writeHead(response.status, headers);
    res.end(response.body);
  }

  async function forwardAndRelay(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
  ): Promise<void> {
    try {
      relay(res, await forward(req, body));
    } catch {
      stats.forwardFailures++;
      resetSocket(req.socket);
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    stats.total++;
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    if (down === "reset") {
      stats.down++;
      options.onRequest?.({ outcome: "down:reset", method, path, body: "" });
      resetSocket(req.socket);
      return;
    }
    const outcome: Outcome = down ? "clean" : draw();
    if (outcome === "refuse") {
      stats.faults.refuse++;
      options.onRequest?.({ outcome, method, path, body: "" });
      resetSocket(req.socket);
      return;
    }
    const body = await readBody(req);
    if (down === "redisDown") {
      stats.down++;
      options.onRequest?.({ outcome: "down:redisDown", method, path, body: body.toString() });
      reply(res, 500, "application/json", REDIS_DOWN_BODY);
      return;
    }
    if (outcome === "clean") stats.clean++;
    else stats.faults[outcome]++;
    options.onRequest?.({ outcome, method, path, body: body.toString() });

    switch (outcome) {
      case "clean":
        await forwardAndRelay(req, res, body);
        return;
      case "http500":
        reply(res, 500, "application/json", HTTP500_BODY);
        return;
      case "http502":
        reply(res, 502, "text/html", HTTP502_BODY);
        return;
      case "garbage":
        reply(res, 200, "application/json", GARBAGE_BODY);
        return;
      case "applyThenDrop":
        try {
          await forward(req, body);
        } catch {
          stats.forwardFailures++;
        }
        resetSocket(req.socket);
        return;
      case "delay": {
        const then = afterDelay;
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (then === "drop") resetSocket(req.socket);
          else void forwardAndRelay(req, res, body);
        }, delayMs);
        timers.add(timer);
        return;
      }
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => resetSocket(req.socket));
  });
  // A client that gives up (timeout) or a reset we caused must not crash the test process.
  server.on("clientError", (_err, socket) => socket.destroy());

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const close = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });

  await listen(options.port ?? 0);
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    setFaults,
    setDelay(ms, then) {
      delayMs = ms;
      if (then) afterDelay = then;
    },
    script(...outcomes) {
      scripted.push(...outcomes);
    },
    async setDown(mode) {
      const wasRefusing = down === "refuse";
      down = mode;
      // Real refusal: stop listening, so connects fail with ECONNREFUSED; listen again after.
      if (mode === "refuse" && !wasRefusing) await close();
      if (mode !== "refuse" && wasRefusing) await listen(port);
    },
    stats() {
      return { ...stats, faults: { ...stats.faults } };
    },
    resetStats() {
      stats = emptyStats();
    },
    async stop() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await close();
      agent.destroy();
    },
  };
}
