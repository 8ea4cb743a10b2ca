#!/usr/bin/env node
// `npx prometheus-upstash dev [--port P] [--token T] [--redis-url redis://…] [--max-… BYTES]`
// (in this repository: `npm run local-upstash -- …`). Starts the local Upstash REST server (and
// a redis-server of its own unless --redis-url is given), prints the two variables a client
// needs on stdout (and nothing else there, so `> .dev.vars` works), and stops everything on
// SIGINT, SIGTERM, SIGHUP, or when the process that started it goes away.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { UpstashLimits } from "./limits.ts";
import { startLocalStack } from "./stack.ts";

const NAME = "prometheus-upstash";

/** Flag → limit, e.g. --max-reply-bytes 65536. */
const LIMIT_FLAGS: Record<string, keyof UpstashLimits> = {
  "max-request-bytes": "maxRequestBytes",
  "max-reply-bytes": "maxReplyBytes",
  "max-record-bytes": "maxRecordBytes",
  "max-key-bytes": "maxKeyBytes",
};

const USAGE = `Usage: ${NAME} dev [options]

Starts a local Upstash-compatible REST server in front of redis-server (from PATH) and prints
UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN. Ctrl-C stops both.

Options:
  --port <n>               port of the REST server (default: a free one)
  --token <t>              bearer token (default: random)
  --redis-url <url>        use this Redis instead of starting redis-server, e.g. redis://127.0.0.1:6379
  --max-request-bytes <n>  Upstash's limits, lowered for tests (defaults: 10485760 request,
  --max-reply-bytes <n>      10485760 reply, 104857600 per key, 32768 per key name)
  --max-record-bytes <n>
  --max-key-bytes <n>
`;

class UsageError extends Error {}

function positiveInteger(flag: string, text: string, max: number): number {
  const n = Number(text);
  if (!(Number.isSafeInteger(n) && n > 0 && n <= max)) {
    throw new UsageError(`--${flag} must be a whole number from 1 to ${max}, got ${text}`);
  }
  return n;
}

function parseOptions(argv: string[]) {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        port: { type: "string" },
        token: { type: "string" },
        "redis-url": { type: "string" },
        ...Object.fromEntries(
          Object.keys(LIMIT_FLAGS).map((f) => [f, { type: "string" as const }]),
        ),
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return "help" as const;
  if (positionals.length !== 1 || positionals[0] !== "dev") {
    throw new UsageError(
      positionals.length === 0 ? "name a command: dev" : `unknown command ${positionals.join(" ")}`,
    );
  }
  const port =
    values.port === undefined ? undefined : positiveInteger("port", String(values.port), 65_535);
  const limits: Partial<UpstashLimits> = {};
  for (const [flag, limit] of Object.entries(LIMIT_FLAGS)) {
    const text = (values as Record<string, unknown>)[flag];
    if (typeof text === "string") {
      limits[limit] = positiveInteger(flag, text, Number.MAX_SAFE_INTEGER);
    }
  }
  const token = typeof values.token === "string" ? values.token : undefined;
  const redisUrl = typeof values["redis-url"] === "string" ? values["redis-url"] : undefined;
  return { port, token, redisUrl, limits };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options === "help") {
    process.stdout.write(USAGE);
    return;
  }
  const stack = await startLocalStack(options);
  console.log(`UPSTASH_REDIS_REST_URL=${stack.url}`);
  console.log(`UPSTASH_REDIS_REST_TOKEN=${stack.token}`);
  console.error(`${NAME} dev: serving Redis at ${stack.redisUrl}; Ctrl-C to stop`);

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await stack.stop();
    process.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, shutdown);

  // `npx` / `npm exec` start us under `sh -c`: npm → sh → us. A signal sent to npm can end it
  // (or the shell) without passing the signal on, which would orphan us and our redis-server.
  // Follow them out: stop when our parent changes or our grandparent is gone.
  const parent = process.ppid;
  const grandparent = parentOf(parent);
  setInterval(() => {
    if (process.ppid !== parent || (grandparent !== undefined && !alive(grandparent))) {
      void shutdown();
    }
  }, 200).unref();
}

/** The parent of process `pid` (Linux: /proc; elsewhere: ps), or undefined if unknown. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid …"; comm may hold spaces and parentheses: read after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (Number.isInteger(ppid) && ppid > 0) return ppid;
  } catch {
    // no /proc (macOS): ask ps
  }
  try {
    const out = execFileSync("ps", ["-o", "ppid=", "-p", String(pid)], { encoding: "utf8" });
    const ppid = Number(out.trim());
    return Number.isInteger(ppid) && ppid > 0 ? ppid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // exists, owned by someone else
  }
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`${NAME} dev: ${message}`);
  if (err instanceof UsageError) console.error(`\n${USAGE}`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
