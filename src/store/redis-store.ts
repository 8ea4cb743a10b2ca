import { redisCall } from "../errors.ts";
import type { RedisClient } from "../types.ts";
import { SCAN_MAX_COUNT, SCAN_MIN_COUNT } from "./constants.ts";
import { DecodedSnapshot, Pages } from "./decode.ts";
import { keysOf, metricOf } from "./schema.ts";
import { READ_SCRIPT, writeScript } from "./scripts.ts";

/** One batch as sent: its sequence number and its ops (encode.ts). */
export interface WireBatch {
  seq: number;
  args: readonly string[];
}

/** What Redis did with one write request. */
export interface WriteOutcome {
  /** Per batch: applied now, or skipped because this writer's record says it was applied. */
  applied: boolean[];
  /**
   * Fields Redis refused: "overflow" when their new value would not be finite,
   * "global_series_limit" when they are new series of a metric that holds
   * `maxStoredSeriesPerMetric` already.
   */
  refused: {
    seq: number;
    field: string;
    /** The metric the field belongs to. */
    metric: string;
    reason: "overflow" | "global_series_limit";
  }[];
  /** No scrape has pruned for an hour: this writer should (a read prunes as it goes). */
  prune: boolean;
}

/** What the store needs to know besides the client and the prefix (registry options). */
export interface StoreSettings {
  /** Bound of a request and of a reply (bytes), as sent: a scrape reads in pages under it. */
  maxRequestBytes: number;
  seriesTtlMs: number;
  maxStoredSeriesPerMetric: number;
}

/** How a scrape's requests are raced against its timeout (each page on its own). */
export type Race = <T>(request: Promise<T>) => Promise<T>;

/** A scrape's snapshot, with what it took to read. */
export interface StoredSnapshot extends DecodedSnapshot {
  readonly pages: number;
  /** Characters of all replies, and of the largest one (the strings before base64). */
  readonly replyChars: number;
  readonly largestReplyChars: number;
}

/**
 * The only place that speaks to Redis: a write of one or more batches is one EVALSHA of the
 * write script, a scrape one EVALSHA of the read script per page (scripts.ts) — one page while
 * what the prefix holds fits in a page's budget. Each script's first call in this isolate is an
 * EVAL (which also caches it in Redis); only when Redis has lost its script cache does a call
 * take two requests (EVALSHA → NOSCRIPT → EVAL).
 */
export class RedisStore {
  readonly #keys: string[];
  /** The write script for the script parts in use, made again when they change. */
  #writer: Script;
  readonly #redis: RedisClient;
  readonly #reader: Script;

  readonly #settings: StoreSettings;

  constructor(redis: RedisClient, prefix: string, settings: StoreSettings) {
    this.#keys = keysOf(prefix);
    this.#redis = redis;
    this.#writer = new Script(redis, writeScript());
    this.#reader = new Script(redis, READ_SCRIPT);
    this.#settings = settings;
  }

