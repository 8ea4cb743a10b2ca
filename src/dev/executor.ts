// Runs commands on a real Redis (resp.ts), returning replies untransformed.
//
// One shared connection serves `/` and `/pipeline`; every `/multi-exec` borrows a connection of
// its own from a small pool so concurrent transactions cannot interleave. Nothing is queued
// while Redis is down: a request then fails at once (503), and the next one connects again, so
// the server recovers by itself when Redis is back.
import type { CommandArgs, Outcome } from "./encoding.ts";
import { ConnectionLost, RespConnection, RespError, type RespReply } from "./resp.ts";

/** Redis could not be reached (or the connection broke mid-request). */
export class RedisUnavailable extends Error {}

const MAX_TRANSACTION_CONNECTIONS = 16;
const CONNECT_TIMEOUT_MS = 2_000;

function outcome(reply: RespReply): Outcome {
  return reply instanceof RespError ? { error: reply.message } : { reply };
}

export class RedisExecutor {
  private readonly url: string;
  private shared: Promise<RespConnection> | undefined;
  private readonly idle: RespConnection[] = [];
  private readonly open = new Set<RespConnection>();
  private busy = 0;
  private readonly waiting: Array<() => void> = [];
  private closed = false;
  /** How Redis names each connection we ever opened ("ip:port"), for MONITOR attribution. */
  private readonly peers = new Set<string>();

  constructor(redisUrl: string) {
    this.url = redisUrl;
  }

  /** Connects the shared connection; rejects when Redis is unreachable. */
  async start(): Promise<void> {
    try {
      await this.sharedConnection();
    } catch (err) {
      throw new Error(`cannot reach Redis at ${this.url}: ${(err as Error).message}`);
    }
  }

  async run(command: CommandArgs): Promise<Outcome> {
    const [result] = await this.pipeline([command]);
    return result!;
  }

  async pipeline(commands: CommandArgs[]): Promise<Outcome[]> {
    if (commands.length === 0) return []; // every command was refused: Redis is not needed
    try {
      const conn = await this.sharedConnection();
      return (await Promise.all(conn.send(commands))).map(outcome);
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /** MULTI, the commands, EXEC on a dedicated connection; an error string if Redis discarded it. */
  async transaction(commands: CommandArgs[]): Promise<Outcome[] | { error: string }> {
    const conn = await this.acquire();
    let healthy = false;
    try {
      const replies = await Promise.all(conn.send([["multi"], ...commands, ["exec"]]));
      healthy = true;
      const exec = replies[replies.length - 1];
      if (!Array.isArray(exec)) {
        // EXECABORT: a command was rejected while queueing; say which.
        const reasons = replies
          .filter((r): r is RespError => r instanceof RespError)
          .map((r) => r.message);
        return { error: reasons.join("; ") || "EXECABORT Transaction discarded" };
      }
      return exec.map(outcome);
    } catch (err) {
      throw this.unavailable(err);
    } finally {
      this.release(conn, healthy);
    }
  }

  /**
   * True when `peer` (a client address as MONITOR prints it) is one of our connections. Kept
   * after a connection closes: MONITOR lines may arrive after it closed.
   */
  ownsPeer(peer: string): boolean {
    return this.peers.has(peer);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const conn of this.open) conn.close();
    this.open.clear();
    this.idle.length = 0;
  }

  private async connect(): Promise<RespConnection> {
    if (this.closed) throw new ConnectionLost("the server is stopping");
    const conn = await RespConnection.open(this.url, { connectTimeoutMs: CONNECT_TIMEOUT_MS });
    this.peers.add(conn.peer);
    this.open.add(conn);
    return conn;
  }

  /** The shared connection, opened again if it broke (concurrent requests share one attempt). */
  private async sharedConnection(): Promise<RespConnection> {
    for (let attempt = 0; ; attempt++) {
      const pending = this.shared ?? this.openShared();
      const conn = await pending; // rejects when Redis cannot be reached
      if (conn.alive || attempt > 0) return conn;
      this.open.delete(conn);
      if (this.shared === pending) this.shared = undefined;
    }
  }

  private openShared(): Promise<RespConnection> {
    const attempt = this.connect();
    this.shared = attempt;
    // A failed attempt is not kept: the next request tries again.
    attempt.catch(() => {
      if (this.shared === attempt) this.shared = undefined;
    });
    return attempt;
  }

  private unavailable(err: unknown): Error {
    if (!(err instanceof ConnectionLost)) return err as Error;
    return new RedisUnavailable(
      `ERR local-upstash: Redis at ${this.url} is unavailable (${err.message})`,
    );
  }

  private async acquire(): Promise<RespConnection> {
    while (this.busy >= MAX_TRANSACTION_CONNECTIONS) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.busy++;
    let conn = this.idle.pop();
    while (conn && !conn.alive) {
      this.open.delete(conn);
      conn = this.idle.pop();
    }
    if (conn) return conn;
    try {
      return await this.connect();
    } catch (err) {
      this.busy--;
      this.waiting.shift()?.();
      throw this.unavailable(err);
    }
  }

  private release(conn: RespConnection, healthy: boolean): void {
    this.busy--;
    if (healthy && !this.closed && conn.alive) this.idle.push(conn);
    else {
      conn.close();
      this.open.delete(conn);
    }
    this.waiting.shift()?.();
  }
}
