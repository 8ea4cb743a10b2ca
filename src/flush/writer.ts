// The writer of one registry (one prefix): when writes start (schedule.ts), and how its pending
// data reaches Redis despite the network. Every part of a flush is a batch with the writer's
// next sequence number, and a batch stays queued until a write that
// contains it succeeds. The write script applies a batch only if its number is above the
// writer's record (store/scripts.ts), so a batch whose outcome we never learned (timeout, lost
// response) is simply sent again with the next attempt or the next flush: applied once, never
// lost, within the bounds below. Batches are always sent oldest first, so a number at or below
// the record means "applied already" for any batch still queued.
//
// Bounds: batches are kept up to `maxPendingBytes` (the oldest dropped first) and for
// MAX_BATCH_AGE_MS at most (far inside the time Redis keeps a dead writer's record); a request
// carries at most `maxRequestBytes`. Whatever is dropped is counted (account.ts) and reported.
//
// A request we stopped waiting for may still land (the client may retry it on its own for
// seconds). So a batch remembers its requests in flight: one that applies it marks it landed
// (it leaves the queue without a resend), and a batch dropped while a request for it is in
// flight is counted as dropped only once all of them settled without applying it.
import type { Drainable } from "../batch.ts";
import { flushFailed, isPermanent, noRedisError, PrometheusUpstashError } from "../errors.ts";
import { drainAll, type Part, REQUEST_OVERHEAD_BYTES, roomFor } from "../store/encode.ts";
import type { RedisStore, WriteOutcome } from "../store/redis-store.ts";
import { type DropReason, FlushAccount, type SelfDeltas } from "./account.ts";
import type { ResolvedReliability } from "./options.ts";
import { WriteSchedule } from "./schedule.ts";
import { sleep, withTimeout } from "./timeout.ts";

/** Batches older than this are dropped: far inside HORIZON_MS, after which Redis forgets a writer. */
export const MAX_BATCH_AGE_MS = 30 * 60_000;

/** What a writer writes, and where: its registry, as the writer sees it. */
export interface WriteSource {
  /** Where writes go; undefined while the registry has no Redis client. */
  store(): RedisStore | undefined;
  /** The id gauge values of this isolate are stored under. */
  instanceId(): string;
  /** What a flush drains: the registry's metrics. */
  drainables(): Iterable<Drainable>;
  /** A batch holding metric data was given up: gauges write all their values again. */
  lostWrite(): void;
}

interface QueuedBatch extends Part {
  seq: number;
  createdAt: number;
  /** Self-metric counts this batch carries, owed again if it is dropped. */
  self?: SelfDeltas;
  /** Write requests containing it that have not settled (we may have stopped waiting). */
  inFlight: number;
  /** A write containing it was answered: it is in Redis. */
  landed: boolean;
  /** Given up (bounds) while a request was in flight: the drop is counted when they settle. */
  dropped?: DropReason;
}

export class Writer {
  /** Everything this writer counts: `stats` and the self-metrics. */
  readonly account: FlushAccount;
  #queue: QueuedBatch[] = [];
  readonly #unsettled = new Set<QueuedBatch>();
  readonly #options: ResolvedReliability;
  readonly #source: WriteSource;
  readonly #report: (error: unknown) => void;
  /**
   * Random id the batches are numbered under, made on the first write: never user-given and
   * never shared, so two processes given one instance id cannot skip each other's data.
   */
  #id: string | undefined;
  /** Sequence number of the last batch made; the writer's batches are numbered from 1. */
  #seq = 0;
  /** When writes start and whom each one serves; they run one at a time. */
  readonly #schedule = new WriteSchedule(() => this.#write());

  constructor(options: ResolvedReliability, source: WriteSource, report: (error: unknown) => void) {
    this.#options = options;
    this.#source = source;
    this.#report = report;
    this.account = new FlushAccount(options.selfMetrics);
  }

