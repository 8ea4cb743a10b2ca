// prometheus-upstash/lambda: AWS Lambda freezes the execution environment as soon as the
// handler returns, so a write left running in the background may never happen (or happen
// minutes later, on the next thaw). The wrapper awaits the flush before returning, bounded by
// a timeout and by the invocation's remaining time. A slow Redis delays the return by at most
// that bound; a failing one never fails the invocation.
import type { Registry } from "../registry.ts";

export interface LambdaOptions {
  registry: Registry;
  /** Longest the wrapper waits for the flush (ms). Default 2000. */
  flushTimeoutMs?: number;
  /** Time kept free before the invocation's deadline (ms). Default 100. */
  deadlineMarginMs?: number;
}

/** The part of Lambda's context object the wrapper uses. */
interface DeadlineContext {
  getRemainingTimeInMillis?: () => number;
}

/**
 * Wraps an async Lambda handler: runs it, then flushes the registry (whether the handler
 * returned or threw), then returns its result or rethrows its error.
 */
export function withMetrics<E, C, R>(
  handler: (event: E, context: C) => R | Promise<R>,
  options: LambdaOptions,
): (event: E, context: C) => Promise<R> {
  return async (event, context) => {
    try {
      return await handler(event, context);
    } finally {
      await flushBeforeReturn(options, context as DeadlineContext | undefined);
    }
  };
}

/** Awaits one flush of the registry, bounded as described above. Never rejects. */
export async function flushBeforeReturn(
  options: LambdaOptions,
  context?: DeadlineContext,
): Promise<void> {
  let budget = options.flushTimeoutMs ?? 2000;
  const remaining = safeRemaining(context);
  if (remaining !== undefined) {
    budget = Math.min(budget, remaining - (options.deadlineMarginMs ?? 100));
  }
  // Interval 0 whatever the registry says: the instance freezes once the handler returns.
  const flushing = options.registry.flush({ intervalMs: 0 }).catch(() => {
    // failures are reported through the registry's onError and stats
  });
  if (budget <= 0) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, budget);
  });
  try {
    await Promise.race([flushing, timeout]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

function safeRemaining(context: DeadlineContext | undefined): number | undefined {
  try {
    const ms = context?.getRemainingTimeInMillis?.();
    return typeof ms === "number" && Number.isFinite(ms) ? ms : undefined;
  } catch {
    return undefined;
  }
}
