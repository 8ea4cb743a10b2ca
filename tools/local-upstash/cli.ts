// `npm run local-upstash -- [--port P] [--token T] [--redis-url redis://…] [--max-… BYTES]`
// Starts the local Upstash REST server (and a redis-server of its own unless --redis-url is
// given), prints the two environment lines a client needs, and stops everything on
// SIGINT/SIGTERM.
import { parseArgs } from "node:util";
import type { UpstashLimits } from "./limits.ts";
import { startLocalStack } from "./stack.ts";

/** Flag → limit, e.g. --max-reply-bytes 65536. */
const LIMIT_FLAGS: Record<string, keyof UpstashLimits> = {
  "max-request-bytes": "maxRequestBytes",
  "max-reply-bytes": "maxReplyBytes",
  "max-record-bytes": "maxRecordBytes",
  "max-key-bytes": "maxKeyBytes",
};

function positiveInteger(flag: string, text: string, max: number): number {
  const n = Number(text);
  if (!(Number.isSafeInteger(n) && n > 0 && n <= max)) {
    throw new Error(`--${flag} must be a whole number from 1 to ${max}, got ${text}`);
  }
  return n;
}

function parseOptions(): {
  port?: number;
  token?: string;
  redisUrl?: string;
  limits: Partial<UpstashLimits>;
} {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      token: { type: "string" },
      "redis-url": { type: "string" },
      ...Object.fromEntries(Object.keys(LIMIT_FLAGS).map((f) => [f, { type: "string" as const }])),
    },
  });
  const port = values.port === undefined ? undefined : positiveInteger("port", values.port, 65_535);
  const limits: Partial<UpstashLimits> = {};
  for (const [flag, limit] of Object.entries(LIMIT_FLAGS)) {
    const text = (values as Record<string, string | undefined>)[flag];
    if (text !== undefined) limits[limit] = positiveInteger(flag, text, Number.MAX_SAFE_INTEGER);
  }
  return { port, token: values.token, redisUrl: values["redis-url"], limits };
}

async function main(): Promise<void> {
  const stack = await startLocalStack(parseOptions());
  console.log(`UPSTASH_REDIS_REST_URL=${stack.url}`);
  console.log(`UPSTASH_REDIS_REST_TOKEN=${stack.token}`);
  console.error(`local-upstash: serving Redis at ${stack.redisUrl}; Ctrl-C to stop`);

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await stack.stop();
    process.exit(0);
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);

  // `npm run` starts us under `sh -c`; a SIGTERM sent to npm kills that shell without passing
  // the signal on, which would orphan us and our redis-server. Follow the parent out instead.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void shutdown();
  }, 200).unref();
}

main().catch((err: unknown) => {
  console.error(`local-upstash: ${(err as Error).message}`);
  process.exit(1);
});
