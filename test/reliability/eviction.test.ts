// Exactly-once under eviction. Upstash (like Redis' volatile-* policies) evicts keys that carry
// a TTL first, and users share one database between this library and their cache. Whatever the
// library relies on to skip a resent batch must survive that: no volatile-* eviction may make a
// retried flush count twice.
//
// (a) the worst case, deterministic: a flush applied but its response lost, then every key with
//     a TTL deleted (what volatile-* eviction can do at most), then the resend.
// (b) a run: 20 isolates, 20 % of responses lost, a private redis-server with maxmemory and
//     volatile-random / volatile-lru, a user's cache writing keys with TTLs all along, and for a
//     while the user's persistent data filling memory until Redis refuses writes (OOM): those
//     flushes fail and are carried, never lost and never doubled.
import { Redis as IORedis } from "ioredis";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FaultProxy, startFaultProxy } from "../../tools/fault-proxy/proxy.ts";
import {
  type RedisServer,
  startRedisServer,
  startUpstashServer,
  type UpstashServer,
} from "../../tools/local-upstash/index.ts";
import { mulberry32 as seededRandom } from "../../tools/prng.ts";
import { sharedStack, uniquePrefix } from "../helpers/stack.ts";
import {
  BUCKETS,
  bucketOf,
  compareTotals,
  flushUntilSettled,
  type Isolate,
  makeIsolate,
  readTotals,
} from "./harness.ts";

/** A redis-server of this test's own (eviction settings, deleting keys) behind its own server. */
interface PrivateStack {
  redisServer: RedisServer;
  server: UpstashServer;
  proxy: FaultProxy;
  redis: IORedis;
  stop(): Promise<void>;
}

async function privateStack(seed: number): Promise<PrivateStack> {
  const redisServer = await startRedisServer();
  // the shared token, so the harness' isolates (makeIsolate) can talk to it
  const server = await startUpstashServer({
    redisUrl: redisServer.url,
    token: sharedStack().token,
  });
  const proxy = await startFaultProxy({ target: server.url, seed });
  const redis = new IORedis(redisServer.url);
  return {
    redisServer,
    server,
    proxy,
    redis,
    async stop() {
      redis.disconnect();
      await proxy.stop();
      await server.stop();
      await redisServer.stop();
    },
  };
}

/** Deletes every key that has a TTL: the most any volatile-* eviction policy can take. */
async function deleteVolatileKeys(redis: IORedis): Promise<string[]> {
  const deleted: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "COUNT", 1000);
    cursor = next;
    for (const key of keys) {
      if ((await redis.pttl(key)) >= 0) {
        await redis.del(key);
        deleted.push(key);
      }
    }
  } while (cursor !== "0");
  return deleted;
}

describe("(a) a lost response, every key with a TTL deleted, then the resend", () => {
  let stack: PrivateStack;
  beforeEach(async () => {
    stack = await privateStack(1);
  });
  afterEach(() => stack?.stop());

  it("inc(5) reads 5, not 10", async () => {
    const prefix = uniquePrefix("evict-worst");
    // No retry in the client or the library: the resend is the next flush's, after the deletion.
    const iso = makeIsolate(stack.proxy, prefix, { retries: 0 }, { retry: { retries: 0 } });
    iso.requests.inc({ route: "/" }, 5);
    iso.latency.observe({ route: "/" }, 0.5);
    stack.proxy.script("applyThenDrop");
    await iso.registry.flush();
    expect(iso.registry.stats.failedFlushes).toBe(1);
    expect(iso.registry.stats.pendingBatches).toBeGreaterThan(0);
    // It was applied although the isolate could not know.
    const applied = await readTotals(prefix, ["/"], stack.server.url);
    expect(applied.requests).toBe(5);

    const deleted = await deleteVolatileKeys(stack.redis);
    console.log(`(a) keys with a TTL deleted before the resend: ${deleted.length}`);

    await iso.registry.flush(); // the resend
    expect(iso.registry.stats.pendingBatches).toBe(0);
    const totals = await readTotals(prefix, ["/"], stack.server.url);
    expect({ requests: totals.requests, observations: totals.observations }).toEqual({
      requests: 5,
      observations: 1,
    });
  });
});

// ---------------------------------------------------------------------------------------------

