// One local stack (redis-server + local Upstash REST server) for the whole node test run.
// Test files reach it through test/helpers/stack.ts and isolate themselves by key prefix.
// Also a scratch directory for the run, where the consumer tests (test/consumer) pack the
// library once and install it into fresh folders; removed at the end.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startLocalStack } from "../tools/local-upstash/stack.ts";

declare module "vitest" {
  interface ProvidedContext {
    upstashUrl: string;
    upstashToken: string;
    redisUrl: string;
    runDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stack = await startLocalStack();
  const runDir = mkdtempSync(join(tmpdir(), "prometheus-upstash-run-"));
  project.provide("upstashUrl", stack.url);
  project.provide("upstashToken", stack.token);
  project.provide("redisUrl", stack.redisUrl);
  project.provide("runDir", runDir);
  return async () => {
    await stack.stop();
    rmSync(runDir, { recursive: true, force: true });
  };
}
