// How a registry's pending data reaches Redis despite the network: every part of a flush is a
// batch with its own id, and a batch stays queued until a write that contains it succeeds.
// The write script claims each id before applying (store/scripts.ts), so a batch whose outcome
// we never learned (timeout, lost response) is simply sent again with the next attempt or the
// next flush: applied once, never lost, within the bounds below.
//
// Bounds: batches are kept up to `maxPendingBytes` (the oldest dropped first) and for half the
// id TTL at most (an id Redis has forgotten could be applied twice); a request carries at most
// `maxRequestBytes`. Whatever is dropped is counted in stats and self-metrics and reported.
//
// A request we stopped waiting for may still land (the client may retry it on its own for
// seconds). So a batch remembers its requests in flight: one that lands marks it applied (it
// leaves the queue without a resend), and a batch dropped while a request for it is in flight
// is counted as dropped only once all of them failed.
import type { RedisStore, WireBatch } from "../store/redis-store.ts";
import { BATCH_ID_TTL_SECONDS } from "../store/redis-store.ts";
import type { ResolvedReliability } from "./options.ts";
import { type Drainable, drainToParts, type Part, REQUEST_OVERHEAD_BYTES } from "./parts.ts";
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
  };
}

/** Batches older than this are dropped rather than risk outliving their id in Redis. */
export const MAX_BATCH_AGE_MS = (BATCH_ID_TTL_SECONDS * 1000) / 2;

interface QueuedBatch extends Part {
  id: string;
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

  constructor(
    options: ResolvedReliability,
    stats: FlushStats,
    self: SelfMetrics | undefined,
    report: (error: unknown) => void,
  ) {
    this.options = options;
    this.stats = stats;
    this.self = self;
    this.report = report;
  }

  /** Drains the metrics, then writes everything queued. Never rejects. */
  async flush(store: RedisStore, metrics: Iterable<Drainable>, instanceId: string): Promise<void> {
    const now = Date.now();
    this.queue = this.queue.filter((b) => !b.landed); // a late answer already applied them
    const partBytes = this.options.maxRequestBytes - REQUEST_OVERHEAD_BYTES;
    for (const part of drainToParts(metrics, now, partBytes)) this.enqueue(part, now);
    if (this.self) {
      const { parts, deltas } = this.self.drain(now, partBytes);
      for (const [i, part] of parts.entries())
        this.enqueue(part, now, i === 0 ? deltas : undefined);
    }
    this.dropOverflow(now);
    if (this.queue.length === 0) return;
    this.stats.flushes++;
    while (this.queue.length > 0) {
      const group = this.nextRequest();
      if (!(await this.writeWithRetries(store, group, instanceId))) {
        this.stats.failedFlushes++;
        this.self?.countFailure();
        break;
      }
      this.queue.splice(0, group.length);
    }
    this.updateGauges();
  }

  private enqueue(part: Part, now: number, self?: SelfDeltas): void {
    this.queue.push({ ...part, id: randomId(), createdAt: now, self, inFlight: 0, landed: false });
  }

  /** The oldest batches that fit in one request (at least one). */
  private nextRequest(): QueuedBatch[] {
    const limit = this.options.maxRequestBytes - REQUEST_OVERHEAD_BYTES;
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes + this.queue[n]!.bytes <= limit)) {
      bytes += this.queue[n]!.bytes;
      n++;
    }
    return this.queue.slice(0, n);
  }

  private async writeWithRetries(
    store: RedisStore,
    group: QueuedBatch[],
    instanceId: string,
  ): Promise<boolean> {
    const wire: WireBatch[] = group.map((b) => ({ id: b.id, json: b.json }));
    for (let attempt = 0; ; attempt++) {
      try {
        const applied = await withTimeout(
          this.track(group, store.write(wire, instanceId)),
          this.options.timeoutMs,
          "a flush",
        );
        const duplicates = applied.filter((a) => !a).length;
        this.stats.duplicateBatches += duplicates;
        this.self?.countDuplicates(duplicates);
        return true;
      } catch (error) {
        if (attempt >= this.options.retries) {
          const updates = group.reduce((n, b) => n + b.updates, 0);
          this.report(
            new Error(
              `prometheus-upstash: flush failed after ${attempt + 1} attempt(s); ` +
                `${this.queue.length} batch(es) (${updates}+ updates) kept for the next flush`,
              { cause: error },
            ),
          );
          return false;
        }
        this.stats.retries++;
        this.self?.countRetry();
        await sleep(this.backoff(attempt));
      }
    }
  }

  /** Follows a write to its end, even past our timeout: see the header. */
  private track<T>(group: QueuedBatch[], request: Promise<T>): Promise<T> {
    for (const b of group) b.inFlight++;
    request
      .then(
        () => {
          for (const b of group) b.landed = true;
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

  private settle(batch: QueuedBatch): void {
    this.unsettled.delete(batch);
    this.stats.unsettledBatches = this.unsettled.size;
    if (!batch.landed) this.countDrop(batch, batch.dropped!);
  }

  private backoff(attempt: number): number {
    return this.options.backoffMs * 4 ** attempt * (0.5 + Math.random());
  }

  /** Drops batches past their age, then the oldest ones over the byte bound. */
  private dropOverflow(now: number): void {
    let bytes = this.queue.reduce((n, b) => n + b.bytes, 0);
    while (this.queue.length > 0) {
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
    if (batch.inFlight > 0) {
      batch.dropped = reason;
      batch.json = ""; // only the counts are needed from now on
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
        new Error(
          `prometheus-upstash: dropped ${batch.updates} unwritten metric update(s) (${reason})`,
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

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}