const ISOLATES = 20;
const INVOCATIONS = 2_000;
const ROUTES = ["/", "/items", "/items/:id", "/cart", "/checkout"];
/** Memory the library and the cache share above what an empty redis-server uses. */
const HEADROOM_BYTES = 3 * 1024 * 1024;
/** The user's cache: values of this size with a TTL, this many per 10 ms tick. */
const CACHE_VALUE = "x".repeat(1000);
const CACHE_KEYS_PER_TICK = 20;
/** How long Redis stays out of memory (at most until 80 % of the run). */
const OOM_MS = 1500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RunFigures {
  policy: string;
  driven: number;
  stored: number;
  dropped: number;
  doubled: number;
  lost: number;
  lostResponses: number;
  failedFlushes: number;
  oomFlushErrors: number;
  evictedKeys: number;
  oomInvocations: string;
  seconds: number;
}
const figures: RunFigures[] = [];
afterAll(() => {
  if (figures.length === 0) return;
  console.log(
    [
      `| policy (${INVOCATIONS} invocations × 2 updates, ${ISOLATES} isolates, 20 % responses lost) | updates driven | stored | dropped | double-counted | lost | failed flushes | of them OOM | invocations under OOM | keys evicted | seconds |`,
      "|---|---|---|---|---|---|---|---|---|---|---|",
      ...figures.map(
        (f) =>
          `| ${f.policy} | ${f.driven} | ${f.stored} | ${f.dropped} | ${f.doubled} (${((100 * f.doubled) / f.driven).toFixed(2)} %) | ${f.lost} | ${f.failedFlushes} | ${f.oomFlushErrors} | ${f.oomInvocations} | ${f.evictedKeys} | ${f.seconds} |`,
      ),
    ].join("\n"),
  );
});

/** An error's message and those of its causes. */
function errorText(error: unknown): string {
  const parts: string[] = [];
  for (let e = error; e !== undefined && parts.length < 10; e = (e as { cause?: unknown }).cause) {
    parts.push(e instanceof Error ? e.message : String(e));
    if (typeof e !== "object" || e === null) break;
  }
  return parts.join(" <- ");
}

