// Upstash's script shebang on a stock Redis. Upstash reads `#!lua flags=allow-key-locking` on a
// script's first line (lock only the keys in KEYS); Redis 7.0 refuses any flag it does not know
// ("Unexpected flag in script shebang"). So EVAL, EVAL_RO and SCRIPT LOAD lose that flag before
// Redis sees the script, and EVALSHA / EVALSHA_RO / SCRIPT EXISTS of the SHA1 the client computed
// over its own text are sent with the SHA1 Redis knows (the text changed, so its digest did).
// A SHA this process never saw goes through unchanged: Redis answers NOSCRIPT and the client
// falls back to EVAL, as with Upstash after a script cache flush.
import { createHash } from "node:crypto";
import type { CommandArgs, Outcome } from "./encoding.ts";

/** Shebang flags Upstash accepts and stock Redis 7.0 refuses. */
const UPSTASH_ONLY_FLAGS = new Set(["allow-key-locking"]);

/** How many scripts the maps below remember (scripts are few; this bounds a runaway test). */
const MAX_SCRIPTS = 10_000;

/** SHA1 the client computed → SHA1 of the text Redis got (only for texts we changed). */
const redisShaOf = new Map<string, string>();
/** Either SHA1 → the text as the client sent it, for audits (first line, flags). */
const clientText = new Map<string, string>();

const unchanged = (outcome: Outcome) => outcome;

export function sha1Hex(text: string): string {
  return createHash("sha1").update(text, "utf8").digest("hex");
}

function remember(map: Map<string, string>, key: string, value: string): void {
  if (map.size >= MAX_SCRIPTS && !map.has(key)) map.delete(map.keys().next().value!);
  map.set(key, value);
}

/**
 * The script text stock Redis accepts for `source`: Upstash-only flags removed from its
 * shebang. When no flag and no other option remains, the shebang's text goes and its line stays
 * (an empty first line), so Lua error line numbers still match the client's text — Redis itself
 * keeps the line of a shebang it reads. Anything else comes back unchanged, errors included.
 */
export function scriptForRedis(source: string): string {
  if (!source.startsWith("#!")) return source;
  const end = source.indexOf("\n");
  if (end < 0) return source; // Redis: "Invalid script shebang"
  const [engine, ...options] = source
    .slice(0, end)
    .split(/[ \t]+/)
    .filter(Boolean);
  if (engine !== "#!lua") return source;
  let changed = false;
  const kept: string[] = [];
  for (const option of options) {
    if (!option.startsWith("flags=")) {
      kept.push(option);
      continue;
    }
    const flags = option.slice("flags=".length).split(",");
    const stock = flags.filter((f) => !UPSTASH_ONLY_FLAGS.has(f));
    if (stock.length === flags.length) {
      kept.push(option);
      continue;
    }
    changed = true;
    if (stock.length > 0) kept.push(`flags=${stock.join(",")}`);
  }
  if (!changed) return source;
  const shebang = kept.length > 0 ? ["#!lua", ...kept].join(" ") : "";
  return shebang + source.slice(end);
}

/** The text a client sent for a script Redis knows by `sha` (either digest), if seen here. */
export function clientScript(sha: string): string | undefined {
  return clientText.get(sha.toLowerCase());
}

function learn(source: string): string {
  const text = scriptForRedis(source);
  const clientSha = sha1Hex(source);
  remember(clientText, clientSha, source);
  if (text !== source) {
    const redisSha = sha1Hex(text);
    remember(redisShaOf, clientSha, redisSha);
    remember(clientText, redisSha, source);
  }
  return text;
}

/** Error messages name the script by the digest Redis knows; Upstash's name the client's. */
function clientNames(redisSha: string, clientSha: string): (outcome: Outcome) => Outcome {
  if (redisSha === clientSha) return unchanged;
  return (outcome) =>
    "error" in outcome ? { error: outcome.error.replaceAll(redisSha, clientSha) } : outcome;
}

const toRedisSha = (sha: string) => redisShaOf.get(sha.toLowerCase()) ?? sha;

/** A command ready for Redis, and how to turn Redis' outcome into what Upstash would answer. */
export interface PreparedCommand {
  command: CommandArgs;
  finish(outcome: Outcome): Outcome;
}

/** Adjusts the script commands (see the header); every other command passes as it is. */
export function prepareCommand(command: CommandArgs): PreparedCommand {
  const name = (command[0] ?? "").toLowerCase();
  const [head, first, ...rest] = command;
  if (first === undefined) return { command, finish: unchanged };
  switch (name) {
    case "eval":
    case "eval_ro": {
      const text = learn(first);
      return {
        command: [head!, text, ...rest],
        finish: clientNames(sha1Hex(text), sha1Hex(first)),
      };
    }
    case "evalsha":
    case "evalsha_ro": {
      const sha = toRedisSha(first);
      return { command: [head!, sha, ...rest], finish: clientNames(sha, first.toLowerCase()) };
    }
    case "script": {
      const sub = first.toLowerCase();
      if (sub === "exists")
        return { command: [head!, first, ...rest.map(toRedisSha)], finish: unchanged };
      if (sub !== "load" || rest[0] === undefined) return { command, finish: unchanged };
      const source = rest[0];
      const text = learn(source);
      if (text === source) return { command, finish: unchanged };
      // Upstash answers with the digest of the text it was sent, the one the client computes.
      const clientSha = sha1Hex(source);
      return {
        command: [head!, first, text, ...rest.slice(1)],
        finish: (outcome) => ("reply" in outcome ? { reply: Buffer.from(clientSha) } : outcome),
      };
    }
    default:
      return { command, finish: unchanged };
  }
}