  /**
   * Resolves once a write holding everything recorded before the call has been answered (see
   * schedule.ts for `intervalMs`). Rejects only when there is no Redis client to write to.
   */
  flush(intervalMs: number): Promise<void> {
    return this.#schedule.written(intervalMs);
  }

  /** One write: drains the metrics, then sends everything queued. */
  async #write(): Promise<void> {
    const store = this.#source.store();
    if (store === undefined) {
      // A configuration error, not a Redis failure: say so loudly, once per flush.
      const parts = drainAll(this.#source.drainables(), "", Date.now(), Number.POSITIVE_INFINITY);
      if (parts.length === 0) return;
      this.account.dropped(
        "no_redis",
        parts.reduce((n, p) => n + p.updates, 0),
      );
      throw noRedisError();
    }
    this.#id ??= randomId(12);
    const now = Date.now();
    this.#queue = this.#queue.filter((b) => !b.landed); // a late answer already applied them
    const carried = this.#queue.length;
    const drained = drainAll(
      this.#source.drainables(),
      this.#source.instanceId(),
      now,
      this.#partBytes,
    );
    for (const part of drained) this.#enqueue(part, now);
    const { parts, deltas } = this.account.drainSelf(now, this.#partBytes);
    for (const [i, part] of parts.entries()) this.#enqueue(part, now, i === 0 ? deltas : undefined);
    // What this flush just drained is tried at least once, however large: only batches carried
    // over from failed flushes make room for it. What is left after a failure obeys the bound.
    this.#dropOverflow(now, this.#queue.length - carried);
    if (this.#queue.length === 0) return;
    this.account.flushed();
    while (this.#queue.length > 0) {
      const group = this.#nextRequest();
      const outcome = await this.#writeWithRetries(store, group, this.#id);
      if (outcome === undefined) {
        this.account.failed();
        break;
      }
      this.#queue.splice(0, group.length);
      this.#countRefused(group, outcome);
      if (outcome.prune) await this.#prune(store);
    }
    this.#dropOverflow(Date.now());
  }

  /** No scrape prunes: this writer reads every page once, which prunes what has expired. */
  async #prune(store: RedisStore): Promise<void> {
    const { timeoutMs } = this.#options;
    try {
      await store.read((request) => withTimeout(request, timeoutMs, "a prune"));
    } catch (error) {
      this.#report(error);
    }
  }

  /** Bytes of batches one request may carry. */
  get #partBytes(): number {
    return this.#options.maxRequestBytes - REQUEST_OVERHEAD_BYTES;
  }

