// What the Worker benchmarks share: the example Worker bundled the way wrangler would, run in
// Miniflare (each instance its own workerd process); the local Upstash stack in a process of
// its own (so its work never stalls the load generator's clock); a closed-loop load generator.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "@upstash/redis";
import type { Plugin } from "esbuild";
import { Redis as IORedis } from "ioredis";
import { convertV4MiniflareOptions, Miniflare, type RequestInit as MiniflareInit } from "miniflare";
import { WAIT_UNTIL_FLUSH_INTERVAL_MS } from "../../src/flush/schedule.ts";
import { Counter, Registry } from "../../src/index.ts";
import { bundleExampleWorker as bundle } from "../../tools/bundle-worker.ts";
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS } from "../../tools/workerd-compat.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * "with": worker/index.ts as it is (the Hono middleware's default flush interval).
 * "interval-0": the same with `flushIntervalMs: 0` (a write after every request, the behaviour
 * before one write per interval). "without": the Hono middleware (src/adapters/hono.ts)
 * swapped at bundle time for a pass-through that records nothing and schedules no flush — the
 * app, its routes and its own in-memory metric calls stay the same.
 */
export type Variant = "with" | "interval-0" | "without";

/** Resolves src/adapters/hono.ts (for every importer but the stand-in itself) to `file`. */
function swapMiddleware(file: string): Plugin {
  const path = join(root, "bench", "lib", file);
  return {
    name: `bench-middleware-${file}`,
    setup(b) {
      b.onResolve({ filter: /adapters\/hono\.ts$/ }, (args) =>
        args.importer === path ? undefined : { path },
      );
    },
  };
}

export function bundleExampleWorker(variant: Variant): Promise<string> {
  if (variant === "without") return bundle([swapMiddleware("pass-through-middleware.ts")]);
  if (variant === "interval-0") return bundle([swapMiddleware("interval-zero-middleware.ts")]);
  return bundle([]);
}

export interface StackProcess {
  url: string;
  token: string;
  redisUrl: string;
  /** Direct connection to the redis-server (RESP2), for commandstats. */
  redis: IORedis;
  /** Calls per command since start (INFO commandstats), e.g. { evalsha: 12 }. */
  commandCalls(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** `npm run local-upstash` (src/dev/cli.ts dev) as a child process; resolves once it printed its URL and token. */
export async function startStackProcess(): Promise<StackProcess> {
  const child: ChildProcess = spawn(process.execPath, [join(root, "src", "dev", "cli.ts"), "dev"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const ready = new Promise<{ url: string; token: string; redisUrl: string }>((resolve, reject) => {
    const check = () => {
      const url = /UPSTASH_REDIS_REST_URL=(\S+)/.exec(out)?.[1];
      const token = /UPSTASH_REDIS_REST_TOKEN=(\S+)/.exec(out)?.[1];
      const redisUrl = /serving Redis at (\S+);/.exec(err)?.[1];
      if (url && token && redisUrl) resolve({ url, token, redisUrl });
    };
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      check();
    });
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
      check();
    });
    child.once("exit", (code) => reject(new Error(`local-upstash exited (${code}): ${err}`)));
  });
  const { url, token, redisUrl } = await ready;
  const redis = new IORedis(redisUrl, { protocol: 2, lazyConnect: true });
  await redis.connect();
  return {
    url,
    token,
    redisUrl,
    redis,
    async commandCalls() {
      const info = (await redis.info("commandstats")) as string;
      const calls: Record<string, number> = {};
      for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]!] = Number(m[2]);
      return calls;
    },
    async stop() {
      redis.disconnect();
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await gone;
    },
  };
}

/** Commands the benchmarks send Redis themselves (to read it), never part of what is billed. */
const OWN_COMMANDS = new Set(["info"]);

/**
 * Billed commands between two commandstats snapshots, counted as Upstash bills them: every
 * command Redis ran — each EVAL/EVALSHA plus every command its script ran (commandstats counts
 * those too) — except the benchmark's own INFO.
 */
export function billedBetween(before: Record<string, number>, after: Record<string, number>) {
  let n = 0;
  for (const [name, calls] of Object.entries(after)) {
    if (!OWN_COMMANDS.has(name)) n += calls - (before[name] ?? 0);
  }
  return n;
}

/** Script calls (EVAL + EVALSHA) between two snapshots: one per write request. */
export function scriptCallsBetween(
  before: Record<string, number>,
  after: Record<string, number>,
): number {
  let n = 0;
  for (const name of ["evalsha", "eval"]) n += (after[name] ?? 0) - (before[name] ?? 0);
  return n;
}

/**
 * Every request the example Worker counted in Redis (the sum of all http_requests_total
 * series), read through a registry of our own, so it does not depend on the key schema. Its
 * read runs commands too: call it outside a measured window.
 */
export function requestCounter(stack: { url: string; token: string }): () => Promise<number> {
  const registry = new Registry({
    redis: new Redis({ url: stack.url, token: stack.token }),
    selfMetrics: false,
  });
  new Counter({
    name: "http_requests_total",
    help: "Total number of HTTP requests",
    labelNames: ["method", "status", "ok", "route"],
    registers: [registry],
  });
  return async () => {
    const [family] = await registry.getMetricsAsJSON();
    return (family?.values ?? []).reduce((n, v) => n + v.value, 0);
  };
}

/** How long after a load its last write has surely landed: the middleware's interval + slack. */
export function settleMs(variant: Variant): number {
  if (variant === "without") return 0;
  return (variant === "with" ? WAIT_UNTIL_FLUSH_INTERVAL_MS : 0) + 1500;
}

