// The redis-server launcher ships with the package (src/dev/redis-server.ts); this path stays for
// tests and scripts.
export {
  findOnPath,
  freePort,
  type RedisServer,
  startRedisServer,
} from "../../src/dev/redis-server.ts";
