// The rule of Upstash's `#!lua flags=allow-key-locking`, checked after the fact: every key a
// script touches must be one of the KEYS of its call ("Dynamic keys are not allowed"), and it
// may not run commands that need the whole database. Stock Redis enforces neither, so this
// audit watches the script runs of a local Upstash server (billing.ts records them from MONITOR)
// and asks the real Redis which arguments of each command are keys (COMMAND GETKEYS), so it
// needs no table of key positions of its own.
import { Redis } from "ioredis";
import type { ScriptRun } from "./billing.ts";
import type { UpstashServer } from "./server.ts";

/** Commands Upstash refuses in a script that locks only its keys (they need the database). */
const DATABASE_WIDE = new Set([
  "flushdb",
  "flushall",
  "keys",
  "scan",
  "randomkey",
  "dbsize",
  "swapdb",
  "move",
  "copy",
]);

export interface KeyViolation {
  /** "undeclared-key": a key not in the call's KEYS; "database-wide": a whole-database command. */
  kind: "undeclared-key" | "database-wide";
  /** The script's first line as the client sent it, else its SHA1. */
  script: string;
  /** The command the script ran (arguments cut to 80 characters each). */
  command: string[];
  /** The key that was not declared (undeclared-key only). */
  key?: string;
  /** The KEYS of that call. */
  declared: string[];
}

export interface KeyAudit<T = unknown> {
  result: T;
  runs: ScriptRun[];
  violations: KeyViolation[];
}

const cut = (s: string) => (s.length > 80 ? `${s.slice(0, 77)}...` : s);

/** The first line of a script as the client sent it (or its SHA1 when the text is unknown). */
export function firstLine(run: ScriptRun): string {
  return run.source === undefined ? run.sha : (run.source.split("\n", 1)[0] ?? "");
}

/** Keys of one command as Redis parses it; [] for a command that takes none. */
async function keysOf(redis: Redis, command: string[]): Promise<string[]> {
  // A command with keys always has arguments; COMMAND GETKEYS refuses a bare name (e.g. TIME).
  if (command.length < 2) return [];
  try {
    const keys = (await redis.call("COMMAND", "GETKEYS", ...command)) as string[];
    return keys;
  } catch (err) {
    if (/no key arguments/i.test((err as Error).message)) return [];
    throw new Error(`COMMAND GETKEYS ${command.map(cut).join(" ")}: ${(err as Error).message}`);
  }
}

/** The violations of the allow-key-locking rules among `runs`, in run order. */
export async function findKeyViolations(
  redisUrl: string,
  runs: readonly ScriptRun[],
): Promise<KeyViolation[]> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  await redis.connect();
  try {
    // Ask once per distinct command: flushes repeat the same calls with the same keys.
    const asked = new Map<string, Promise<string[]>>();
    const keysFor = (command: string[]) => {
      const id = command.join("\u0000");
      let keys = asked.get(id);
      if (!keys) {
        keys = keysOf(redis, command);
        asked.set(id, keys);
      }
      return keys;
    };
    const perRun = await Promise.all(runs.map((run) => Promise.all(run.calls.map(keysFor))));
    const violations: KeyViolation[] = [];
    runs.forEach((run, r) => {
      const declared = new Set(run.keys);
      run.calls.forEach((command, c) => {
        const base = { script: firstLine(run), command: command.map(cut), declared: run.keys };
        if (DATABASE_WIDE.has((command[0] ?? "").toLowerCase())) {
          violations.push({ kind: "database-wide", ...base });
        }
        for (const key of perRun[r]![c]!) {
          if (!declared.has(key)) violations.push({ kind: "undeclared-key", key, ...base });
        }
      });
    });
    return violations;
  } finally {
    redis.disconnect();
  }
}

/**
 * Runs `work` and audits every script call `server` made meanwhile. The server must have been
 * started with `{ billing: true }` (that is what records script runs).
 */
export async function auditDeclaredKeys<T>(
  server: UpstashServer,
  work: () => Promise<T>,
): Promise<KeyAudit<T>> {
  const { result, runs } = await server.recordScripts(work);
  return { result, runs, violations: await findKeyViolations(server.redisUrl, runs) };
}