  #enqueue(part: Part, now: number, self?: SelfDeltas): void {
    this.#queue.push({
      ...part,
      seq: ++this.#seq,
      createdAt: now,
      self,
      inFlight: 0,
      landed: false,
    });
  }

  /** The oldest batches that fit in one request (at least one), in bytes and series fields. */
  #nextRequest(): QueuedBatch[] {
    let bytes = 0;
    let fields = 0;
    let n = 0;
    while (n < this.#queue.length) {
      const next = this.#queue[n]!;
      if (n > 0 && (bytes + next.bytes > this.#partBytes || !roomFor(fields, next))) break;
      bytes += next.bytes;
      fields += next.refusable.size;
      n++;
    }
    return this.#queue.slice(0, n);
  }

  async #writeWithRetries(
    store: RedisStore,
    group: QueuedBatch[],
    id: string,
  ): Promise<WriteOutcome | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        const outcome = await withTimeout(
          this.#track(group, store.write(group, id)),
          this.#options.timeoutMs,
          "a flush",
        );
        const duplicates = outcome.applied.filter((a) => !a).length;
        this.account.duplicates(duplicates);
        return outcome;
      } catch (error) {
        if (attempt >= this.#options.retries || isPermanent(error)) {
          const updates = group.reduce((n, b) => n + b.updates, 0);
          this.#report(flushFailed(attempt + 1, this.#queue.length, updates, error));
          return undefined;
        }
        this.account.retried();
        await sleep(this.#backoff(attempt));
      }
    }
  }

  /** Follows a write to its end, even past our timeout: see the header. */
  #track(group: QueuedBatch[], request: Promise<WriteOutcome>): Promise<WriteOutcome> {
    for (const b of group) b.inFlight++;
    request
      .then(
        (outcome) => {
          group.forEach((b, i) => {
            if (outcome.applied[i]) b.landed = true;
          });
        },
        () => {},
      )
      .finally(() => {
        for (const b of group) {
          b.inFlight--;
          if (b.dropped !== undefined && b.inFlight === 0) this.#settle(b);
        }
      });
    return request;
  }

  /**
   * Fields Redis refused to store — their sum would not be finite, or they are new series past
   * the global bound: their updates are lost. Reported once per write and reason.
   */
  #countRefused(group: QueuedBatch[], outcome: WriteOutcome): void {
    const overLimit = new Set<string>();
    let limitUpdates = 0;
    for (const { seq, field, metric, reason } of outcome.refused) {
      const updates = group.find((b) => b.seq === seq)?.refusable.get(field) ?? 0;
      this.account.dropped(reason, updates);
      if (reason === "global_series_limit") {
        limitUpdates += updates;
        overLimit.add(metric);
        continue;
      }
      this.#report(
        new PrometheusUpstashError(
          "dropped",
          `Redis refused ${updates} update(s) of ${field}: the stored value ` +
            "would no longer be a finite number",
        ),
      );
    }
    if (overLimit.size > 0) {
      this.#report(
        new PrometheusUpstashError(
          "dropped",
          `Redis refused new series of ${[...overLimit].join(", ")} (${limitUpdates} update(s)): ` +
            "each holds maxStoredSeriesPerMetric series; raise it, lower seriesTtlMs, or drop " +
            "the label that grows without bound",
        ),
      );
    }
  }

  #settle(batch: QueuedBatch): void {
    this.#unsettled.delete(batch);
    this.#updateQueued();
    if (!batch.landed) this.#countDrop(batch, batch.dropped!);
  }

  #backoff(attempt: number): number {
    return this.#options.backoffMs * 4 ** attempt * (0.5 + Math.random());
  }

  /**
   * Drops batches past their age, then the oldest ones over the byte bound; never one of the
   * `spared` first batches counted from the end of the queue (this flush's own).
   */
  #dropOverflow(now: number, spared = 0): void {
    let bytes = this.#queue.reduce((n, b) => n + b.bytes, 0);
    while (this.#queue.length > spared) {
      const oldest = this.#queue[0]!;
      let reason: DropReason;
      if (now - oldest.createdAt > MAX_BATCH_AGE_MS) reason = "too_old";
      else if (bytes > this.#options.maxPendingBytes) reason = "pending_limit";
      else break;
      this.#queue.shift();
      bytes -= oldest.bytes;
      this.#drop(oldest, reason);
    }
    this.#updateQueued();
  }

  #drop(batch: QueuedBatch, reason: DropReason): void {
    if (batch.landed) return;
    this.#source.lostWrite();
    if (batch.inFlight > 0) {
      batch.dropped = reason;
      batch.args = []; // only the counts are needed from now on
      this.#unsettled.add(batch);
      this.#updateQueued();
      return;
    }
    this.#countDrop(batch, reason);
  }

  #countDrop(batch: QueuedBatch, reason: DropReason): void {
    this.account.dropped(reason, batch.updates);
    if (batch.self) this.account.giveBack(batch.self);
    if (batch.updates > 0) {
      this.#report(
        new PrometheusUpstashError(
          "dropped",
          `dropped ${batch.updates} unwritten metric update(s) (${reason})`,
        ),
      );
    }
  }

  #updateQueued(): void {
    const bytes = this.#queue.reduce((n, b) => n + b.bytes, 0);
    this.account.queued(this.#queue.length, bytes, this.#unsettled.size);
  }
}

export function randomId(size: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(size));
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}
