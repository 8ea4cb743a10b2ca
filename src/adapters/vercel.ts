// prometheus-upstash/vercel: flush a registry after a Vercel function's response. Vercel
// (Edge and Node runtimes) offers `waitUntil` through @vercel/functions; this module uses it
// when the package is installed and the function runs inside a Vercel request, and otherwise
// awaits the flush before returning (an instance may be frozen right after the response, so a
// fire-and-forget write could never run).
import { waitUntilInterval } from "../flush/schedule.ts";
import type { Registry } from "../registry.ts";
import { type MetricsEndpointOptions, metricsResponse } from "./metrics-endpoint.ts";

export type WaitUntil = (promise: Promise<unknown>) => void;

export interface VercelFlushOptions {
  /**
   * The platform's waitUntil. Default: `waitUntil` from @vercel/functions when it can be
   * imported and a Vercel request context is active. Passing it explicitly
   * (`import { waitUntil } from "@vercel/functions"`) is the most bundler-proof setup.
   */
  waitUntil?: WaitUntil;
  /**
   * Least time (ms) between two writes of this instance when the flush goes to waitUntil: each
   * invocation's flush waits (after the response) for the next write, which serves every
   * invocation of the interval. Default: the registry's `flushIntervalMs`, else 5000. Without
   * waitUntil the flush is awaited before returning, so it writes at once (interval 0).
   */
  flushIntervalMs?: number;
}

export interface WithMetricsOptions extends VercelFlushOptions {
  registry: Registry;
}

/**
 * Flushes the registry so that it outlives the response: handed to waitUntil when there is
 * one (returns at once; the write comes with the next interval), awaited otherwise (a write at
 * once). Never rejects.
 */
export async function flushAfterResponse(
  registry: Registry,
  options: VercelFlushOptions = {},
): Promise<void> {
  const waitUntil = options.waitUntil ?? (await platformWaitUntil());
  if (waitUntil !== undefined) {
    const intervalMs = waitUntilInterval(options.flushIntervalMs, registry.flushIntervalMs);
    try {
      waitUntil(quietly(registry.flush({ intervalMs })));
      return;
    } catch {
      // no usable request context after all: wait for a write ourselves
    }
  }
  await quietly(registry.flush({ intervalMs: 0 }));
}

function quietly(flushing: Promise<void>): Promise<void> {
  return flushing.catch(() => {
    // flush() reports its own failures through the registry's onError
  });
}

/**
 * Wraps a route handler (`(request, ...rest) => Response`) so the metrics it recorded are
 * flushed after it, whether it returned or threw.
 */
export function withMetrics<A extends unknown[], R extends Response>(
  handler: (request: Request, ...rest: A) => R | Promise<R>,
  options: WithMetricsOptions,
): (request: Request, ...rest: A) => Promise<R> {
  return async (request, ...rest) => {
    try {
      return await handler(request, ...rest);
    } finally {
      await flushAfterResponse(options.registry, options);
    }
  };
}

/** A route handler serving the registry's global values (`export const GET = metricsHandler(…)`). */
export function metricsHandler(
  registry: Registry,
  options: MetricsEndpointOptions = {},
): (request: Request) => Promise<Response> {
  return (request) => metricsResponse(registry, request, options);
}

// Vercel's runtime exposes the current request's context (with waitUntil) under this global
// symbol; @vercel/functions reads the same one. It tells whether a waitUntil call would land.
const REQUEST_CONTEXT = Symbol.for("@vercel/request-context");

interface RequestContext {
  waitUntil?: WaitUntil;
}

function activeRequestContext(): RequestContext | undefined {
  const holder = (globalThis as Record<symbol, unknown>)[REQUEST_CONTEXT] as
    | { get?: () => RequestContext | undefined }
    | undefined;
  return holder?.get?.();
}

let vercelWaitUntil: Promise<WaitUntil | undefined> | undefined;

// The package is optional: the magic comments keep webpack (Next.js) and Vite from resolving it
// at build time, so a missing package only makes this import fail at run time, where it is
// caught. (A literal specifier, so Vercel's file tracing still ships it when installed.)
function importVercelWaitUntil(): Promise<WaitUntil | undefined> {
  vercelWaitUntil ??= import(/* webpackIgnore: true */ /* @vite-ignore */ "@vercel/functions").then(
    (mod: { waitUntil?: WaitUntil }) =>
      typeof mod.waitUntil === "function" ? mod.waitUntil : undefined,
    () => undefined,
  );
  return vercelWaitUntil;
}

/** waitUntil when this code runs inside a Vercel request, else undefined. */
async function platformWaitUntil(): Promise<WaitUntil | undefined> {
  const context = activeRequestContext();
  if (typeof context?.waitUntil !== "function") return undefined;
  return (await importVercelWaitUntil()) ?? context.waitUntil.bind(context);
}
