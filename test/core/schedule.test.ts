// The write schedule on its own (src/flush/schedule.ts), with real timers: at most one write
// per interval, every caller answered by a write that holds its data, and waiting that costs a
// timer and a few checks per caller — counted here through a clock that counts each caller's
// sleeps (AsyncLocalStorage tells whose sleep it is).
import { AsyncLocalStorage } from "node:async_hooks";
import { describe, expect, it } from "vitest";
import { type ScheduleClock, WriteSchedule } from "../../src/flush/schedule.ts";
import { Counter, Registry } from "../../src/index.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A fake app around a schedule: callers "record" (a number), writes "apply" what they drained. */
function harness(options: { writeMs?: (n: number) => number; clock?: "real" | "io" } = {}) {
  const caller = new AsyncLocalStorage<number>();
  const sleepsOf = new Map<number, number[]>();
  // "io": a clock like workerd's in production, which moves only at I/O (a caller's arrival, a
  // write's answer) and stands still across timers.
  let ioNow = Date.now();
  const clock: ScheduleClock = {
    now: () => (options.clock === "io" ? ioNow : Date.now()),
    sleep(ms) {
      const id = caller.getStore();
      if (id !== undefined) sleepsOf.set(id, [...(sleepsOf.get(id) ?? []), ms]);
      return sleep(ms);
    },
  };
  let recorded = 0;
  let applied = 0;
  const starts: number[] = [];
  const schedule = new WriteSchedule(async () => {
    const drained = recorded; // a write holds what was recorded before it started
    starts.push(performance.now());
    await sleep(options.writeMs?.(starts.length) ?? 5);
    ioNow = Date.now();
    applied = Math.max(applied, drained);
  }, clock);
  let nextId = 0;
  /** One caller: records, asks for a write, and checks that its data was applied. */
  async function call(intervalMs: number): Promise<void> {
    ioNow = Date.now();
    const id = nextId++;
    const mine = ++recorded;
    await caller.run(id, () => schedule.written(intervalMs));
    expect(applied).toBeGreaterThanOrEqual(mine);
  }
  return { call, starts, sleepsOf, callers: () => nextId };
}

/** Callers at a fixed rate for a while, all awaited. */
async function drive(h: ReturnType<typeof harness>, n: number, gapMs: number, intervalMs: number) {
  const calls: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    calls.push(h.call(intervalMs));
    await sleep(gapMs);
  }
  await Promise.all(calls);
}

function gaps(starts: number[]): number[] {
  return starts.slice(1).map((t, i) => t - starts[i]!);
}

