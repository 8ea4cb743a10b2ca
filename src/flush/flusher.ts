// How a registry's pending data reaches Redis despite the network: every part of a flush is a
// batch with its writer's next sequence number, and a batch stays queued until a write that
// contains it succeeds. The write script applies a batch only if its number is above the
// writer's record (store/scripts.ts), so a batch whose outcome we never learned (timeout, lost
// response) is simply sent again with the next attempt or the next flush: applied once, never
// lost, within the bounds below. Batches are always sent oldest first, so a number at or below
// the record means "applied already" for any batch still queued.
//
// Bounds: batches are kept up to `maxPendingBytes` (the oldest dropped first) and for
// MAX_BATCH_AGE_MS at most (far inside the time Redis keeps a dead writer's record); a request
// carries at most `maxRequestBytes`. Whatever is dropped is counted in stats and self-metrics
// and reported.
//
// A request we stopped waiting for may still land (the client may retry it on its own for
// seconds). So a batch remembers its requests in flight: one that applies it marks it landed
// (it leaves the queue without a resend), and a batch dropped while a request for it is in
// flight is counted as dropped only once all of them settled without applying it.
import type { Drainable } from "../batch.ts";
import { flushFailed, isPermanent, PrometheusUpstashError } from "../errors.ts";
import { drainAll, type Part, REQUEST_OVERHEAD_BYTES } from "../store/encode.ts";
import type { RedisStore, WriteOutcome } from "../store/redis-store.ts";
import type { ResolvedReliability } from "./options.ts";
import type { DropReason, SelfDeltas, SelfMetrics } from "./self-metrics.ts";
import { sleep, withTimeout } from "./timeout.ts";

/** What flushes did, for self-monitoring and tests. */
export interface FlushStats {
  /** Flushes that had something to send. */
  flushes: number;
  /** Flushes that ended with data unwritten (kept for the next flush, or dropped). */
  failedFlushes: number;
  /** Metric updates given up: pending limit, age, series limit. */
  droppedUpdates: number;
  /** Write requests repeated after a failed or timed-out attempt. */
  retries: number;
  /** Batches Redis had applied already when they were sent again (skipped by their id). */
  duplicateBatches: number;
  /** Batches waiting for the next flush right now, and their bytes. */
  pendingBatches: number;
  pendingBytes: number;
  /** Batches given up while a request for them was in flight: counted once it settles. */
  unsettledBatches: number;
  /** Throws of user callbacks (onError and the adapters' callbacks), swallowed. */
  callbackErrors: number;
}

export function emptyFlushStats(): FlushStats {
  return {
    flushes: 0,
    failedFlushes: 0,
    droppedUpdates: 0,
    retries: 0,
    duplicateBatches: 0,
    pendingBatches: 0,
    pendingBytes: 0,
    unsettledBatches: 0,
    callbackErrors: 0,
  };
}

/** Batches older than this are dropped: far inside HORIZON_MS, after which Redis forgets a writer. */
export const MAX_BATCH_AGE_MS = 30 * 60_000;

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

export class Flusher {
  private queue: QueuedBatch[] = [];
  private readonly unsettled = new Set<QueuedBatch>();
  private readonly options: ResolvedReliability;
  private readonly stats: FlushStats;
  private readonly self: SelfMetrics | undefined;
  private readonly report: (error: unknown) => void;
  private readonly onDropped: () => void;
  /** Sequence number of the last batch made; the writer's batches are numbered from 1. */
  private seq = 0;

  constructor(
    options: ResolvedReliability,
    stats: FlushStats,
    self: SelfMetrics | undefined,
    report: (error: unknown) => void,
    onDropped: () => void = () => {},
  ) {
    this.options = options;
    this.stats = stats;
    this.self = self;
    this.report = report;
    this.onDropped = onDropped;
  }

  /**
   * Drains the metrics, then writes everything queued. Never rejects. `instance` names this
   * isolate's gauge values; `writer` is the registry's own random id its batches are numbered
   * under (never shared, so two processes given one instance id cannot skip each other's data).
   */
  async flush(
    store: RedisStore,
    metrics: Iterable<Drainable>,
    instance: string,
    writer: string,
  ): Promise<void> {
    const now = Date.now();
    this.queue = this.queue.filter((b) => !b.landed); // a late answer already applied them
    const carried = this.queue.length;
    for (const part of drainAll(metrics, instance, now, this.partBytes)) this.enqueue(part, now);
    if (this.self) {
      const { parts, deltas } = this.self.drain(now, this.partBytes);
      for (const [i, part] of parts.entries()) {
        this.enqueue(part, now, i === 0 ? deltas : undefined);
      }
    }
    // What this flush just drained is tried at least once, however large: only batches carried
    // over from failed flushes make room for it. What is left after a failure obeys the bound.
    this.dropOverflow(now, this.queue.length - carried);
    if (this.queue.length === 0) return;
    this.stats.flushes++;
    while (this.queue.length > 0) {
      const group = this.nextRequest();
      const outcome = await this.writeWithRetries(store, group, writer);
      if (outcome === undefined) {
        this.stats.failedFlushes++;
        this.self?.countFailure();
        break;
      }
      this.queue.splice(0, group.length);
      this.countRefused(group, outcome);
    }
    this.dropOverflow(Date.now());
  }

