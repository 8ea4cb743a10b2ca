// Issue 13, item 10 (documented in docs/reliability.md, "Redis restarting empty"): a Redis that
// restarts empty has lost the writers' records of what they applied, so a batch the old Redis
// applied but whose answer was lost is applied again by the new one. Prometheus sees a counter
// reset, then the replayed updates on top. Inherent: the proof of "applied" lived in the Redis
// that was lost. This test pins the behaviour the document describes.
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { Counter, Registry } from "../../src/index.ts";
import { type FaultProxy, startFaultProxy } from "../../tools/fault-proxy/proxy.ts";
import { type RedisServer, startRedisServer } from "../../tools/local-upstash/redis-server.ts";
import { startUpstashServer, type UpstashServer } from "../../tools/local-upstash/server.ts";
import { parseChecked, sampleValue } from "../helpers/exposition.ts";
import { uniquePrefix } from "../helpers/stack.ts";

let redis: RedisServer;
let upstash: UpstashServer;
let proxy: FaultProxy;
beforeAll(async () => {
  redis = await startRedisServer();
  upstash = await startUpstashServer({ redisUrl: redis.url });
  proxy = await startFaultProxy({ target: upstash.url });
});
afterAll(async () => {
  await proxy.stop();
  await upstash.stop();
  await redis.stop();
});

it("a batch applied but unanswered before Redis restarts empty is applied again after it", async () => {
  const registry = new Registry({
    redis: new Redis({ url: proxy.url, token: upstash.token, retry: { retries: 0 } }),
    prefix: uniquePrefix("restart"),
    retries: 0,
    selfMetrics: false,
    onError: () => {},
  });
  const counter = new Counter({ name: "jobs_total", help: "h", registers: [registry] });
  const scrape = async () => sampleValue(parseChecked(await registry.metrics()), "jobs_total");

  counter.inc(5);
  proxy.script("applyThenDrop"); // Redis applies the batch, its answer is lost
  await registry.flush();
  expect(registry.stats.pendingBatches).toBe(1); // kept: the flusher cannot know it landed
  expect(await scrape()).toBe(5);

  await redis.restart(); // no persistence: every value and every writer record is gone
  await vi.waitFor(async () => expect(await scrape()).toBe(0), { timeout: 10_000 });

  counter.inc(2);
  await registry.flush(); // resends the unanswered batch first: nothing says it was applied
  expect(registry.stats.pendingBatches).toBe(0);
  expect(registry.stats.duplicateBatches).toBe(0);
  // 7 calls' worth were driven; Prometheus saw 5, a reset to 0, then 7: increase() says 12.
  expect(await scrape()).toBe(7);
});
