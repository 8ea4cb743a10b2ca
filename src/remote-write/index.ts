// prometheus-upstash/remote-write: push the registry's global values to anything that takes
// Prometheus remote write 1.0 (Prometheus with --web.enable-remote-write-receiver, Grafana
// Cloud, Mimir, Cortex, Thanos Receive, VictoriaMetrics, Amazon Managed Prometheus), from a
// scheduled Worker, a Lambda on a schedule, or a timer in a Node process. One read (the same
// as a scrape's), one timestamp (the Redis server's clock at the read), the series a scrape
// would have stored. docs/remote-write.md has the setup for each receiver.
import type { Registry } from "../registry.ts";
import type { MetricFamily, RedisClient } from "../types.ts";
import { encodeWriteRequests } from "./encode.ts";
import { type Destination, send } from "./send.ts";
import { snappyCompress } from "./snappy.ts";

export interface PushOptions {
  /** The receiver's remote write endpoint, e.g. https://…/api/prom/push. */
  url: string;
  /** The `job` label of every series (a scrape adds it; a push must). Default "prometheus-upstash". */
  job?: string;
  /** The `instance` label of every series. Default: the registry's prefix ("prom"). */
  instance?: string;
  /** `Authorization: Bearer <token>`. */
  bearerToken?: string;
  /** HTTP basic auth (Grafana Cloud: the instance id and an access token). */
  basicAuth?: { username: string; password: string };
  /** More headers on every request (e.g. Mimir's `X-Scope-OrgID`). */
  headers?: Record<string, string>;
  /**
   * Send histograms that have native buckets as native histograms (the `histograms` field;
   * the receiver must accept them, e.g. Prometheus with --enable-feature=native-histograms),
   * instead of their classic _bucket/_sum/_count series. Default false.
   */
  native?: boolean;
  /** Send each family's TYPE and HELP (WriteRequest.metadata). Default true. */
  metadata?: boolean;
  /** Time limit of one HTTP attempt (ms). Default 10,000. */
  timeoutMs?: number;
  /** Time limit of the whole push, retries included (ms). Default 30,000. */
  deadlineMs?: number;
  /** Largest uncompressed WriteRequest (bytes); a bigger push is split. Default 1 MiB. */
  maxRequestBytes?: number;
  /**
   * Push this isolate's push counters too (`prometheus_upstash_remote_write_*`, labelled with
   * the registry's instance id). Default true.
   */
  selfMetrics?: boolean;
  /** The fetch to send with. Default: the global fetch. */
  fetch?: typeof fetch;
  /**
   * The Redis client to read with when the registry has none yet (a scheduled invocation may
   * run in an isolate that has served no request), e.g. `Redis.fromEnv(env)`.
   */
  redis?: RedisClient;
}

/** What one push did. */
export interface PushResult {
  /** The samples' timestamp: the Redis server's clock at the read (ms). */
  timestamp: number;
  /** The read was not newer than this isolate's last push to the url: nothing was sent. */
  skipped: boolean;
  /** Series sent: float samples and native histograms. */
  samples: number;
  histograms: number;
  /** HTTP requests answered with success, and all that were needed. */
  requests: number;
  requestsNeeded: number;
  retries: number;
  /** Compressed bytes of the requests answered with success. */
  bytes: number;
  /** Series dropped because another had the same label set. */
  duplicates: number;
}

/** What this isolate's pushes of a registry did, since it started. */
export interface PushStats {
  pushes: number;
  failedPushes: number;
  skippedPushes: number;
  requests: number;
  failedRequests: number;
  retries: number;
  samples: number;
  histograms: number;
  bytes: number;
  /** Timestamp (ms) of the last push that sent everything. */
  lastTimestamp: number | undefined;
  lastError: string | undefined;
}

/** A push that did not deliver everything: the receiver's status and message, and what was sent. */
export class RemoteWriteError extends Error {
  /** The receiver's HTTP status of the first failed request (undefined: no answer). */
  readonly status: number | undefined;
  readonly result: PushResult;