  /** Bytes of batches one request may carry. */
  private get partBytes(): number {
    return this.options.maxRequestBytes - REQUEST_OVERHEAD_BYTES;
  }

  private enqueue(part: Part, now: number, self?: SelfDeltas): void {
    this.queue.push({ ...part, seq: ++this.seq, createdAt: now, self, inFlight: 0, landed: false });
  }

  /** The oldest batches that fit in one request (at least one). */
  private nextRequest(): QueuedBatch[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes + this.queue[n]!.bytes <= this.partBytes)) {
      bytes += this.queue[n]!.bytes;
      n++;
    }
    return this.queue.slice(0, n);
  }

  private async writeWithRetries(
    store: RedisStore,
    group: QueuedBatch[],
    writer: string,
  ): Promise<WriteOutcome | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        const outcome = await withTimeout(
          this.track(group, store.write(group, writer)),
          this.options.timeoutMs,
          "a flush",
        );
        const duplicates = outcome.applied.filter((a) => !a).length;
        this.stats.duplicateBatches += duplicates;
        this.self?.countDuplicates(duplicates);
        return outcome;
      } catch (error) {
        if (attempt >= this.options.retries || isPermanent(error)) {
          const updates = group.reduce((n, b) => n + b.updates, 0);
          this.report(flushFailed(attempt + 1, this.queue.length, updates, error));
          return undefined;
        }
        this.stats.retries++;
        this.self?.countRetry();
        await sleep(this.backoff(attempt));
      }
    }
  }

  /** Follows a write to its end, even past our timeout: see the header. */
  private track(group: QueuedBatch[], request: Promise<WriteOutcome>): Promise<WriteOutcome> {
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
          if (b.dropped !== undefined && b.inFlight === 0) this.settle(b);
        }
      });
    return request;
  }

  /** Fields Redis refused to store (their sum would not be finite): their updates are lost. */
  private countRefused(group: QueuedBatch[], outcome: WriteOutcome): void {
    for (const { seq, field } of outcome.refused) {
      const updates = group.find((b) => b.seq === seq)?.refusable.get(field) ?? 0;
      this.countDropped("overflow", updates);
      this.report(
        new PrometheusUpstashError(
          "dropped",
          `Redis refused ${updates} update(s) of ${field}: the stored value ` +
            "would no longer be a finite number",
        ),
      );
    }
  }

  private settle(batch: QueuedBatch): void {
    this.unsettled.delete(batch);
    this.stats.unsettledBatches = this.unsettled.size;
    if (!batch.landed) this.countDrop(batch, batch.dropped!);
  }

  private backoff(attempt: number): number {
    return this.options.backoffMs * 4 ** attempt * (0.5 + Math.random());
  }

  /**
   * Drops batches past their age, then the oldest ones over the byte bound; never one of the
   * `spared` first batches counted from the end of the queue (this flush's own).
   */
  private dropOverflow(now: number, spared = 0): void {
    let bytes = this.queue.reduce((n, b) => n + b.bytes, 0);
    while (this.queue.length > spared) {
      const oldest = this.queue[0]!;
      let reason: DropReason;
      if (now - oldest.createdAt > MAX_BATCH_AGE_MS) reason = "too_old";
      else if (bytes > this.options.maxPendingBytes) reason = "pending_limit";
      else break;
      this.queue.shift();
      bytes -= oldest.bytes;
      this.drop(oldest, reason);
    }
    this.updateGauges();
  }

  private drop(batch: QueuedBatch, reason: DropReason): void {
    if (batch.landed) return;
    this.onDropped();
    if (batch.inFlight > 0) {
      batch.dropped = reason;
      batch.args = []; // only the counts are needed from now on
      this.unsettled.add(batch);
      this.stats.unsettledBatches = this.unsettled.size;
      return;
    }
    this.countDrop(batch, reason);
  }

  private countDrop(batch: QueuedBatch, reason: DropReason): void {
    this.stats.droppedUpdates += batch.updates;
    this.self?.countDropped(reason, batch.updates);
    if (batch.self) this.self?.giveBack(batch.self);
    if (batch.updates > 0) {
      this.report(
        new PrometheusUpstashError(
          "dropped",
          `dropped ${batch.updates} unwritten metric update(s) (${reason})`,
        ),
      );
    }
  }

  /** Counts updates given up outside the queue (series limit, no Redis client). */
  countDropped(reason: DropReason, n: number): void {
    this.stats.droppedUpdates += n;
    this.self?.countDropped(reason, n);
  }

  private updateGauges(): void {
    this.stats.pendingBatches = this.queue.length;
    this.stats.pendingBytes = this.queue.reduce((n, b) => n + b.bytes, 0);
  }
}
