// What Redis says about its own commands (the `COMMAND` reply, read once per Redis URL): which
// arguments are keys, and which commands may grow a key. The limits (limits.ts) need both, and
// asking Redis keeps this server free of a table of its own that would drift from Redis.
import type { CommandArgs } from "./encoding.ts";

interface CommandSpec {
  /** Legacy key range: positions in the command (the name is 0); first 0 means no keys. */
  first: number;
  last: number;
  step: number;
  /** Redis flags the command `denyoom`: it may use more memory, i.e. grow a key. */
  grows: boolean;
}

/** Script calls: their keys are the `numkeys` arguments after the script or SHA. */
const SCRIPT_CALLS = new Set(["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"]);
/** Of those, the ones that may write (Redis does not flag scripts `denyoom`). */
const WRITING_SCRIPTS = new Set(["eval", "evalsha", "fcall"]);

const text = (v: unknown) => (Buffer.isBuffer(v) ? v.toString("utf8") : String(v));

function addSpecs(into: Map<string, CommandSpec>, entries: unknown): void {
  if (!Array.isArray(entries)) return;
  for (const entry of entries) {
    if (!Array.isArray(entry)) continue;
    const [name, , flags, first, last, step, , , , subcommands] = entry as unknown[];
    into.set(text(name).toLowerCase(), {
      first: Number(text(first)),
      last: Number(text(last)),
      step: Number(text(step)),
      grows: Array.isArray(flags) && flags.some((f) => text(f) === "denyoom"),
    });
    addSpecs(into, subcommands); // Redis 7: "memory|usage", "object|encoding", …
  }
}

export class CommandTable {
  private readonly specs: Map<string, CommandSpec>;

  /** Builds the table from a raw `COMMAND` reply (RESP2 arrays of Buffers/strings). */
  constructor(reply: unknown) {
    this.specs = new Map();
    addSpecs(this.specs, reply);
  }

  private spec(command: CommandArgs): CommandSpec | undefined {
    const name = (command[0] ?? "").toLowerCase();
    const sub = command[1] === undefined ? undefined : `${name}|${command[1].toLowerCase()}`;
    return (sub && this.specs.get(sub)) || this.specs.get(name);
  }

  /**
   * The keys a command names: a script call's declared KEYS, else Redis' legacy key range
   * (for the few commands with movable keys, such as ZUNIONSTORE, that is the first key only).
   */
  keys(command: CommandArgs): string[] {
    const name = (command[0] ?? "").toLowerCase();
    if (SCRIPT_CALLS.has(name)) {
      const n = Number(command[2]);
      return Number.isInteger(n) && n > 0 ? command.slice(3, 3 + n) : [];
    }
    const spec = this.spec(command);
    if (!spec || spec.first <= 0 || spec.step <= 0) return [];
    const last = spec.last < 0 ? command.length + spec.last : spec.last;
    const keys: string[] = [];
    for (let i = spec.first; i <= last && i < command.length; i += spec.step)
      keys.push(command[i]!);
    return keys;
  }

  /** True for a command that may make a key larger (writing scripts included). */
  grows(command: CommandArgs): boolean {
    const name = (command[0] ?? "").toLowerCase();
    if (SCRIPT_CALLS.has(name)) return WRITING_SCRIPTS.has(name);
    return this.spec(command)?.grows ?? false;
  }
}
