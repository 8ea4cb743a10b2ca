// Runs commands on a real Redis through ioredis, returning replies untransformed.
//
// One shared connection serves `/` and `/pipeline`; every `/multi-exec` borrows a connection of
// its own from a small pool so concurrent transactions cannot interleave. ioredis is set up to
// fail fast (no offline queue, no per-command retries) so a dead Redis shows as an error at
// once; the shared connection keeps reconnecting in the background and recovers by itself.
import type { Socket } from "node:net";
import { Command, Redis, type RedisOptions, ReplyError } from "ioredis";
import type { CommandArgs, Outcome } from "./encoding.ts";
import { peerId } from "./monitor.ts";

/** Redis could not be reached (or the connection broke mid-request). */
export class RedisUnavailable extends Error {}

/** A command whose reply skips ioredis' reply transformers (HGETALL → object etc.). */
class RawCommand extends Command {
  override transformReply(result: Buffer | Buffer[]): Buffer | Buffer[] {
    return result;
  }
}

const MAX_TRANSACTION_CONNECTIONS = 16;

const FAIL_FAST: RedisOptions = {
  protocol: 2, // RESP2 shapes: flat HGETALL / ZRANGE WITHSCORES, doubles as strings
  stringNumbers: true, // integers as exact decimal strings, never lossy JS numbers
  disableClientInfo: true,
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  connectTimeout: 2_000,
};

function isReplyError(err: unknown): err is Error {
  return err instanceof ReplyError;
}

function send(conn: Redis, command: CommandArgs): Promise<unknown> {
  const [name, ...args] = command;
  const raw = new RawCommand(name ?? "", args);
  conn.sendCommand(raw);
  return raw.promise;
}

function settle(results: PromiseSettledResult<unknown>[]): Outcome[] {
  return results.map((r) => {
    if (r.status === "fulfilled") return { reply: r.value };
    if (isReplyError(r.reason)) return { error: r.reason.message };
    throw r.reason;
  });
}

export class RedisExecutor {
  private readonly url: string;
  private readonly shared: Redis;
  private lastConnectionError = "";
  private readonly idle: Redis[] = [];
  private busy = 0;
  private readonly waiting: Array<() => void> = [];
  private closed = false;
  /** How Redis names each connection we ever opened ("ip:port"), for MONITOR attribution. */
  private readonly peers = new Set<string>();

  constructor(redisUrl: string) {
    this.url = redisUrl;
    this.shared = this.open({ retryStrategy: (times) => Math.min(50 * times, 500) });
  }

  /** Connects the shared connection; rejects when Redis is unreachable. */
  async start(): Promise<void> {
    try {
      await this.shared.connect();
    } catch (err) {
      this.shared.disconnect();
      throw new Error(`cannot reach Redis at ${this.url}: ${(err as Error).message}`);
    }
  }

  async run(command: CommandArgs): Promise<Outcome> {
    const [outcome] = await this.pipeline([command]);
    return outcome!;
  }

  async pipeline(commands: CommandArgs[]): Promise<Outcome[]> {
    const results = await Promise.allSettled(commands.map((c) => send(this.shared, c)));
    try {
      return settle(results);
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /** MULTI, the commands, EXEC on a dedicated connection; an error string if Redis discarded it. */
  async transaction(commands: CommandArgs[]): Promise<Outcome[] | { error: string }> {
    const conn = await this.acquire();
    let healthy = false;
    try {
      const queued = [["multi"], ...commands, ["exec"]].map((c) => send(conn, c));
      const results = await Promise.allSettled(queued);
      const exec = results[results.length - 1]!;
      const failures = results.filter((r) => r.status === "rejected");
      const broken = failures.find((r) => !isReplyError(r.reason));
      if (broken) throw this.unavailable(broken.reason);
      healthy = true;
      if (exec.status === "rejected" || !Array.isArray(exec.value)) {
        // EXECABORT: a command was rejected while queueing; say which.
        const reasons = failures.map((r) => (r.reason as Error).message);
        return { error: reasons.join("; ") || "EXECABORT Transaction discarded" };
      }
      return exec.value.map((item: unknown) =>
        item instanceof Error ? { error: item.message } : { reply: item },
      );
    } finally {
      this.release(conn, healthy);
    }
  }

  /**
   * True when `peer` (a client address as MONITOR prints it) is one of our connections. Kept
   * after a connection closes: MONITOR lines may arrive after its close event.
   */
  ownsPeer(peer: string): boolean {
    return this.peers.has(peer);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const conn of [this.shared, ...this.idle.splice(0)]) conn.disconnect();
  }

  private open(extra: RedisOptions): Redis {
    const conn = new Redis(this.url, { ...FAIL_FAST, ...extra });
    // Without a listener ioredis prints every failed reconnect; keep the reason for our errors.
    conn.on("error", (err: Error) => {
      this.lastConnectionError = err.message;
    });
    conn.on("ready", () => {
      this.lastConnectionError = "";
    });
    conn.on("connect", () => {
      const socket = conn.stream as Socket;
      this.peers.add(peerId(socket.localAddress, socket.localPort));
    });
    return conn;
  }

  private unavailable(err: unknown): RedisUnavailable {
    const reason = this.lastConnectionError || (err as Error).message;
    return new RedisUnavailable(
      `ERR local-upstash: Redis at ${this.url} is unavailable (${reason})`,
    );
  }

  private async acquire(): Promise<Redis> {
    while (this.busy >= MAX_TRANSACTION_CONNECTIONS) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.busy++;
    let conn = this.idle.pop();
    while (conn && conn.status !== "ready") {
      conn.disconnect();
      conn = this.idle.pop();
    }
    if (conn) return conn;
    const fresh = this.open({ retryStrategy: () => null });
    try {
      await fresh.connect();
      return fresh;
    } catch (err) {
      fresh.disconnect();
      this.busy--;
      this.waiting.shift()?.();
      throw this.unavailable(err);
    }
  }

  private release(conn: Redis, healthy: boolean): void {
    this.busy--;
    if (healthy && !this.closed) this.idle.push(conn);
    else conn.disconnect();
    this.waiting.shift()?.();
  }
}
