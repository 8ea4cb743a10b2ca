// Public entry of the local Upstash stack, for tests, scripts and benchmarks.
export { type RedisServer, startRedisServer } from "./redis-server.ts";
export { type RequestInfo, startUpstashServer, type UpstashServer } from "./server.ts";
export { type LocalStack, startLocalStack } from "./stack.ts";
