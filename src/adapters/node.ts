// prometheus-upstash/node: for long-lived Node processes (a server, a worker, a cluster of
// them). Instead of a flush per request, flush on a timer; flush once more when the process is
// told to stop (SIGTERM/SIGINT) or runs out of work (beforeExit). Each flush also rewrites
// gauge values nearing their expiry, so a live process's gauges never vanish while a dead
// one's do. The only module of the library that uses Node APIs.
//
// A metrics library never keeps a process alive: the timer is unref'd, and the last flush
// (on a signal or when the loop empties) gets `exitTimeoutMs`, after which the process ends
// the way it would have without us, whatever Redis does (a request to a host that never
// answers holds a socket we cannot cancel: the user's client may have no `signal`).
//
// Its declarations name Node's types (NodeJS.Signals), hence @types/node as an optional peer
// dependency; the directive below stays in the emitted .d.ts so they load wherever it is used.
/// <reference types="node" preserve="true" />
import process from "node:process";
import { Gauge } from "../metrics/gauge.ts";
import type { Registry } from "../registry.ts";

export interface AutoFlushOptions {
  /**
   * Time between flushes (ms). Default: 10 s, or less when a gauge's expiry needs it (a
   * quarter of the shortest gauge expiry registered when auto-flush starts).
   */
  intervalMs?: number;
  /**
   * Signals that trigger a last flush. When no other listener handles the signal, the
   * process then ends the way it would have without us (re-raised with the default action).
   * Default ["SIGTERM", "SIGINT"]; [] to leave signals alone.
   */
  signals?: NodeJS.Signals[];
  /** Flush when the event loop empties (`beforeExit`). Default true. */
  flushOnBeforeExit?: boolean;
  /**
   * How long the last flush (on a signal, or when the event loop empties) may take before the
   * process ends without it (ms). Default 3000.
   */
  exitTimeoutMs?: number;
}

/** Stops the timer and listeners, then flushes what is pending. */
export type StopAutoFlush = () => Promise<void>;

const DEFAULT_INTERVAL_MS = 10_000;
const DEFAULT_EXIT_TIMEOUT_MS = 3_000;

export function startAutoFlush(registry: Registry, options: AutoFlushOptions = {}): StopAutoFlush {
  const intervalMs = options.intervalMs ?? defaultInterval(registry);
  if (!(intervalMs > 0))
    throw new Error(`startAutoFlush: intervalMs must be > 0, got ${intervalMs}`);
  const exitTimeoutMs = options.exitTimeoutMs ?? DEFAULT_EXIT_TIMEOUT_MS;
  if (!(exitTimeoutMs > 0))
    throw new Error(`startAutoFlush: exitTimeoutMs must be > 0, got ${exitTimeoutMs}`);
  // The timer is the interval: each tick writes at once (interval 0).
  const flush = () =>
    registry.flush({ intervalMs: 0 }).catch(() => {
      // reported through the registry's onError
    });

  /** The last flush: true when it finished within exitTimeoutMs. */
  let exiting: Promise<boolean> | undefined;
  const lastFlush = (): Promise<boolean> => {
    let deadline: NodeJS.Timeout | undefined;
    exiting = Promise.race([
      flush().then(() => true),
      new Promise<boolean>((resolve) => {
        deadline = setTimeout(() => resolve(false), exitTimeoutMs);
      }),
    ]).finally(() => {
      clearTimeout(deadline);
      exiting = undefined;
    });
    return exiting;
  };

  // A flush failure leaves gauges marked for a full rewrite, so "pending" may stay true;
  // flushing once per beforeExit round (until the process shows it lives on) avoids a loop.
  let flushedForExit = false;
  let ticking: Promise<void> | undefined;
  const timer = setInterval(() => {
    // While a flush is under way (the last one, or a tick's with its retries), a tick adds
    // nothing: it would only keep the process busy longer.
    if (exiting !== undefined || ticking !== undefined) return;
    flushedForExit = false;
    ticking = flush().finally(() => {
      ticking = undefined;
    });
  }, intervalMs);
  timer.unref(); // never the reason the process stays alive

  const onBeforeExit = () => {
    if (flushedForExit) return;
    flushedForExit = true;
    void lastFlush().then((inTime) => {
      // Our request alone holds a process whose work is done: end it as it was about to end.
      // (Another beforeExit listener may have started work of its own: then it decides.)
      if (!inTime && process.listenerCount("beforeExit") <= 1) process.exit();
    });
  };

  const signalHandlers = new Map<NodeJS.Signals, () => void>();
  for (const signal of options.signals ?? ["SIGTERM", "SIGINT"]) {
    const handler = () => {
      void lastFlush().then(() => {
        const othersListen = process.listenerCount(signal) > 1;
        process.removeListener(signal, handler);
        signalHandlers.delete(signal);
        // Alone, we must not swallow the signal: end as its default action would.
        if (!othersListen) process.kill(process.pid, signal);
      });
    };
    signalHandlers.set(signal, handler);
    process.on(signal, handler);
  }
  if (options.flushOnBeforeExit !== false) process.on("beforeExit", onBeforeExit);

  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    process.removeListener("beforeExit", onBeforeExit);
    for (const [signal, handler] of signalHandlers) process.removeListener(signal, handler);
    signalHandlers.clear();
    await flush();
  };
}

function defaultInterval(registry: Registry): number {
  let interval = DEFAULT_INTERVAL_MS;
  for (const metric of registry.getMetricsAsArray()) {
    if (metric instanceof Gauge) interval = Math.min(interval, metric.expireMs / 4);
  }
  return Math.max(interval, 250);
}