  /** Applies each batch at most once, oldest first, in one request. */
  async write(batches: readonly WireBatch[], writer: string): Promise<WriteOutcome> {
    const args = [String(Date.now()), writer, String(this.#settings.maxStoredSeriesPerMetric)];
    for (const b of batches) {
      args.push("b", String(b.seq));
      for (const a of b.args) args.push(a);
    }
    const text = writeScript();
    if (text !== this.#writer.source) this.#writer = new Script(this.#redis, text);
    const reply = parseJson(await this.#writer.exec(this.#keys, args)) as {
      a?: unknown;
      r?: unknown;
      l?: unknown;
      p?: unknown;
    } | null;
    const flags = reply?.a;
    if (!Array.isArray(flags) || flags.length !== batches.length) {
      throw new Error(`Unexpected write reply from Redis: ${JSON.stringify(reply)}`);
    }
    const refused: WriteOutcome["refused"] = [];
    const add = (list: unknown, reason: WriteOutcome["refused"][number]["reason"]) => {
      // cjson encodes an empty list as {}.
      for (const item of Array.isArray(list) ? (list as unknown[]) : []) {
        const text = String(item);
        const space = text.indexOf(" ");
        const field = text.slice(space + 1);
        refused.push({ seq: Number(text.slice(0, space)), field, metric: metricOf(field), reason });
      }
    };
    add(reply?.r, "overflow");
    add(reply?.l, "global_series_limit");
    return { applied: flags.map((f) => Number(f) === 1), refused, prune: reply?.p === true };
  }

  /**
   * Reads everything the registry's prefix holds, page by page: each reply stays under
   * `maxRequestBytes` as sent (base64 makes a string 4/3 longer; a page's budget leaves room for
   * that and for an HSCAN that overshoots), each request raced on its own by `race`.
   */
  async read(race: Race = (r) => r): Promise<StoredSnapshot> {
    let budget = Math.floor(this.#settings.maxRequestBytes * PAGE_SHARE);
    const pages = new Pages();
    let shrinks = 0;
    while (!pages.done) {
      // Ask the first HSCAN for what fills the page at the last page's bytes per entry asked
      // for (a kilobyte each before any page, so a first page never overshoots much).
      const perEntry = pages.lastAsked > 0 ? pages.lastChars / pages.lastAsked : 1024;
      const count = Math.max(
        SCAN_MIN_COUNT,
        Math.min(SCAN_MAX_COUNT, Math.floor(budget / perEntry)),
      );
      let reply: unknown;
      try {
        reply = await race(
          this.#reader.exec(this.#keys, [
            pages.next,
            String(this.#settings.seriesTtlMs),
            String(budget),
            String(count),
            pages.count === 0 ? "" : String(pages.now),
            pages.mark,
          ]),
        );
      } catch (error) {
        // A page Redis refused to send whole (entries far larger than the ones before): ask
        // again from the same place for less. Nothing of it was read, so nothing is lost.
        if (!TOO_LARGE.test(String((error as Error)?.message)) || shrinks >= MAX_SHRINKS) {
          throw error;
        }
        shrinks++;
        budget = Math.max(1, budget >> 1);
        continue;
      }
      if (typeof reply !== "string") {
        throw new Error(`Unexpected scrape reply from Redis: ${typeof reply}`);
      }
      pages.add(reply);
    }
    return Object.assign(new DecodedSnapshot(pages.now, pages.fields), {
      pages: pages.count,
      replyChars: pages.chars,
      largestReplyChars: pages.largest,
    });
  }
}

/**
 * The share of `maxRequestBytes` a page aims at: base64 sends 4/3 of it, and the last HSCAN of
 * a page may pass its budget (COUNT is a hint: it returns whole hash buckets) — three times
 * over still fits.
 */
const PAGE_SHARE = 1 / 4;

/** Upstash's answer to a request or reply over its size limit. */
const TOO_LARGE = /max request size exceeded/i;
/** A page is asked for again with half the budget at most this often in one scrape. */
const MAX_SHRINKS = 8;

/** With automaticDeserialization on, the client has parsed the JSON already. */
function parseJson(reply: unknown): unknown {
  return typeof reply === "string" ? JSON.parse(reply) : reply;
}

class Script {
  #sha: string | undefined;
  readonly #redis: RedisClient;
  readonly source: string;

  constructor(redis: RedisClient, source: string) {
    this.#redis = redis;
    this.source = source;
  }

  exec(keys: string[], args: string[]): Promise<unknown> {
    return redisCall(this.#redis, () => this.#run(keys, args)); // errors by cause (errors.ts)
  }

  async #run(keys: string[], args: string[]): Promise<unknown> {
    if (this.#sha === undefined) {
      const result = await this.#redis.eval(this.source, keys, args);
      this.#sha = await sha1Hex(this.source);
      return result;
    }
    try {
      return await this.#redis.evalsha(this.#sha, keys, args);
    } catch (error) {
      if (!String((error as Error)?.message).includes("NOSCRIPT")) throw error;
      return await this.#redis.eval(this.source, keys, args);
    }
  }
}

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