/**
 * After a load: waits `waitMs` (at least settleMs: until its last write must have landed),
 * takes the commandstats snapshot that closes the measured window, then (outside the window)
 * checks that Redis counted every request once — waiting up to 10 s more if not, and saying so
 * (`late`: a write landed after the snapshot, so the billed figure of that row misses it).
 */
export async function closeWindow(
  stack: StackProcess,
  variant: Variant,
  counted: () => Promise<number>,
  countedBefore: number,
  requests: number,
  waitMs = settleMs(variant),
): Promise<{ after: Record<string, number>; counted: number; late: boolean }> {
  await new Promise((r) => setTimeout(r, Math.max(waitMs, settleMs(variant))));
  const after = await stack.commandCalls();
  if (variant === "without") return { after, counted: 0, late: false };
  let n = (await counted()) - countedBefore;
  const late = n !== requests;
  for (
    const deadline = performance.now() + 10_000;
    n < requests && performance.now() < deadline;
  ) {
    await new Promise((r) => setTimeout(r, 250));
    n = (await counted()) - countedBefore;
  }
  return { after, counted: n, late };
}

/**
 * workerd's warning when a promise made in one request settles in another (its continuations
 * are cancelled). Counted rather than printed: it would flood the tables under load.
 */
const CROSS_REQUEST = "different request context";

/** What the workers' runtimes logged, by kind, since they started. */
export const runtimeLog = { crossRequestWarnings: 0, other: 0 };

/** The workerd process behind each Miniflare instance (for its CPU time). */
const workerdPids = new WeakMap<Miniflare, number>();

function workerdChildren(): Set<number> {
  const out = execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)], {
    encoding: "utf8",
  });
  const pids = new Set<number>();
  for (const line of out.split("\n")) {
    const [pid, comm] = line.trim().split(/\s+/);
    if (comm === "workerd") pids.add(Number(pid));
  }
  return pids;
}

/** CPU seconds (user + system) the instance's workerd process has used so far; NaN if unknown. */
export function workerdCpuSeconds(mf: Miniflare): number {
  const pid = workerdPids.get(mf);
  if (pid === undefined) return Number.NaN;
  try {
    // Fields after the ")" that ends the command name: state is 3rd; utime, stime 14th, 15th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

const CLOCK_TICKS = 100; // getconf CLK_TCK on Linux

export async function startWorkers(
  script: string,
  count: number,
  stack: { url: string; token: string },
): Promise<Miniflare[]> {
  const workers: Miniflare[] = [];
  // One at a time, so each new workerd child can be matched with its Miniflare.
  for (let i = 0; i < count; i++) {
    const before = workerdChildren();
    const mf = new Miniflare(
      convertV4MiniflareOptions({
        modules: true,
        script,
        compatibilityDate: COMPATIBILITY_DATE,
        compatibilityFlags: COMPATIBILITY_FLAGS,
        bindings: { UPSTASH_REDIS_REST_URL: stack.url, UPSTASH_REDIS_REST_TOKEN: stack.token },
        handleStructuredLogs: ({ level, message }) => {
          if (message.includes(CROSS_REQUEST)) {
            runtimeLog.crossRequestWarnings++;
            return;
          }
          runtimeLog.other++;
          if (runtimeLog.other <= 20) console.error(`[workerd ${level}] ${message}`);
        },
      }),
    );
    await mf.ready;
    const fresh = [...workerdChildren()].filter((pid) => !before.has(pid));
    if (fresh.length === 1) workerdPids.set(mf, fresh[0]!);
    workers.push(mf);
  }
  return workers;
}

/** The request mix of an invocation: mostly reads, some orders (seeded, so runs repeat). */
export function requestFor(n: number): [string, MiniflareInit | undefined] {
  const pick = (n * 2654435761) % 100;
  if (pick < 80) return [`http://example.test/users/${(n % 100) + 1}`, undefined];
  if (pick < 90) return [`http://example.test/users/${(n % 100) + 1}/orders/${n % 7}`, undefined];
  return [
    "http://example.test/orders",
    { method: "POST", body: JSON.stringify({ items: (n % 5) + 1 }) },
  ];
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  /** Milliseconds, one per request. */
  latencies: number[];
}

/**
 * Closed loop: `concurrency` callers, each sending its next request as soon as the previous
 * answered, spread round-robin over the workers, for `durationMs`.
 */
export async function runLoad(
  workers: Miniflare[],
  concurrency: number,
  durationMs: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const start = performance.now();
  const deadline = start + durationMs;
  const caller = async (id: number) => {
    const mf = workers[id % workers.length]!;
    while (performance.now() < deadline) {
      const [url, init] = requestFor(next++);
      const t = performance.now();
      const res = await mf.dispatchFetch(url, init);
      await res.arrayBuffer();
      latencies.push(performance.now() - t);
      if (res.status >= 500) errors++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => caller(i)));
  return {
    requests: latencies.length,
    errors,
    seconds: (performance.now() - start) / 1000,
    latencies,
  };
}

/**
 * Open loop: requests sent at a fixed rate whatever the answers take (as real traffic arrives),
 * spread round-robin over the workers; latency from each request's send to its full response.
 */
export async function runFixedRate(
  workers: Miniflare[],
  perSecond: number,
  durationMs: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  const total = Math.floor((perSecond * durationMs) / 1000);
  for (let n = 0; n < total; n++) {
    const due = start + (n * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const mf = workers[n % workers.length]!;
    const [url, init] = requestFor(n);
    const t = performance.now();
    inFlight.push(
      mf.dispatchFetch(url, init).then(async (res) => {
        await res.arrayBuffer();
        latencies.push(performance.now() - t);
        if (res.status >= 500) errors++;
      }),
    );
  }
  await Promise.all(inFlight);
  return {
    requests: latencies.length,
    errors,
    seconds: (performance.now() - start) / 1000,
    latencies,
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