/** The user's cache: keeps writing keys with a TTL (they are what volatile-* evicts first). */
function startCache(redis: IORedis): { stop(): Promise<void>; pause(paused: boolean): void } {
  let running = true;
  let paused = false;
  let n = 0;
  const done = (async () => {
    while (running) {
      if (paused) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const p = redis.pipeline();
      for (let i = 0; i < CACHE_KEYS_PER_TICK; i++) p.set(`cache:${n++}`, CACHE_VALUE, "EX", 3600);
      await p.exec(); // OOM replies are per command: ignored, as a cache would
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
    },
    pause(value) {
      paused = value;
    },
  };
}

/** The user's persistent data (no TTL) grows until Redis answers OOM; returns its keys. */
async function fillUntilOom(redis: IORedis): Promise<string[]> {
  const keys: string[] = [];
  for (let round = 0; round < 10_000; round++) {
    const p = redis.pipeline();
    for (let i = 0; i < 50; i++) {
      const key = `data:${keys.length}`;
      keys.push(key);
      p.set(key, CACHE_VALUE);
    }
    const replies = (await p.exec()) ?? [];
    if (replies.some(([err]) => err && /OOM/.test(String(err)))) return keys;
  }
  throw new Error("Redis never ran out of memory");
}

async function run(policy: "volatile-random" | "volatile-lru", seed: number): Promise<void> {
  const started = performance.now();
  const stack = await privateStack(seed);
  try {
    const { redis, proxy } = stack;
    const baseline = Number(/used_memory:(\d+)/.exec(await redis.info("memory"))![1]);
    await redis.config("SET", "maxmemory", String(baseline + HEADROOM_BYTES));
    await redis.config("SET", "maxmemory-policy", policy);
    await redis.config("RESETSTAT");
    const cache = startCache(redis);
    await new Promise((r) => setTimeout(r, 300)); // memory is full and evicting before we start

    const prefix = uniquePrefix(`evict-${policy}`);
    proxy.setFaults({ applyThenDrop: 0.2 });
    const isolates: Isolate[] = Array.from({ length: ISOLATES }, () =>
      makeIsolate(proxy, prefix, { timeoutMs: 200, retries: 2, backoffMs: 5 }),
    );
    const expectedRequests = new Map<string, number>(ROUTES.map((r) => [r, 0]));
    const expectedBuckets = new Map<string, number[]>(
      ROUTES.map((r) => [r, new Array<number>(BUCKETS.length + 1).fill(0)]),
    );
    let invoked = 0;
    let oomAt = 0;
    let oomUntil = 0;
    const waitFor = async (fraction: number) => {
      while (invoked < INVOCATIONS * fraction) await new Promise((r) => setTimeout(r, 5));
    };

    // From 30 % of the run, the user's persistent data leaves nothing to evict, for a while
    // (the cache pauses, or its new keys would always leave something volatile to evict).
    const oomPhase = (async () => {
      await waitFor(0.3);
      cache.pause(true);
      const data = await fillUntilOom(redis);
      // Memory hovers at the limit once the fill is refused; below it, small writes would still
      // pass. A limit under what is used makes every write that needs memory fail for a while.
      const used = Number(/used_memory:(\d+)/.exec(await redis.info("memory"))![1]);
      await redis.config("SET", "maxmemory", String(used - 1024 * 1024));
      oomAt = invoked;
      await Promise.race([sleep(OOM_MS), waitFor(0.8)]);
      await redis.config("SET", "maxmemory", String(baseline + HEADROOM_BYTES));
      await redis.del(...data);
      cache.pause(false);
      oomUntil = invoked;
    })();

    await Promise.all([
      oomPhase,
      ...isolates.map(async (iso, n) => {
        const random = seededRandom(seed * 1000 + n);
        for (let i = 0; i < INVOCATIONS / ISOLATES; i++) {
          const route = ROUTES[Math.floor(random() * ROUTES.length)]!;
          const seconds = Math.round(random() * 2000) / 100;
          iso.requests.inc({ route });
          iso.latency.observe({ route }, seconds);
          expectedRequests.set(route, expectedRequests.get(route)! + 1);
          expectedBuckets.get(route)![bucketOf(seconds)]!++;
          invoked++;
          await iso.registry.flush();
        }
      }),
    ]);
    const lostResponses = proxy.stats().faults.applyThenDrop;

    // Faults off, cache stopped: every isolate sends what it still holds.
    proxy.setFaults({});
    await cache.stop();
    for (const iso of isolates) {
      await flushUntilSettled(iso.registry);
    }

    const totals = await readTotals(prefix, ROUTES, stack.server.url);
    // Updates stored = requests_total + the +Inf bucket (= _count) of each route; the other
    // buckets must match exactly too.
    const { stored, lost, doubled, bucketsLost, bucketsDoubled } = compareTotals(
      totals.families,
      expectedRequests,
      expectedBuckets,
    );
    const bucketsOff = bucketsLost + bucketsDoubled;
    const sum = (f: (iso: Isolate) => number) => isolates.reduce((n, iso) => n + f(iso), 0);
    const dropped = sum((iso) => iso.registry.stats.droppedUpdates);
    const oomFlushErrors = sum((iso) => iso.errors.filter((e) => /OOM/.test(errorText(e))).length);
    const evictedKeys = Number(/evicted_keys:(\d+)/.exec(await redis.info("stats"))![1]);
    const driven = 2 * INVOCATIONS;
    figures.push({
      policy,
      driven,
      stored,
      dropped,
      doubled,
      lost,
      lostResponses,
      failedFlushes: sum((iso) => iso.registry.stats.failedFlushes),
      oomFlushErrors,
      evictedKeys,
      oomInvocations: `${oomAt}–${oomUntil}`,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    });

    expect(evictedKeys, "the cache must have caused evictions").toBeGreaterThan(1000);
    expect(oomFlushErrors, "Redis must have refused some flushes with OOM").toBeGreaterThan(0);
    expect(doubled).toBe(0);
    expect(stored + dropped).toBe(driven);
    expect(bucketsOff, "histogram buckets off by").toBe(0);
    expect(dropped, "a flush Redis refused (OOM) is carried and retried, not dropped").toBe(0);
  } finally {
    await stack.stop();
  }
}

describe(`(b) ${INVOCATIONS} invocations, ${ISOLATES} isolates, 20 % responses lost, memory pressure`, () => {
  it(
    "maxmemory-policy volatile-random: 0 double-counted, stored + dropped = driven",
    () => run("volatile-random", 301),
    60_000,
  );
  it(
    "maxmemory-policy volatile-lru: 0 double-counted, stored + dropped = driven",
    () => run("volatile-lru", 302),
    60_000,
  );
});