  constructor(message: string, status: number | undefined, result: PushResult) {
    super(message);
    this.name = "RemoteWriteError";
    this.status = status;
    this.result = result;
  }
}

export const USER_AGENT = "prometheus-upstash-remote-write/0.1";
const SELF_PREFIX = "prometheus_upstash_remote_write_";

interface DestinationState {
  /** Timestamp of the last push sent (or being sent) to this url. */
  last: number;
  /** The push under way, which the next one waits for. */
  tail: Promise<unknown>;
}

interface RegistryState {
  stats: PushStats;
  destinations: Map<string, DestinationState>;
}

const states = new WeakMap<Registry, RegistryState>();

function stateOf(registry: Registry): RegistryState {
  let state = states.get(registry);
  if (state === undefined) {
    state = {
      stats: {
        pushes: 0,
        failedPushes: 0,
        skippedPushes: 0,
        requests: 0,
        failedRequests: 0,
        retries: 0,
        samples: 0,
        histograms: 0,
        bytes: 0,
        lastTimestamp: undefined,
        lastError: undefined,
      },
      destinations: new Map(),
    };
    states.set(registry, state);
  }
  return state;
}

/** This isolate's push counts for `registry`. */
export function pushStats(registry: Registry): Readonly<PushStats> {
  return { ...stateOf(registry).stats };
}

/**
 * Reads the registry's global values once and sends them to `options.url` as remote write 1.0,
 * all with one timestamp: the Redis server's clock at the read. Pushes of one registry to one
 * url run one after another in an isolate, and a push whose read is not newer than the last
 * one sent is skipped (resolves with `skipped: true`), so a receiver never gets an older
 * sample of a series after a newer one from this isolate.
 *
 * Resolves once every request succeeded; rejects with a RemoteWriteError naming the receiver's
 * answer when one did not (4xx at once, 5xx/429/timeouts once the deadline is reached), or
 * with the read's error when Redis could not be read.
 */
export function pushMetrics(registry: Registry, options: PushOptions): Promise<PushResult> {
  const resolved = resolve(registry, options);
  if (options.redis !== undefined && !registry.hasRedis) registry.setRedis(options.redis);
  const state = stateOf(registry);
  let destination = state.destinations.get(resolved.url);
  if (destination === undefined) {
    destination = { last: Number.NEGATIVE_INFINITY, tail: Promise.resolve() };
    state.destinations.set(resolved.url, destination);
  }
  const to = destination;
  const run = to.tail.then(() => push(registry, state, to, resolved));
  to.tail = run.catch(() => {});
  return run;
}

type Resolved = Required<
  Pick<
    PushOptions,
    | "url"
    | "job"
    | "instance"
    | "native"
    | "metadata"
    | "timeoutMs"
    | "deadlineMs"
    | "maxRequestBytes"
    | "selfMetrics"
    | "fetch"
  >
> & { headers: Record<string, string> };

