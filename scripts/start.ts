// `npm start`: the main job, locally. Starts the local Upstash stack (a redis-server behind
// the project's Upstash REST server) and the example Worker under `wrangler dev` against it,
// prints where to look, and on Ctrl-C / SIGTERM stops both, leaving nothing behind.
import { startLocalStack } from "../tools/local-upstash/stack.ts";
import { startWranglerDev } from "./wrangler-dev.ts";

const port = Number(process.env.PORT ?? 8787);

const stack = await startLocalStack();
console.log(`local Upstash REST server: ${stack.url} (redis at ${stack.redisUrl})`);

let worker: Awaited<ReturnType<typeof startWranglerDev>>;
try {
  worker = await startWranglerDev({
    port,
    vars: { UPSTASH_REDIS_REST_URL: stack.url, UPSTASH_REDIS_REST_TOKEN: stack.token },
    onOutput: (chunk) => process.stdout.write(chunk),
  });
} catch (err) {
  await stack.stop();
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}

console.log(`
  The example Worker is running at ${worker.url}/
  Prometheus metrics:               ${worker.url}/metrics
  Try: curl ${worker.url}/ && curl ${worker.url}/metrics

  UPSTASH_REDIS_REST_URL=${stack.url}
  UPSTASH_REDIS_REST_TOKEN=${stack.token}

  Ctrl-C stops everything.
`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping wrangler and the local stack…`);
  await worker.stop();
  await stack.stop();
  process.exit(0);
}
void worker.exited.then(async () => {
  if (stopping) return;
  console.error("wrangler exited unexpectedly; stopping the local stack.");
  stopping = true;
  await stack.stop();
  process.exit(1);
});
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

// `npm start` runs us with `exec` (package.json), so a signal npm forwards reaches us. Should
// npm die without forwarding one (SIGKILL), follow it out instead of running on orphaned.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void shutdown("parent gone");
}, 500).unref();
