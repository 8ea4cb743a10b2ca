// Billed commands per flush and per scrape, counted as Upstash bills them: the EVALSHA plus every
// command the script runs. Measured as INFO commandstats deltas on a redis-server of this file's
// own (nothing else runs commands there), through the local Upstash server.
import { Redis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Counter, Gauge, Histogram, Registry, Summary } from "../../src/index.ts";
import { type LocalStack, startLocalStack } from "../../tools/local-upstash/stack.ts";

let stack: LocalStack;
let direct: IORedis;

beforeAll(async () => {
  stack = await startLocalStack();
  direct = new IORedis(stack.redisUrl, { protocol: 2, lazyConnect: true });
  await direct.connect();
});

afterAll(async () => {
  direct?.disconnect();
  await stack?.stop();
});

/** Commands Redis ran while `work` ran, by name (our own CONFIG/INFO left out). */
async function billed(work: () => Promise<unknown>): Promise<Record<string, number>> {
  await direct.config("RESETSTAT");
  await work();
  const info = await direct.info("commandstats");
  const counts: Record<string, number> = {};
  for (const [, name, calls] of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) {
    if (name !== "config" && name !== "info") counts[name!] = Number(calls);
  }
  return counts;
}

function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

let prefixes = 0;

/** A registry with one metric of each type, its first flush (and the script load) done. */
async function warmRegistry() {
  const registry = new Registry({
    redis: new Redis({ url: stack.url, token: stack.token }),
    prefix: `billed${prefixes++}`,
  });
  const labelNames = ["k"];
  const metrics = {
    counter: new Counter({ name: "c_total", help: "c", labelNames, registers: [registry] }),
    histogram: new Histogram({ name: "h", help: "h", labelNames, registers: [registry] }),
    gauge: new Gauge({ name: "g", help: "g", labelNames, registers: [registry] }),
    summary: new Summary({ name: "s", help: "s", labelNames, registers: [registry] }),
  };
  metrics.counter.inc({ k: "warm" });
  // A summary brings the sketch merge into the write script (a script text of its own): load it.
  metrics.summary.observe({ k: "warm" }, 1);
  await registry.flush();
  await registry.metrics();
  return { registry, ...metrics };
}

type Warm = Awaited<ReturnType<typeof warmRegistry>>;
const RECORD: Record<string, (m: Warm, k: string, i: number) => void> = {
  counter: (m, k) => m.counter.inc({ k }),
  histogram: (m, k, i) => m.histogram.observe({ k }, i / 1000),
  gauge: (m, k, i) => m.gauge.set({ k }, i),
  summary: (m, k, i) => m.summary.observe({ k }, i / 1000),
};

describe("billed commands per flush, as Upstash bills them", () => {
  const EXPECTED: Record<string, Record<string, number>> = {
    counter: { evalsha: 1, hmget: 1, hset: 1 },
    histogram: { evalsha: 1, hmget: 1, hset: 1 },
    gauge: { evalsha: 1, hmget: 1, time: 1, hset: 2 },
    summary: { evalsha: 1, hmget: 2, time: 1, hset: 2 },
  };
  for (const [type, expected] of Object.entries(EXPECTED)) {
    it(`${type}: ${total(expected)} whatever the number of updates and series`, async () => {
      const m = await warmRegistry();
      for (const [k, s] of [
        [1, 1],
        [1000, 1],
        [1000, 1000],
        [100, 10],
      ] as const) {
        const counts = await billed(async () => {
          for (let i = 0; i < k; i++) RECORD[type]!(m, `s${i % s}`, i);
          await m.registry.flush();
        });
        expect(counts, `K=${k} S=${s}`).toEqual(expected);
      }
    });
  }

  it("a native histogram: 3, whatever the number of series and buckets", async () => {
    const m = await warmRegistry();
    const native = new Histogram({
      name: "nat",
      help: "n",
      labelNames: ["k"],
      native: true,
      registers: [m.registry],
    });
    native.observe({ k: "warm" }, 1);
    await m.registry.flush();
    for (const [k, s] of [
      [1, 1],
      [1000, 1],
      [1000, 100],
    ] as const) {
      const counts = await billed(async () => {
        // Values over eight decades: up to the 160-bucket cap per series.
        for (let i = 0; i < k; i++) native.observe({ k: `s${i % s}` }, 10 ** ((i % 800) / 100 - 4));
        await m.registry.flush();
      });
      expect(counts, `K=${k} S=${s}`).toEqual({ evalsha: 1, hmget: 1, hset: 1 });
    }
  });

  it("every type at once, 1,000 series spread over them: 6", async () => {
    const m = await warmRegistry();
    const counts = await billed(async () => {
      for (let i = 0; i < 1000; i++) RECORD[Object.keys(RECORD)[i % 4]!]!(m, `s${i >> 2}`, i);
      await m.registry.flush();
    });
    expect(counts).toEqual({ evalsha: 1, hmget: 2, time: 1, hset: 2 });
  });

  it("a writer's first flush, and one flush per 10 minutes, add its liveness: TIME + HSET", async () => {
    const m = await warmRegistry();
    const fresh = new Registry({
      redis: new Redis({ url: stack.url, token: stack.token }),
      prefix: m.registry.prefix,
    });
    const c = new Counter({ name: "c_total", help: "c", labelNames: ["k"], registers: [fresh] });
    c.inc({ k: "a" });
    // An isolate's first call of the script is an EVAL carrying its text.
    expect(await billed(() => fresh.flush())).toEqual({ eval: 1, hmget: 1, time: 1, hset: 2 });
    c.inc({ k: "a" });
    expect(await billed(() => fresh.flush())).toEqual({ evalsha: 1, hmget: 1, hset: 1 });
    // Ten minutes later by its own clock (its record says when it last refreshed).
    const sums = `{${m.registry.prefix}}:sums`;
    for (const [field, value] of Object.entries(await direct.hgetall(sums))) {
      // "<seq> <client ms> <server ms>" of the last refresh
      if (field.startsWith("w"))
        await direct.hset(sums, field, value.replace(/^(\d+) \d+/, "$1 1"));
    }
    c.inc({ k: "a" });
    m.counter.inc({ k: "a" });
    const both = await billed(() => Promise.all([fresh.flush(), m.registry.flush()]));
    expect(both).toEqual({ evalsha: 2, hmget: 2, time: 2, hset: 4 });
  });
});