async function push(
  registry: Registry,
  state: RegistryState,
  to: DestinationState,
  options: Resolved,
): Promise<PushResult> {
  const started = Date.now();
  const stats = state.stats;
  const result: PushResult = {
    timestamp: 0,
    skipped: false,
    samples: 0,
    histograms: 0,
    requests: 0,
    requestsNeeded: 0,
    retries: 0,
    bytes: 0,
    duplicates: 0,
  };
  let read: Awaited<ReturnType<Registry["collectForPush"]>>;
  try {
    read = await registry.collectForPush();
  } catch (error) {
    stats.failedPushes++;
    stats.lastError = error instanceof Error ? error.message : String(error);
    throw error;
  }
  // A registry of custom metrics alone reads no Redis: then this clock is the only one.
  const [readFamilies, defaultLabels, now] = read;
  const timestamp = Math.round(now || Date.now());
  result.timestamp = timestamp;
  if (timestamp <= to.last) {
    stats.skippedPushes++;
    result.skipped = true;
    return result;
  }
  to.last = timestamp;
  const families = options.selfMetrics
    ? [...readFamilies, ...selfFamilies(stats, registry.instanceId)]
    : readFamilies;
  const { requests, duplicates } = encodeWriteRequests(families, {
    target: { job: options.job, instance: options.instance },
    defaultLabels,
    native: options.native,
    timestamp,
    maxBytes: options.maxRequestBytes,
    metadata: options.metadata,
  });
  result.duplicates = duplicates;
  result.requestsNeeded = requests.length;
  const destination: Destination = {
    url: options.url,
    headers: options.headers,
    timeoutMs: options.timeoutMs,
    deadline: started + options.deadlineMs,
    fetch: options.fetch,
  };
  const failures: { status: number | undefined; message: string }[] = [];
  for (const request of requests) {
    if (Date.now() >= destination.deadline) {
      failures.push({ status: undefined, message: "not sent: the push's deadline had passed" });
      continue;
    }
    const body = snappyCompress(request.body);
    const outcome = await send(body, destination);
    result.retries += outcome.retries;
    if (!outcome.ok) {
      failures.push(outcome);
      continue;
    }
    result.requests++;
    result.samples += request.samples;
    result.histograms += request.histograms;
    result.bytes += body.length;
  }
  stats.requests += result.requests;
  stats.failedRequests += failures.length;
  stats.retries += result.retries;
  stats.samples += result.samples;
  stats.histograms += result.histograms;
  stats.bytes += result.bytes;
  if (failures.length === 0) {
    stats.pushes++;
    stats.lastTimestamp = timestamp;
    return result;
  }
  stats.failedPushes++;
  const first = failures[0]!;
  const message =
    `prometheus-upstash/remote-write: ${failures.length} of ${requests.length} requests to ` +
    `${redact(options.url)} failed; the first: ${first.message}${hint(first)}`;
  stats.lastError = message;
  throw new RemoteWriteError(message, first.status, result);
}

/** What to check, for the answers whose cause is known. */
function hint(failure: { status: number | undefined; message: string }): string {
  if (failure.status === 401 || failure.status === 403) {
    return " (check the credentials: bearerToken, basicAuth or headers)";
  }
  if (failure.status === 404) return " (check the url: the receiver's remote write path)";
  if (/out[ _-]of[ _-]order|out of bounds|too old|duplicate sample/i.test(failure.message)) {
    return (
      " (the receiver holds newer samples of these series: another push got there first — " +
      "another isolate's, or another pusher with the same job and instance labels)"
    );
  }
  return "";
}

/** The url without credentials or query, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(invalid url)";
  }
}

/** This isolate's push counters as families (values before this push). */
function selfFamilies(stats: PushStats, instanceId: string): MetricFamily[] {
  const counter = (value: number, outcome?: string) => ({
    suffix: "",
    values: outcome === undefined ? [instanceId] : [instanceId, outcome],
    value,
  });
  return [
    {
      name: `${SELF_PREFIX}pushes_total`,
      help: "Pushes of this isolate by outcome (success, failure, skipped: not newer than the last)",
      type: "counter",
      labelNames: ["instance_id", "outcome"],
      samples: [
        counter(stats.pushes, "success"),
        counter(stats.failedPushes, "failure"),
        counter(stats.skippedPushes, "skipped"),
      ],
    },
    {
      name: `${SELF_PREFIX}retries_total`,
      help: "Remote write requests of this isolate sent again after a 5xx, 429 or timeout",
      type: "counter",
      labelNames: ["instance_id"],
      samples: [counter(stats.retries)],
    },
    {
      name: `${SELF_PREFIX}failed_requests_total`,
      help: "Remote write requests of this isolate that were given up (4xx, or retries exhausted)",
      type: "counter",
      labelNames: ["instance_id"],
      samples: [counter(stats.failedRequests)],
    },
    {
      name: `${SELF_PREFIX}samples_total`,
      help: "Samples and native histograms this isolate delivered",
      type: "counter",
      labelNames: ["instance_id"],
      samples: [counter(stats.samples + stats.histograms)],
    },
    {
      name: `${SELF_PREFIX}bytes_total`,
      help: "Compressed request bytes this isolate delivered",
      type: "counter",
      labelNames: ["instance_id"],
      samples: [counter(stats.bytes)],
    },
  ];
}

