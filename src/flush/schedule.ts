// When an isolate writes, and how each caller learns that its data is in Redis.
//
// An isolate starts at most one write per interval, whatever its traffic: a caller that comes
// within `intervalMs` of the last write's start waits for the next write, due at that start +
// `intervalMs`, and is served by it together with every other caller of the interval. Writes run
// one at a time. A caller is answered once a write that started after its call has finished:
// the write drains everything recorded before it starts, so that write holds the caller's data.
//
// How a caller waits matters on Workers, where each caller is a request and its wait is the
// request's `waitUntil`:
// - It never awaits a promise made by another caller (workerd cancels a request's continuations
//   when a promise it awaits settles in another request's context). It only awaits its own
//   timers and, if it starts the write, the write itself.
// - It wakes up a bounded, small number of times. The first caller of an interval sleeps until
//   the write is due and starts it (1 wake-up). The others sleep until that write should be done
//   (the due time plus twice the last write's duration), and check; only a write slower than
//   that costs them more checks, each twice as far apart as the one before, up to one a second:
//   about log2(write time / first check) + 1 for a write up to a second, one more per further
//   second of a slow Redis — never a poll every few milliseconds. (The cap keeps a caller from
//   sleeping long past the end of a slow write, which would delay the next write.)
// - Clocks: Workers advance `Date.now()` only across I/O. Due times are read at the call (a
//   request's arrival is I/O) and the sleeps are timers; a caller that slept until the write was
//   due starts it without asking the clock again.
import { sleep as realSleep } from "./timeout.ts";

/** What the schedule needs of time; real timers by default, a counting wrapper in tests. */
export interface ScheduleClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const REAL_CLOCK: ScheduleClock = { now: () => Date.now(), sleep: realSleep };

/**
 * The default interval where each request's flush rides on the platform's `waitUntil` (Hono on
 * Workers, Vercel): data at most ~5 s old in Redis, a third of the shortest usual scrape
 * interval (15 s), for one write per busy isolate per 5 s. A caller then waits at most
 * max(interval, W) + 1 s + W, W being one write's bound with its retries (about 9.75 s with
 * the registry's defaults): 20.5 s, well inside the 30 s Workers allow after the response.
 */
export const WAIT_UNTIL_FLUSH_INTERVAL_MS = 5000;

/**
 * The interval of a flush handed to `waitUntil` (Hono, Vercel): the adapter's option, else the
 * registry's `flushIntervalMs`, else WAIT_UNTIL_FLUSH_INTERVAL_MS.
 */
export function waitUntilInterval(
  given: number | undefined,
  registryMs: number | undefined,
): number {
  const ms = given ?? registryMs ?? WAIT_UNTIL_FLUSH_INTERVAL_MS;
  checkFlushInterval("flushIntervalMs", ms);
  return ms;
}

/** Until a write has been timed, callers expect one to take this long (ms). */
const FIRST_WRITE_GUESS_MS = 50;
/** Shortest and longest wait before a check whether someone else's write has finished (ms). */
const MIN_CHECK_MS = 10;
const MAX_CHECK_MS = 1000;

export class WriteSchedule {
  readonly #write: () => Promise<void>;
  readonly #clock: ScheduleClock;
  /** Writes started and finished so far; they run one at a time. */
  #started = 0;
  #finished = 0;
  #writing = false;
  /** When the last write started (ms, the clock's time; a lower bound on the real time). */
  #lastStartAt = Number.NEGATIVE_INFINITY;
  /** How long the last write took (ms): when the callers it serves first check on it. */
  #lastWriteMs = FIRST_WRITE_GUESS_MS;
  /** The write (by number) whose first caller sleeps until it is due, to start it. */
  #starterFor = 0;

  /**
   * `write` sends everything recorded before it is called; it may reject (the rejection reaches
   * the caller that ran it, the others are served all the same).
   */
  constructor(write: () => Promise<void>, clock: ScheduleClock = REAL_CLOCK) {
    this.#write = write;
    this.#clock = clock;
  }

  /**
   * Resolves once a write that started after this call has finished, starting at most one
   * write per `intervalMs` (0: as soon as the write under way, if any, has finished).
   */
  async written(intervalMs: number): Promise<void> {
    checkFlushInterval("intervalMs", intervalMs);
    // The next write to start holds everything recorded up to now.
    const needed = this.#started + 1;
    // A clock that went back (NTP, fake timers) never makes the wait longer than the interval.
    const dueIn = Math.min(intervalMs, this.#lastStartAt + intervalMs - this.#clock.now());
    const checkMs = Math.min(MAX_CHECK_MS, Math.max(MIN_CHECK_MS, 2 * this.#lastWriteMs));
    if (dueIn > 0) {
      if (this.#starterFor !== needed) {
        this.#starterFor = needed;
        await this.#clock.sleep(dueIn);
      } else {
        // Someone else starts that write: wake when it should be done.
        await this.#clock.sleep(dueIn + checkMs);
      }
    }
    for (let wait = checkMs; this.#finished < needed; wait = Math.min(2 * wait, MAX_CHECK_MS)) {
      // Nothing under way and ours not started (else it would have finished): it is due now.
      if (!this.#writing) return this.#run(intervalMs);
      await this.#clock.sleep(wait);
    }
  }

  async #run(intervalMs: number): Promise<void> {
    this.#writing = true;
    this.#started++;
    // A caller that slept until the write was due may read a clock that has not moved since:
    // the due time is the better lower bound then.
    // A due time more than an interval ahead means the clock went back: it bounds nothing then.
    const now = this.#clock.now();
    const due = this.#lastStartAt + intervalMs;
    const startAt = due - now > intervalMs ? now : Math.max(now, due);
    this.#lastStartAt = startAt;
    try {
      await this.#write();
    } finally {
      this.#lastWriteMs = Math.max(0, this.#clock.now() - startAt);
      this.#writing = false;
      this.#finished = this.#started;
    }
  }
}

/** A flush interval is a finite number of milliseconds ≥ 0. */
export function checkFlushInterval(name: string, value: unknown): void {
  if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value)) {
    throw new RangeError(
      `prometheus-upstash: ${name} must be a finite number of milliseconds ≥ 0, got ${String(value)}`,
    );
  }
}