describe("billed commands per scrape", () => {
  for (const instances of [1, 20]) {
    it(`4 with ${instances} live gauge instance(s) and every type`, async () => {
      const m = await warmRegistry();
      const others = Array.from({ length: instances - 1 }, () => {
        const registry = new Registry({
          redis: new Redis({ url: stack.url, token: stack.token }),
          prefix: m.registry.prefix,
        });
        return {
          registry,
          gauge: new Gauge({ name: "g", help: "g", labelNames: ["k"], registers: [registry] }),
        };
      });
      for (let i = 0; i < 100; i++) {
        for (const type of Object.keys(RECORD)) RECORD[type]!(m, `s${i}`, i);
        for (const o of others) o.gauge.set({ k: `s${i}` }, i);
      }
      await m.registry.flush();
      await Promise.all(others.map((o) => o.registry.flush()));
      let text = "";
      const counts = await billed(async () => {
        text = await m.registry.metrics();
      });
      // One page: TIME, and one HSCAN per hash (it reads the whole hash while it fits a page).
      expect(counts).toEqual({ evalsha: 1, time: 1, hscan: 2 });
      expect(text).toContain('g{k="s99"}');
    });
  }

  it("a scrape that prunes dead writers adds one HDEL per hash", async () => {
    const m = await warmRegistry();
    m.gauge.set({ k: "a" }, 1);
    await m.registry.flush();
    const live = `{${m.registry.prefix}}:live`;
    for (const [field, value] of Object.entries(await direct.hgetall(live))) {
      await direct.hset(live, field, value.replace(/^\d+/, "1"));
    }
    expect(await billed(() => m.registry.metrics())).toEqual({
      evalsha: 1,
      time: 1,
      hscan: 2,
      hdel: 2,
    });
  });

  it("a store larger than a page: one EVALSHA and its HSCANs per page, one TIME per scrape", async () => {
    const m = await warmRegistry();
    const paged = new Registry({
      redis: new Redis({ url: stack.url, token: stack.token }),
      prefix: m.registry.prefix,
      maxRequestBytes: 8192,
    });
    const counter = new Counter({
      name: "c_total",
      help: "c",
      labelNames: ["k"],
      registers: [paged],
    });
    for (let i = 0; i < 2000; i++) counter.inc({ k: `series-${i}` });
    await paged.flush();
    await paged.metrics();
    const counts = await billed(() => paged.metrics());
    const { pages } = paged.storeStats;
    expect(pages).toBeGreaterThan(20);
    expect(counts.evalsha).toBe(pages);
    expect(counts.time).toBe(1);
    // At least one HSCAN per page, and few more: each asks for what fills the page.
    expect(counts.hscan).toBeGreaterThanOrEqual(pages);
    expect(counts.hscan).toBeLessThanOrEqual(2 * pages + 2);
    expect(Object.keys(counts).sort()).toEqual(["evalsha", "hscan", "time"]);
  });
});