function resolve(registry: Registry, options: PushOptions): Resolved {
  const fail = (what: string): never => {
    throw new TypeError(`prometheus-upstash/remote-write: ${what}`);
  };
  if (typeof options?.url !== "string" || !/^https?:\/\/[^/]/i.test(options.url)) {
    fail(
      `options.url must be the receiver's http(s) remote write url, got ${JSON.stringify(options?.url)}`,
    );
  }
  const positive = (name: keyof PushOptions, value: unknown, fallback: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
      fail(
        `options.${name} must be a positive number of ${name === "maxRequestBytes" ? "bytes" : "ms"}, got ${String(value)}`,
      );
    }
    return value as number;
  };
  const job = options.job ?? "prometheus-upstash";
  const instance = options.instance ?? registry.prefix;
  if (!job) fail("options.job must not be empty (every pushed series needs a job label)");
  if (!instance)
    fail("options.instance must not be empty (every pushed series needs an instance label)");
  if (options.bearerToken !== undefined && options.basicAuth !== undefined) {
    fail("give either options.bearerToken or options.basicAuth, not both");
  }
  const headers: Record<string, string> = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "User-Agent": USER_AGENT,
    "X-Prometheus-Remote-Write-Version": "0.1.0",
  };
  if (options.bearerToken !== undefined) headers.Authorization = `Bearer ${options.bearerToken}`;
  if (options.basicAuth !== undefined) {
    const { username, password } = options.basicAuth;
    headers.Authorization = `Basic ${base64(`${username}:${password}`)}`;
  }
  Object.assign(headers, options.headers);
  const fetcher = options.fetch ?? globalThis.fetch;
  if (typeof fetcher !== "function") fail("no global fetch here: pass options.fetch");
  return {
    url: options.url,
    job,
    instance,
    native: options.native ?? false,
    metadata: options.metadata ?? true,
    timeoutMs: positive("timeoutMs", options.timeoutMs, 10_000),
    deadlineMs: positive("deadlineMs", options.deadlineMs, 30_000),
    maxRequestBytes: Math.max(1024, positive("maxRequestBytes", options.maxRequestBytes, 1 << 20)),
    selfMetrics: options.selfMetrics ?? true,
    // Called as a plain function: Workers' fetch refuses to run with another `this`.
    fetch: (input, init) => fetcher(input, init),
    headers,
  };
}

/** Base64 of the UTF-8 bytes (btoa alone takes Latin-1 only). */
function base64(s: string): string {
  let binary = "";
  for (const b of new TextEncoder().encode(s)) binary += String.fromCharCode(b);
  return btoa(binary);
}

export interface PushTimer {
  /** Stops the timer; resolves when a push under way has finished. */
  stop(): Promise<void>;
}

/**
 * For long-lived processes (Node): a push every `intervalMs` (default 60 s), failures handed to
 * `onError` (default: one line on console.error). The timer never keeps the process alive.
 */
export function startPushing(
  registry: Registry,
  options: PushOptions & { intervalMs?: number; onError?: (error: unknown) => void },
): PushTimer {
  const intervalMs = options.intervalMs ?? 60_000;
  if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) {
    throw new TypeError(`startPushing: options.intervalMs must be > 0 ms, got ${intervalMs}`);
  }
  resolve(registry, options); // option errors now, not at the first tick
  const onError =
    options.onError ?? ((e: unknown) => console.error(e instanceof Error ? e.message : String(e)));
  let stopped = false;
  let current: Promise<unknown> = Promise.resolve();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = () => {
    current = pushMetrics(registry, options)
      .catch((e) => {
        try {
          onError(e);
        } catch {
          registry.countCallbackError();
        }
      })
      .finally(schedule);
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(tick, intervalMs);
    (timer as { unref?: () => void }).unref?.();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await current;
    },
  };
}
