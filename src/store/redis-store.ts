import { redisCall } from "../errors.ts";
import type { Snapshot } from "../snapshot.ts";
import type { RedisClient } from "../types.ts";
import { DecodedSnapshot } from "./decode.ts";
import { READ_SCRIPT, WRITE_SCRIPT } from "./scripts.ts";

/** One batch as sent: its sequence number and its ops (encode.ts). */
export interface WireBatch {
  seq: number;
  args: readonly string[];
}

/** What Redis did with one write request. */
export interface WriteOutcome {
  /** Per batch: applied now, or skipped because this writer's record says it was applied. */
  applied: boolean[];
  /** Fields refused because their new value would not be finite: "<seq> <field>". */
  refused: { seq: number; field: string }[];
}

/**
 * The only place that knows key names and speaks to Redis: a write of one or more batches is
 * one EVALSHA of the write script, a scrape one EVALSHA of the read script (scripts.ts). Each
 * script's first call in this isolate is an EVAL (which also caches it in Redis), so every
 * flush and scrape is exactly one request; only when Redis has lost its script cache does a
 * call take two (EVALSHA → NOSCRIPT → EVAL).
 */
export class RedisStore {
  private readonly keys: string[];
  private readonly writer: Script;
  private readonly reader: Script;

  constructor(redis: RedisClient, prefix: string) {
    this.keys = [`{${prefix}}:sums`, `{${prefix}}:live`];
    this.writer = new Script(redis, WRITE_SCRIPT);
    this.reader = new Script(redis, READ_SCRIPT);
  }

  /** Applies each batch at most once, oldest first, in one request. */
  async write(batches: readonly WireBatch[], writer: string): Promise<WriteOutcome> {
    const args = [String(Date.now()), writer];
    for (const b of batches) {
      args.push("b", String(b.seq));
      for (const a of b.args) args.push(a);
    }
    const reply = parseJson(await this.writer.exec(this.keys, args)) as {
      a?: unknown;
      r?: unknown;
    } | null;
    const flags = reply?.a;
    if (!Array.isArray(flags) || flags.length !== batches.length) {
      throw new Error(`Unexpected write reply from Redis: ${JSON.stringify(reply)}`);
    }
    const refused: WriteOutcome["refused"] = [];
    // cjson encodes an empty list as {}.
    for (const item of Array.isArray(reply?.r) ? (reply.r as unknown[]) : []) {
      const text = String(item);
      const space = text.indexOf(" ");
      refused.push({ seq: Number(text.slice(0, space)), field: text.slice(space + 1) });
    }
    return { applied: flags.map((f) => Number(f) === 1), refused };
  }

  /** Reads everything the registry's prefix holds, in one request. */
  async read(): Promise<Snapshot> {
    const reply: unknown = await this.reader.exec(this.keys, []);
    if (typeof reply !== "string") {
      throw new Error(`Unexpected scrape reply from Redis: ${typeof reply}`);
    }
    return new DecodedSnapshot(reply);
  }
}

/** With automaticDeserialization on, the client has parsed the JSON already. */
function parseJson(reply: unknown): unknown {
  return typeof reply === "string" ? JSON.parse(reply) : reply;
}

class Script {
  private sha: string | undefined;
  private readonly redis: RedisClient;
  private readonly source: string;

  constructor(redis: RedisClient, source: string) {
    this.redis = redis;
    this.source = source;
  }

  exec(keys: string[], args: string[]): Promise<unknown> {
    return redisCall(this.redis, () => this.run(keys, args)); // errors by cause (errors.ts)
  }

  private async run(keys: string[], args: string[]): Promise<unknown> {
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
