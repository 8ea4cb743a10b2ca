// Counting commands the way Upstash bills them: every command of every request (`/`, `/pipeline`,
// `/multi-exec`; the MULTI/EXEC around a transaction is not a command of the request), plus every
// command a script runs. The request side is counted as requests arrive; the script side is read
// from a MONITOR connection (monitor.ts): a `lua` line belongs to the EVAL-family line before it,
// and only scripts that this server's own connections ran are counted, so the count stays exact
// when other clients share the redis-server.
import type { CommandArgs } from "../../src/dev/encoding.ts";
import { clientScript, sha1Hex } from "../../src/dev/scripts.ts";
import { type MonitorLine, MonitorLost, RedisMonitor } from "./monitor.ts";

export interface Billing {
  /** Commands Upstash would bill: those of the requests plus those the scripts ran. */
  billed: number;
  /** The same by command name in upper case, e.g. `{ EVALSHA: 1, HMGET: 1, HSET: 1 }`. */
  byCommand: Record<string, number>;
  /** Of `billed`: commands sent in requests. */
  requestCommands: number;
  /** Of `billed`: commands run by scripts (EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, FCALL…). */
  scriptCommands: number;
  /** Well-formed, authorized requests (the ones whose commands are counted). */
  requests: number;
}

/** One script call this server's connections made, and what the script did. */
export interface ScriptRun {
  /** EVAL, EVALSHA, EVAL_RO or EVALSHA_RO, as Redis ran it. */
  command: string;
  /** The script's text as the client sent it (shebang untouched), when this process saw it. */
  source: string | undefined;
  /** SHA1 of `source` (what the client calls it by), or the digest Redis was given. */
  sha: string;
  /** The KEYS of the call. */
  keys: string[];
  /** The ARGV of the call. */
  args: string[];
  /** Every command the script ran, in order, as Redis received it from Lua. */
  calls: string[][];
}

/** What was billed between two readings of `server.billing()`. */
export function billingSince(before: Billing, after: Billing): Billing {
  const byCommand: Record<string, number> = {};
  for (const [name, n] of Object.entries(after.byCommand)) {
    const delta = n - (before.byCommand[name] ?? 0);
    if (delta !== 0) byCommand[name] = delta;
  }
  return {
    billed: after.billed - before.billed,
    byCommand,
    requestCommands: after.requestCommands - before.requestCommands,
    scriptCommands: after.scriptCommands - before.scriptCommands,
    requests: after.requests - before.requests,
  };
}

const SCRIPT_CALLS = new Set(["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"]);

function emptyBilling(): Billing {
  return { billed: 0, byCommand: {}, requestCommands: 0, scriptCommands: 0, requests: 0 };
}

function scriptRun(args: string[]): ScriptRun {
  const [name = "", target = "", numkeys = "0"] = args;
  const n = Number(numkeys) || 0;
  const lower = name.toLowerCase();
  const byText = lower === "eval" || lower === "eval_ro";
  // EVAL carries the text Redis got (shebang adjusted): find the client's own text by its digest.
  const source = byText ? (clientScript(sha1Hex(target)) ?? target) : clientScript(target);
  return {
    command: name.toUpperCase(),
    source,
    sha: source === undefined ? target.toLowerCase() : sha1Hex(source),
    keys: args.slice(3, 3 + n),
    args: args.slice(3 + n),
    calls: [],
  };
}

export class BillingMeter {
  private readonly monitor: RedisMonitor;
  private readonly owns: (peer: string) => boolean;
  private counts = emptyBilling();
  /** Lua lines now belong to a script one of our connections started. */
  private inOwnScript = false;
  private readonly recorders = new Set<ScriptRun[]>();
  private run: ScriptRun | undefined;
  /** MONITOR gaps already known at the last reset: a newer one makes the counts incomplete. */
  private gapsAtReset = 0;

  private constructor(monitor: RedisMonitor, owns: (peer: string) => boolean) {
    this.monitor = monitor;
    this.owns = owns;
  }

  /** Starts watching `redisUrl`; `owns(peer)` says whether a client "ip:port" is ours. */
  static async start(redisUrl: string, owns: (peer: string) => boolean): Promise<BillingMeter> {
    let meter: BillingMeter | undefined;
    const monitor = await RedisMonitor.start(redisUrl, (line) => meter?.onLine(line));
    meter = new BillingMeter(monitor, owns);
    return meter;
  }

  /** The request side: called with the commands of every well-formed, authorized request. */
  countRequest(commands: readonly CommandArgs[]): void {
    this.counts.requests++;
    for (const command of commands) this.add(command[0] ?? "", "requestCommands");
  }

  /** The count so far, once MONITOR has caught up with every command completed before the call. */
  async billing(): Promise<Billing> {
    await this.monitor.sync();
    if (this.monitor.gaps !== this.gapsAtReset) {
      throw new MonitorLost(
        "the MONITOR connection to Redis was lost since the count began (Redis restarted?): " +
          "script commands may be missing; call resetBilling() to count again",
      );
    }
    return { ...this.counts, byCommand: { ...this.counts.byCommand } };
  }

  async reset(): Promise<void> {
    await this.monitor.sync();
    this.counts = emptyBilling();
    this.gapsAtReset = this.monitor.gaps;
  }

  /** The script runs of this server's connections while `work` ran. */
  async record<T>(work: () => Promise<T>): Promise<{ result: T; runs: ScriptRun[] }> {
    await this.monitor.sync();
    const gaps = this.monitor.gaps;
    const runs: ScriptRun[] = [];
    this.recorders.add(runs);
    try {
      const result = await work();
      await this.monitor.sync();
      if (this.monitor.gaps !== gaps) {
        throw new MonitorLost("the MONITOR connection to Redis was lost while recording");
      }
      return { result, runs };
    } finally {
      this.recorders.delete(runs);
    }
  }

  close(): Promise<void> {
    return this.monitor.close();
  }

  private onLine(line: MonitorLine): void {
    if (line.source === "lua") {
      if (!this.inOwnScript) return;
      this.add(line.args[0] ?? "", "scriptCommands");
      this.run?.calls.push(line.args);
      return;
    }
    // Anything else ends the script before it (scripts are atomic) and may start one.
    const name = (line.args[0] ?? "").toLowerCase();
    this.inOwnScript = SCRIPT_CALLS.has(name) && this.owns(line.source);
    this.run = undefined;
    if (this.inOwnScript && this.recorders.size > 0) {
      const run = scriptRun(line.args);
      this.run = run;
      for (const runs of this.recorders) runs.push(run);
    }
  }

  private add(name: string, side: "requestCommands" | "scriptCommands"): void {
    const key = name.toUpperCase();
    this.counts.billed++;
    this.counts[side]++;
    this.counts.byCommand[key] = (this.counts.byCommand[key] ?? 0) + 1;
  }
}