describe("write schedule", () => {
  it("a busy isolate writes once per interval, and each caller wakes at most twice", async () => {
    const h = harness();
    await drive(h, 60, 10, 200); // ~600 ms of calls at 100/s
    // The first call writes at once, then one write per 200 ms.
    expect(h.starts.length).toBeGreaterThanOrEqual(3);
    expect(h.starts.length).toBeLessThanOrEqual(5);
    for (const gap of gaps(h.starts)) expect(gap).toBeGreaterThanOrEqual(199);
    const wakeUps = [...h.sleepsOf.values()].map((s) => s.length);
    expect(Math.max(...wakeUps)).toBeLessThanOrEqual(2);
    // Most callers wake once: the one that starts the write, and the others after it is done.
    const once = wakeUps.filter((n) => n <= 1).length + (h.callers() - h.sleepsOf.size);
    expect(once / h.callers()).toBeGreaterThan(0.8);
  });

  it("a slow write costs the callers it serves a few checks, spaced ever wider, not polling", async () => {
    // The third write takes 1.5 s (a slow Redis); the others 5 ms.
    const h = harness({ writeMs: (n) => (n === 3 ? 1500 : 5) });
    await drive(h, 40, 10, 100);
    for (const sleeps of h.sleepsOf.values()) {
      // one sleep until the write is due, then checks each twice the one before (at most 1 s):
      // 10, 20, … 640 ms, then 1 s — at most 1 + 8 + 1
      expect(sleeps.length).toBeLessThanOrEqual(10);
      for (const [i, ms] of sleeps.entries()) {
        if (i >= 2) expect(ms).toBeGreaterThanOrEqual(Math.min(2 * sleeps[i - 1]!, 1000) - 1);
      }
      // only the sleep until the write is due may be short (a caller that came just before it)
      expect(Math.min(...sleeps.slice(1))).toBeGreaterThanOrEqual(10);
    }
    // Writes never overlap, and the slow one delayed the next rather than doubling up.
    expect(gaps(h.starts).every((g) => g >= 99)).toBe(true);
  });

  it("keeps one write per interval when the clock moves only at I/O (workerd)", async () => {
    const h = harness({ clock: "io" });
    await drive(h, 50, 10, 150);
    expect(h.starts.length).toBeGreaterThanOrEqual(3);
    expect(h.starts.length).toBeLessThanOrEqual(5);
    for (const gap of gaps(h.starts)) expect(gap).toBeGreaterThanOrEqual(149);
    const wakeUps = [...h.sleepsOf.values()].map((s) => s.length);
    expect(Math.max(...wakeUps)).toBeLessThanOrEqual(2);
  });

  it("interval 0: calls made during a write share one follow-up write", async () => {
    const h = harness({ writeMs: () => 50 });
    const first = h.call(0);
    await sleep(5);
    await Promise.all([first, ...Array.from({ length: 10 }, () => h.call(0))]);
    expect(h.starts).toHaveLength(2);
    // Each of the 10 waited for the write under way with checks, not a poll every millisecond.
    for (const sleeps of h.sleepsOf.values()) expect(sleeps.length).toBeLessThanOrEqual(3);
  });

  it("a call with a shorter interval than the others gets an earlier write, which serves them too", async () => {
    const h = harness();
    await h.call(1000); // the first write, at once
    const waiting = h.call(1000); // due in 1 s
    await sleep(20);
    await h.call(0); // at once: its write also holds the waiting call's data
    expect(h.starts).toHaveLength(2);
    // The waiting call sleeps its interval out, then finds its data written: no third write.
    await waiting;
    expect(h.starts).toHaveLength(2);
  });

  it("a write that rejects fails only the call that ran it; the schedule goes on", async () => {
    let fail = true;
    const schedule = new WriteSchedule(async () => {
      await sleep(20);
      if (fail) throw new Error("no Redis client");
    });
    const starter = schedule.written(0);
    await sleep(5);
    const follower = schedule.written(100);
    await expect(starter).rejects.toThrow(/no Redis client/);
    fail = false;
    await expect(follower).resolves.toBeUndefined();
    await expect(schedule.written(0)).resolves.toBeUndefined();
  });

  it("rejects intervals that are not finite numbers ≥ 0", async () => {
    const schedule = new WriteSchedule(async () => {});
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, "5" as unknown as number]) {
      await expect(schedule.written(bad)).rejects.toThrow(/intervalMs must be a finite number/);
    }
    expect(() => new Registry({ flushIntervalMs: -5 })).toThrow(/flushIntervalMs must be/);
  });
});

describe("registry flush with an interval", () => {
  it("one write serves every flush() of the interval; the series cap still bounds what waits", async () => {
    const prefix = uniquePrefix("interval");
    const errors: unknown[] = [];
    const registry = new Registry({
      redis: newClient(),
      prefix,
      flushIntervalMs: 300,
      maxSeriesPerMetric: 5,
      selfMetrics: false,
      onError: (e) => errors.push(e),
    });
    const hits = new Counter({
      name: "hits_total",
      help: "h",
      labelNames: ["k"],
      registers: [registry],
    });
    await registry.flush(); // nothing pending: no write, but the interval starts
    const flushes: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      hits.inc({ k: String(i % 10) }); // 10 series, 5 over the cap
      flushes.push(registry.flush());
      await sleep(5);
    }
    await Promise.all(flushes);
    expect(registry.stats.flushes).toBe(1);
    expect(registry.stats.droppedUpdates).toBe(10); // 5 series × 2 updates over the cap
    const text = await registry.metrics();
    const total = [...text.matchAll(/^hits_total\{k="\d"\} (\d+)$/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    expect(total).toBe(10);
  });
});
