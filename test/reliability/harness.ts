// Shared pieces of the reliability tests: an "isolate" (a registry with a counter and a
// histogram, writing through the fault proxy) and a reader that sees Redis directly.
import { Redis, type RedisConfigNodejs } from "@upstash/redis";
import { expect, vi } from "vitest";
import { Counter, Histogram, Registry, type RegistryOptions } from "../../src/index.ts";
import type { FaultProxy } from "../../tools/fault-proxy/proxy.ts";
import { type ParsedFamily, parseChecked, sampleValue } from "../helpers/exposition.ts";
import { newClient, sharedStack } from "../helpers/stack.ts";

export const BUCKETS = [0.1, 1, 10];

/** Which bucket index of BUCKETS an observation falls in (the last one is +Inf). */
export function bucketOf(v: number): number {
  const i = BUCKETS.findIndex((b) => v <= b);
  return i < 0 ? BUCKETS.length : i;
}

export interface Isolate {
  registry: Registry;
  requests: Counter<"route">;
  latency: Histogram<"route">;
  errors: unknown[];
}

/** A registry as one serverless isolate would have it, talking to Redis through `proxy`. */
export function makeIsolate(
  proxy: FaultProxy | string,
  prefix: string,
  options: Partial<RegistryOptions> = {},
  client: Partial<RedisConfigNodejs> = {},
): Isolate {
  const url = typeof proxy === "string" ? proxy : proxy.url;
  const errors: unknown[] = [];
  const registry = new Registry({
    redis: new Redis({ url, token: sharedStack().token, ...client }),
    prefix,
    onError: (e) => errors.push(e),
    ...options,
  });
  const requests = new Counter({
    name: "requests_total",
    help: "Requests",
    labelNames: ["route"],
    registers: [registry],
  });
  const latency = new Histogram({
    name: "latency_seconds",
    help: "Latency",
    labelNames: ["route"],
    buckets: BUCKETS,
    registers: [registry],
  });
  return { registry, requests, latency, errors };
}

/**
 * Flushes until the registry holds nothing more to send: no pending batch, and none whose
 * outcome is still unknown (a request given up on may yet land).
 */
export async function flushUntilSettled(
  registry: Registry,
  wait: { timeout: number; interval: number } = { timeout: 10_000, interval: 50 },
): Promise<void> {
  await vi.waitFor(async () => {
    await registry.flush();
    expect(registry.stats.pendingBatches).toBe(0);
    expect(registry.stats.unsettledBatches).toBe(0);
  }, wait);
}

/**
 * What Redis holds for a prefix, read straight from a local Upstash server (the run-wide one
 * unless `url` names another that takes the shared token).
 */
export async function readTotals(
  prefix: string,
  routes: readonly string[],
  url: string = sharedStack().url,
) {
  const reader = makeIsolate(url, prefix);
  const families = parseChecked(await reader.registry.metrics());
  const result = { requests: 0, observations: 0, families };
  for (const route of routes) {
    result.requests += sampleValue(families, "requests_total", { route }) ?? 0;
    result.observations += sampleValue(families, "latency_seconds_count", { route }) ?? 0;
  }
  return result;
}

/** The value of a self-metric in a scrape, 0 when it is not shown. */
/**
 * What Redis holds against what was driven, per route: the requests counter and the +Inf
 * bucket (= _count) give `stored`, `lost` and `doubled` updates; the finite buckets, which must
 * match exactly too, give `bucketsLost` and `bucketsDoubled`.
 */
export function compareTotals(
  families: ParsedFamily[],
  expectedRequests: ReadonlyMap<string, number>,
  expectedBuckets: ReadonlyMap<string, readonly number[]>,
) {
  const out = { stored: 0, lost: 0, doubled: 0, bucketsLost: 0, bucketsDoubled: 0 };
  const tally = (expected: number, got: number, bucket: boolean) => {
    if (!bucket) out.stored += got;
    if (got < expected) out[bucket ? "bucketsLost" : "lost"] += expected - got;
    else out[bucket ? "bucketsDoubled" : "doubled"] += got - expected;
  };
  for (const [route, requests] of expectedRequests) {
    tally(requests, sampleValue(families, "requests_total", { route }) ?? 0, false);
    let cumulative = 0;
    expectedBuckets.get(route)!.forEach((count, i) => {
      cumulative += count;
      const le = i < BUCKETS.length ? String(BUCKETS[i]) : "+Inf";
      const got = sampleValue(families, "latency_seconds_bucket", { route, le }) ?? 0;
      tally(cumulative, got, le !== "+Inf");
    });
  }
  return out;
}

export function selfMetric(
  families: ParsedFamily[],
  name: string,
  labels: Record<string, string> = {},
): number {
  return sampleValue(families, name, labels) ?? 0;
}

export { newClient };
