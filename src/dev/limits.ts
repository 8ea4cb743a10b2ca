// Upstash's size limits (free and pay-as-you-go plans), enforced with Upstash's own error texts:
// a request or a reply over 10 MB, a key name over 32 KB, a write that grows one key past 100 MB.
// Sources: upstash.com/docs/redis/troubleshooting (max_request_size_exceeded,
// max_key_size_exceeded, max_record_size_exceeded); a production reply refused with "ERR max
// request size exceeded. Limit: 10485760 bytes, Actual: 12009587 bytes" on an HGETALL.
import type { CommandTable } from "./command-table.ts";
import type { CommandArgs, Outcome } from "./encoding.ts";

export interface UpstashLimits {
  /** Largest request body accepted, in bytes (Upstash: 10 MB). */
  maxRequestBytes: number;
  /** Largest reply body sent, in bytes as sent (base64 included when asked for; Upstash: 10 MB). */
  maxReplyBytes: number;
  /** Largest key a write may grow, in bytes as Redis' MEMORY USAGE counts them (Upstash: 100 MB). */
  maxRecordBytes: number;
  /** Longest key name, in bytes (Upstash: 32 KB). */
  maxKeyBytes: number;
}

export const UPSTASH_LIMITS: Readonly<UpstashLimits> = Object.freeze({
  maxRequestBytes: 10 * 1024 * 1024,
  maxReplyBytes: 10 * 1024 * 1024,
  maxRecordBytes: 100 * 1024 * 1024,
  maxKeyBytes: 32 * 1024,
});

/** The limits with `overrides` applied; each must be a positive integer. */
export function resolveLimits(overrides: Partial<UpstashLimits> = {}): UpstashLimits {
  const limits = { ...UPSTASH_LIMITS };
  for (const [name, value] of Object.entries(overrides) as [keyof UpstashLimits, unknown][]) {
    if (value === undefined) continue;
    if (!(name in UPSTASH_LIMITS)) throw new Error(`unknown limit ${name}`);
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
      throw new Error(`limits.${name} must be a positive whole number of bytes, got ${value}`);
    }
    limits[name] = value;
  }
  return limits;
}

/** Upstash's text for a request or reply body over the limit (the same for both). */
export const requestTooLarge = (limit: number, actual: number) =>
  `ERR max request size exceeded. Limit: ${limit} bytes, Actual: ${actual} bytes`;
export const keyTooLarge = (limit: number, actual: number) =>
  `ERR max key size exceeded. Limit: ${limit} bytes, Actual: ${actual} bytes`;
export const RECORD_TOO_LARGE = "ERR max single record size exceeded";

/** How many keys the record guard remembers sizes of (oldest forgotten first). */
const MAX_TRACKED_KEYS = 100_000;

interface KeySize {
  /** MEMORY USAGE at the last measurement (0 before any). */
  measured: number;
  /** Bytes of arguments written to it since (an estimate of its growth). */
  since: number;
}

const argumentBytes = (command: CommandArgs) =>
  command.reduce((sum, arg, i) => (i === 0 ? sum : sum + Buffer.byteLength(arg)), 0);

/**
 * Refuses writes that would grow a key past `limit` ("writes refused, reads and deletes still
 * work"). Measuring every write would cost a command per key per write, so it estimates: a key's
 * size is its last MEMORY USAGE (Redis' default sampling) plus the argument bytes written to it
 * since. A key is measured again, before the write, when that estimate reaches half the limit
 * or when a sixteenth of the limit was written since the last measurement; a write is refused
 * when the fresh measurement plus the write's own argument bytes exceed the limit. The common
 * path (small keys) is a map lookup per key. A script that writes far more than its arguments
 * carry is caught later than it should be (at the next measurement).
 */
export class RecordSizeGuard {
  private readonly limit: number;
  private readonly step: number;
  private readonly table: CommandTable;
  private readonly measure: (keys: string[]) => Promise<number[]>;
  private readonly sizes = new Map<string, KeySize>();

  constructor(limit: number, table: CommandTable, measure: (keys: string[]) => Promise<number[]>) {
    this.limit = limit;
    this.step = Math.max(1, Math.floor(limit / 16));
    this.table = table;
    this.measure = measure;
  }

  /** For each command, RECORD_TOO_LARGE when it would grow a key past the limit. */
  async refusals(commands: readonly CommandArgs[]): Promise<Array<string | undefined>> {
    const writes = commands.map((c) =>
      this.table.grows(c) ? { keys: this.table.keys(c), bytes: argumentBytes(c) } : undefined,
    );
    if (writes.every((w) => w === undefined || w.keys.length === 0))
      return commands.map(() => undefined);

    // Which keys this request's writes may bring near the limit: measure those now, at once.
    const toMeasure = new Set<string>();
    const growth = new Map<string, number>();
    for (const write of writes) {
      for (const key of write?.keys ?? []) {
        const known = this.sizes.get(key) ?? { measured: 0, since: 0 };
        const since = known.since + (growth.get(key) ?? 0) + write!.bytes;
        growth.set(key, (growth.get(key) ?? 0) + write!.bytes);
        if (known.measured + since >= this.limit / 2 || since >= this.step) toMeasure.add(key);
      }
    }
    if (toMeasure.size > 0) {
      const keys = [...toMeasure];
      const measured = await this.measure(keys);
      keys.forEach((key, i) => {
        this.remember(key, { measured: measured[i] ?? 0, since: 0 });
      });
    }

    const added = new Map<string, number>();
    return writes.map((write) => {
      if (!write) return undefined;
      const over = write.keys.some((key) => {
        const known = this.sizes.get(key) ?? { measured: 0, since: 0 };
        return known.measured + known.since + (added.get(key) ?? 0) + write.bytes > this.limit;
      });
      if (over) return RECORD_TOO_LARGE;
      for (const key of write.keys) added.set(key, (added.get(key) ?? 0) + write.bytes);
      return undefined;
    });
  }

  /** Counts what the commands that ran wrote (call with what Redis answered). */
  wrote(commands: readonly CommandArgs[], outcomes: readonly Outcome[]): void {
    commands.forEach((command, i) => {
      const outcome = outcomes[i];
      if (!outcome || "error" in outcome || !this.table.grows(command)) return;
      const bytes = argumentBytes(command);
      for (const key of this.table.keys(command)) {
        const known = this.sizes.get(key) ?? { measured: 0, since: 0 };
        this.remember(key, { measured: known.measured, since: known.since + bytes });
      }
    });
  }

  private remember(key: string, size: KeySize): void {
    this.sizes.delete(key); // re-insert: the map's order is least recently written first
    if (this.sizes.size >= MAX_TRACKED_KEYS) this.sizes.delete(this.sizes.keys().next().value!);
    this.sizes.set(key, size);
  }
}

/** Upstash's key-name limit: the error for the first key of `command` over it, if any. */
export function keyRefusal(
  table: CommandTable,
  maxKeyBytes: number,
  command: CommandArgs,
): string | undefined {
  for (const key of table.keys(command)) {
    // Characters are at most 4 bytes: only long names need counting.
    if (key.length * 4 <= maxKeyBytes) continue;
    const bytes = Buffer.byteLength(key);
    if (bytes > maxKeyBytes) return keyTooLarge(maxKeyBytes, bytes);
  }
  return undefined;
}
