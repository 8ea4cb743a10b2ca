// Public entry of the local Upstash stack, for tests, scripts and benchmarks.

export {
  keyTooLarge,
  RECORD_TOO_LARGE,
  requestTooLarge,
  UPSTASH_LIMITS,
  type UpstashLimits,
} from "../../src/dev/limits.ts";
export { scriptForRedis, sha1Hex } from "../../src/dev/scripts.ts";
export { type Billing, billingSince, type ScriptRun } from "./billing.ts";
export {
  auditDeclaredKeys,
  findKeyViolations,
  firstLine,
  type KeyAudit,
  type KeyViolation,
} from "./declared-keys.ts";
export { type RedisServer, startRedisServer } from "./redis-server.ts";
export { type RequestInfo, startUpstashServer, type UpstashServer } from "./server.ts";
export { type LocalStack, startLocalStack } from "./stack.ts";
