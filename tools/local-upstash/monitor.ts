// A MONITOR connection to Redis: every command Redis runs, from any client and from inside Lua
// scripts, in execution order. Redis 7.0 prints an EVAL/EVALSHA line first, then one `[0 lua]`
// line per command its script runs, before anything else runs (scripts are atomic), so a script's
// commands can be told apart from everyone else's.
//
// ioredis has a monitor mode, but it splits a line on `" "` and decodes only `\"`, so arguments
// holding quotes, backslashes or bytes outside printable ASCII come out wrong; the format (Redis'
// sdscatrepr) is small enough to read here.
import { connect, type Socket } from "node:net";
import { Redis } from "ioredis";

export interface MonitorLine {
  /** Who ran it: "lua" for a command run by a script, else the client's "ip:port". */
  source: string;
  /** The command and its arguments, decoded. */
  args: string[];
}

const ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, a: 7, b: 8, '"': 34, "\\": 92 };

/** Reads the quoted arguments of a MONITOR line, starting at `from`. */
function parseArgs(line: string, from: number): string[] {
  const args: string[] = [];
  let i = from;
  while (i < line.length) {
    if (line[i] !== '"') {
      i++;
      continue;
    }
    const bytes: number[] = [];
    i++;
    while (i < line.length && line[i] !== '"') {
      const c = line[i]!;
      if (c !== "\\") {
        bytes.push(c.charCodeAt(0));
        i++;
        continue;
      }
      const next = line[i + 1] ?? "";
      if (next === "x") {
        bytes.push(Number.parseInt(line.slice(i + 2, i + 4), 16));
        i += 4;
      } else {
        bytes.push(ESCAPES[next] ?? next.charCodeAt(0));
        i += 2;
      }
    }
    i++; // closing quote
    args.push(Buffer.from(bytes).toString("utf8"));
  }
  return args;
}

/** `1700000000.123456 [0 127.0.0.1:5000] "SET" "k" "v"` → source and arguments. */
export function parseMonitorLine(line: string): MonitorLine | undefined {
  const open = line.indexOf(" [");
  const close = line.indexOf("] ", open);
  if (open < 0 || close < 0) return undefined;
  const inside = line.slice(open + 2, close); // "<db> <source>"
  const space = inside.indexOf(" ");
  return { source: inside.slice(space + 1), args: parseArgs(line, close + 2) };
}

const SYNC_TIMEOUT_MS = 10_000;
const RECONNECT_MS = 200;

export class MonitorLost extends Error {}

/**
 * Streams MONITOR lines to `onLine`. `sync()` resolves once every command Redis completed before
 * the call has been delivered: it runs a marker command and waits for its line. If the MONITOR
 * connection breaks, pending syncs reject, `gaps` grows (lines may have been missed) and it
 * reconnects; a sync meanwhile waits for it.
 */
export class RedisMonitor {
  private readonly url: URL;
  private readonly onLine: (line: MonitorLine) => void;
  private readonly control: Redis;
  private socket: Socket | undefined;
  private buffer = "";
  private ready = false;
  private closed = false;
  private markers = 0;
  private readonly waiting = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  private readonly token = Math.random().toString(36).slice(2);
  private readyWaiters: Array<() => void> = [];
  /** Times the MONITOR connection was lost (what it would have shown meanwhile is missing). */
  gaps = 0;

  private constructor(redisUrl: string, onLine: (line: MonitorLine) => void) {
    this.url = new URL(redisUrl);
    this.onLine = onLine;
    this.control = new Redis(redisUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      disableClientInfo: true,
    });
    this.control.on("error", () => {}); // its commands reject; no unhandled 'error' events
  }

  static async start(redisUrl: string, onLine: (line: MonitorLine) => void): Promise<RedisMonitor> {
    const monitor = new RedisMonitor(redisUrl, onLine);
    try {
      await monitor.control.connect();
      await monitor.open();
    } catch (err) {
      await monitor.close();
      throw err;
    }
    return monitor;
  }

  /** A plain connection to the same Redis (the marker commands use it; so may audits). */
  get redis(): Redis {
    return this.control;
  }

  async sync(): Promise<void> {
    if (!this.ready) await this.reconnected();
    const marker = `local-upstash:sync:${this.token}:${++this.markers}`;
    const seen = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(marker);
        reject(
          new MonitorLost(`MONITOR did not show the sync marker within ${SYNC_TIMEOUT_MS} ms`),
        );
      }, SYNC_TIMEOUT_MS);
      this.waiting.set(marker, {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
    await this.control.call("ECHO", marker);
    await seen;
  }

  private reconnected(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== done);
        reject(new MonitorLost(`MONITOR connection to Redis is down (${SYNC_TIMEOUT_MS} ms)`));
      }, SYNC_TIMEOUT_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.readyWaiters.push(done);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.socket?.destroy();
    this.control.disconnect();
    this.failWaiting(new MonitorLost("monitor closed"));
  }

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.url.hostname, port: Number(this.url.port || 6379) });
      this.socket = socket;
      this.buffer = "";
      socket.setEncoding("latin1"); // MONITOR lines are ASCII (sdscatrepr escapes the rest)
      const password = decodeURIComponent(this.url.password);
      let oks = password ? -1 : 0; // AUTH answers +OK before MONITOR does
      socket.once("connect", () => {
        if (password) socket.write(`AUTH ${password}\r\n`);
        socket.write("MONITOR\r\n");
      });
      socket.on("data", (chunk: string) => {
        this.buffer += chunk;
        let end = this.buffer.indexOf("\r\n");
        while (end >= 0) {
          const reply = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 2);
          if (this.ready) {
            if (reply.startsWith("+")) this.dispatch(reply.slice(1));
          } else if (reply.startsWith("-")) {
            reject(new Error(`MONITOR refused: ${reply.slice(1)}`));
            socket.destroy();
          } else if (reply === "+OK" && ++oks === 1) {
            this.ready = true;
            resolve();
            for (const wake of this.readyWaiters.splice(0)) wake();
          }
          end = this.buffer.indexOf("\r\n");
        }
      });
      socket.once("error", (err) => {
        if (!this.ready) reject(err);
      });
      socket.once("close", () => {
        const wasReady = this.ready;
        this.ready = false;
        if (wasReady) this.gaps++;
        this.failWaiting(new MonitorLost("MONITOR connection to Redis was lost"));
        if (wasReady && !this.closed) this.reconnect();
      });
    });
  }

  private reconnect(): void {
    setTimeout(() => {
      if (this.closed) return;
      this.open().catch(() => this.reconnect());
    }, RECONNECT_MS).unref();
  }

  private dispatch(text: string): void {
    const line = parseMonitorLine(text);
    if (!line) return;
    const [name, arg] = line.args;
    if (name?.toLowerCase() === "echo" && arg !== undefined && this.waiting.has(arg)) {
      this.waiting.get(arg)!.resolve();
      this.waiting.delete(arg);
    }
    this.onLine(line);
  }

  private failWaiting(error: Error): void {
    for (const { reject } of this.waiting.values()) reject(error);
    this.waiting.clear();
  }
}
