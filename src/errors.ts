// What goes wrong between a registry and Redis, told so a user can fix it: each cause has a
// `code` a program can match on and a message naming what to set. @upstash/redis puts the whole
// command (our Lua script) in its messages: cut off. The default reporter prints each cause
// once, then a count. Kept terse: this ships in every Worker (README's troubleshooting explains).

/** Why a flush or a scrape failed, or what was given up. */
export type ErrorCode =
  /** The client has no URL or no token (variables or Worker bindings not set). */
  | "missing_credentials"
  /** The REST server refused the token (401). */
  | "unauthorized"
  /** Redis refused to run scripts (EVAL/EVALSHA): a read-only token, or ACLs. */
  | "scripts_refused"
  /** Something answered that is not an Upstash REST endpoint. */
  | "not_upstash"
  /** The host did not answer in time, or could not be reached. */
  | "unreachable"
  /** The registry has no Redis client. */
  | "no_redis"
  /** Unwritten updates were given up (bounds), or Redis refused a non-finite value. */
  | "dropped"
  /** Any other error Redis answered with. */
  | "redis";

export class PrometheusUpstashError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(`prometheus-upstash: ${message}`, options);
    this.name = "PrometheusUpstashError";
    this.code = code;
  }
}

const URL_VAR = "UPSTASH_REDIS_REST_URL";
const TOKEN_VAR = "UPSTASH_REDIS_REST_TOKEN";
const SET_BOTH = `set ${URL_VAR} and ${TOKEN_VAR} (in a Worker: vars or secrets)`;

/** Known causes: the code, what its messages look like, what to do. */
const CAUSES: [ErrorCode, RegExp, string][] = [
  [
    "unauthorized",
    /unauthori[sz]ed|WRONGPASS|NOAUTH/i,
    `Redis refused the token: set ${TOKEN_VAR}`,
  ],
  [
    "scripts_refused",
    /NOPERM|unknown command .?eval/i,
    `Redis refused to run a Lua script: ${TOKEN_VAR} must allow EVAL (not a read-only token)`,
  ],
  [
    "not_upstash",
    /UpstashJSONParse|Unexpected \w+ reply|parse URL/i,
    `not an Upstash REST reply: set ${URL_VAR} to the database's REST URL (https://…)`,
  ],
  ["unreachable", /fetch failed|ECONN|ENOTFOUND|EAI_AGAIN/i, `Redis unreachable: check ${URL_VAR}`],
];

export const noRedisError = (): PrometheusUpstashError =>
  new PrometheusUpstashError(
    "no_redis",
    `no Redis client: ${SET_BOTH}, or pass { redis } or call setRedis()`,
  );

/** A request that got no answer in time (flush/timeout.ts). */
export const noAnswer = (what: string, ms: number): string =>
  `${what} got no answer from Redis within ${ms} ms: check ${URL_VAR} (or raise timeoutMs)`;

const checked = new WeakMap<object, string>();

/**
 * Runs one Redis call of the store; what it throws comes out classified. An @upstash/redis
 * client without URL or token fails at once (the client would retry for seconds).
 */
export async function redisCall<T>(redis: object, call: () => Promise<T>): Promise<T> {
  let missing = checked.get(redis);
  if (missing === undefined) {
    const http = (
      redis as { client?: { baseUrl?: unknown; headers?: { authorization?: unknown } } }
    ).client;
    // Only an @upstash/redis client is looked into (its "Bearer <token>" header); others pass.
    const auth = http?.headers?.authorization;
    const token = typeof auth === "string" ? auth.split(" ")[1] : "?";
    missing = [http?.baseUrl === "" && URL_VAR, /^(undefined)?$/.test(token!) && TOKEN_VAR]
      .filter(Boolean)
      .join(" and ");
    checked.set(redis, missing);
  }
  if (missing) {
    throw new PrometheusUpstashError(
      "missing_credentials",
      `no ${missing} in the Redis client: ${SET_BOTH}`,
    );
  }
  try {
    return await call();
  } catch (error) {
    throw classify(error);
  }
}

/** An error's message without the command @upstash/redis appended (our script), bounded. */
const shortMessage = (error: unknown): string =>
  String(error instanceof Error ? error.message : error)
    .replace(/,? command was: [\s\S]*/, "")
    .slice(0, 300);

/** The error of a failed Redis call, by cause. */
export function classify(error: unknown): PrometheusUpstashError {
  if (error instanceof PrometheusUpstashError) return error;
  const said = shortMessage(error);
  const detail = `${(error as Error)?.name} ${said} ${(error as { cause?: { code?: string } })?.cause?.code}`;
  const [code, , fix] = CAUSES.find(([, pattern]) => pattern.test(detail)) ?? [
    "redis",
    /$/,
    "Redis error",
  ];
  return new PrometheusUpstashError(code, `${fix} (${said})`, { cause: error });
}

/** A flush that failed after its retries: the cause's code, and what became of the data. */
export function flushFailed(
  attempts: number,
  batches: number,
  updates: number,
  error: unknown,
): PrometheusUpstashError {
  const { code, message } = classify(error);
  return new PrometheusUpstashError(
    code,
    `flush failed after ${attempts} attempt(s); ${batches} batch(es) (${updates}+ updates) ` +
      `kept for the next flush: ${message.slice(20)}`,
    { cause: error },
  );
}

/** Causes no retry cures (not "not_upstash": a proxy's passing 502 page looks the same). */
export const isPermanent = (error: unknown): boolean =>
  /^(missing_credentials|unauthorized|scripts_refused)$/.test(classify(error).code);

const reported = new Map<string, number>();

/** The default onError: each cause (a code of ours, else a message) once, then a count at 10, 100… */
export function reportOnce(error: unknown): void {
  const message = shortMessage(error);
  const key =
    error instanceof PrometheusUpstashError && error.code !== "redis" ? error.code : message;
  const n = (reported.get(key) ?? 0) + 1;
  reported.set(key, n);
  if (n === 1)
    console.error(message.startsWith("prometheus-") ? message : `prometheus-upstash: ${message}`);
  else if (/^10+$/.test(String(n)))
    console.error(`prometheus-upstash: ${n} errors so far: ${key.slice(0, 60)}`);
}
