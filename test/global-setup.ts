// One local stack (redis-server + local Upstash REST server) for the whole node test run.
// Test files reach it through test/helpers/stack.ts and isolate themselves by key prefix.
import type { TestProject } from "vitest/node";
import { startLocalStack } from "../tools/local-upstash/stack.ts";

declare module "vitest" {
  interface ProvidedContext {
    upstashUrl: string;
    upstashToken: string;
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stack = await startLocalStack();
  project.provide("upstashUrl", stack.url);
  project.provide("upstashToken", stack.token);
  project.provide("redisUrl", stack.redisUrl);
  return () => stack.stop();
}
