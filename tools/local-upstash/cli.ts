// `npm run local-upstash -- [--port P] [--token T] [--redis-url redis://…]`
// Starts the local Upstash REST server (and a redis-server of its own unless --redis-url is
// given), prints the two environment lines a client needs, and stops everything on
// SIGINT/SIGTERM.
import { parseArgs } from "node:util";
import { startLocalStack } from "./stack.ts";

function parseOptions(): { port?: number; token?: string; redisUrl?: string } {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      token: { type: "string" },
      "redis-url": { type: "string" },
    },
  });
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw new Error(`--port must be a port number, got ${values.port}`);
  }
  return { port, token: values.token, redisUrl: values["redis-url"] };
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
