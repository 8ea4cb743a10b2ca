import type { ReadSpec } from "../metrics/metric.ts";
import type { RedisClient } from "../types.ts";
import { READ_SCRIPT, WRITE_SCRIPT } from "./scripts.ts";

/** One batch as sent: its id ("" = not idempotent) and its JSON (see batch.ts). */
export interface WireBatch {
  id: string;
  json: string;
}

/** How long a batch id is remembered, so a retried batch is applied once (seconds). */
export const BATCH_ID_TTL_SECONDS = 3600;

/**
 * The only place that knows key names and speaks to Redis: a batch becomes one EVALSHA, a
 * scrape one EVALSHA of the read script. Each script's first call in this isolate is an EVAL
 * (which also caches it in Redis), so every flush and scrape is exactly one request; only when
 * Redis has lost its script cache does a call take two (EVALSHA → NOSCRIPT → EVAL).
 */
export class RedisStore {
  private readonly base: string;
  private readonly writer: Script;
  private readonly reader: Script;

  constructor(redis: RedisClient, prefix: string) {
    this.base = `{${prefix}}`;
    this.writer = new Script(redis, WRITE_SCRIPT);
    this.reader = new Script(redis, READ_SCRIPT);
  }

  /**
   * Applies each batch once, oldest first, in one request. Resolves one flag per batch: true =
   * applied now, false = its id had been applied already (a resend), so it was skipped.
   */
  async write(batches: readonly WireBatch[], instanceId: string): Promise<boolean[]> {
    const args = [String(BATCH_ID_TTL_SECONDS), instanceId];
    for (const b of batches) args.push(b.id, b.json);
    const reply: unknown = await this.writer.exec([this.base], args);
    if (!Array.isArray(reply) || reply.length !== batches.length) {
      throw new Error(`Unexpected write reply from Redis: ${JSON.stringify(reply)}`);
    }
    return reply.map((applied) => Number(applied) === 1);
  }

  /** Reads what each metric's spec asks for; the result lines up with `specs`. */
  async read(metrics: readonly { name: string; readSpec(): ReadSpec }[]): Promise<unknown[]> {
    const args = metrics.map((m) => specArg(m.name, m.readSpec()));
    if (args.length === 0) return [];
    const reply: unknown = await this.reader.exec([this.base], args);
    // With automaticDeserialization on, the client has already parsed the JSON string.
    const parsed = typeof reply === "string" ? JSON.parse(reply) : reply;
    if (!Array.isArray(parsed) && !(typeof parsed === "object" && parsed !== null)) {
      throw new Error(`Unexpected scrape reply from Redis: ${typeof reply}`);
    }
    // cjson encodes an empty table as {}; an array of one entry per metric otherwise.
    return metrics.map((_, i) => (Array.isArray(parsed) ? parsed[i] : undefined));
  }
}

function specArg(name: string, spec: ReadSpec): string {
  switch (spec.kind) {
    case "sums":
      return `v:${name}`;
    case "gauge":
      return `g:${name}`;
    case "summary":
      return `s:${name}:${spec.sliceMs}:${spec.slices}`;
  }
}

class Script {
  private sha: string | undefined;
  private readonly redis: RedisClient;
  private readonly source: string;

  constructor(redis: RedisClient, source: string) {
    this.redis = redis;
    this.source = source;
  }

  async exec(keys: string[], args: string[]): Promise<unknown> {
    if (this.sha === undefined) {
      const result = await this.redis.eval(this.source, keys, args);
      this.sha = await sha1Hex(this.source);
      return result;
    }
    try {
      return await this.redis.evalsha(this.sha, keys, args);
    } catch (error) {
      if (!String((error as Error)?.message).includes("NOSCRIPT")) throw error;
      return await this.redis.eval(this.source, keys, args);
    }
  }
}

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
