// The write path against a real redis-server (through the local Upstash server): exact sums,
// values refused at the call or by Redis without losing the rest of a flush, all-or-nothing
// script calls, no TTL and no key per flush, pruning of what dead writers leave behind.
import { describe, expect, it } from "vitest";
import { Counter, Gauge, Histogram, Registry, Summary } from "../../src/index.ts";
import { parseChecked, sampleValue } from "../helpers/exposition.ts";
import { directRedis, newClient, recordingServer, uniquePrefix } from "../helpers/stack.ts";

const direct = directRedis();

function registryFor(prefix: string, errors: unknown[] = []): Registry {
  return new Registry({ redis: newClient(), prefix, onError: (e) => errors.push(e) });
}

async function scrape(registry: Registry) {
  return parseChecked(await registry.metrics());
}

describe("sums are exact", () => {
  const VALUES = [
    5e-324,
    1e-300,
    1e-20,
    1e-17,
    0.1,
    1 / 3,
    2 / 3,
    123_456_789.123_456_79,
    2 ** 53 + 2,
    1e300,
    Number.MAX_VALUE / 4,
  ];

  it("reads back every value written, from 5e-324 to 1e308, in every type", async () => {
    const prefix = uniquePrefix("exact");
    const registry = registryFor(prefix);
    const c = new Counter({ name: "c", help: "c", labelNames: ["i"], registers: [registry] });
    const g = new Gauge({ name: "g", help: "g", labelNames: ["i"], registers: [registry] });
    const h = new Histogram({ name: "h", help: "h", labelNames: ["i"], registers: [registry] });
    const s = new Summary({ name: "s", help: "s", labelNames: ["i"], registers: [registry] });
    VALUES.forEach((v, i) => {
      const labels = { i: String(i) };
      c.inc(labels, v);
      g.set(labels, -v);
      h.observe(labels, v);
      // A summary refuses subnormal magnitudes (no sketch bucket stands for them within α).
      if (v >= 1e-307) s.observe(labels, v);
    });
    await registry.flush();
    const families = await scrape(registry);
    VALUES.forEach((v, i) => {
      const labels = { i: String(i) };
      expect(sampleValue(families, "c", labels)).toBe(v);
      expect(sampleValue(families, "g", labels)).toBe(-v);
      expect(sampleValue(families, "h_sum", labels)).toBe(v);
      if (v >= 1e-307) expect(sampleValue(families, "s_sum", labels)).toBe(v);
    });
  });

  it("adds across flushes exactly as JavaScript adds (increments below 1e-17 are kept)", async () => {
    const prefix = uniquePrefix("exact-sum");
    const registry = registryFor(prefix);
    const c = new Counter({ name: "tiny", help: "t", registers: [registry] });
    let model = 0;
    for (const v of [1e-20, 3e-21, 7e-300, 1e-18, 5e-324]) {
      c.inc(v);
      model += v;
      await registry.flush();
    }
    expect(model).toBeCloseTo(1.013e-18, 30); // not 0, as HINCRBYFLOAT's 17 decimals made it
    expect(sampleValue(await scrape(registry), "tiny")).toBe(model);
  });
});

describe("values that cannot be stored", () => {
  it("refuses at the call an increment whose pending sum would overflow; the rest is written", async () => {
    const prefix = uniquePrefix("poison-call");
    const errors: unknown[] = [];
    const registry = registryFor(prefix, errors);
    const big = new Counter({ name: "big", help: "b", registers: [registry] });
    const other = new Counter({ name: "other", help: "o", registers: [registry] });
    const hist = new Histogram({ name: "hist", help: "h", registers: [registry] });
    big.inc(1e308);
    expect(() => big.inc(1e308)).toThrow(/would overflow/);
    hist.observe(1e308);
    expect(() => hist.observe(1e308)).toThrow(/would overflow/);
    other.inc();
    await registry.flush();
    const families = await scrape(registry);
    expect(sampleValue(families, "big")).toBe(1e308);
    expect(sampleValue(families, "hist_count")).toBe(1);
    expect(sampleValue(families, "other")).toBe(1);
    expect(registry.stats).toMatchObject({ duplicateBatches: 0, droppedUpdates: 0 });
    expect(errors).toEqual([]);
  });

  it("a stored sum Redis cannot make finite is refused and reported; the rest of the flush is written", async () => {
    const prefix = uniquePrefix("poison-redis");
    const errors: unknown[] = [];
    const registry = registryFor(prefix, errors);
    const big = new Counter({ name: "big", help: "b", registers: [registry] });
    const other = new Counter({ name: "other", help: "o", registers: [registry] });
    big.inc(1e308);
    await registry.flush();
    big.inc(1e308); // fine in this isolate; Infinity only once added to what Redis holds
    other.inc();
    await registry.flush();
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/refused 1 update\(s\) of cbig\[\]/);
    expect(registry.stats).toMatchObject({ droppedUpdates: 1, failedFlushes: 0 });
    await registry.flush(); // writes the drop count
    const families = await scrape(registry);
    expect(sampleValue(families, "big")).toBe(1e308);
    expect(sampleValue(families, "other")).toBe(1);
    expect(
      sampleValue(families, "prometheus_upstash_dropped_updates_total", { reason: "overflow" }),
    ).toBe(1);
  });

  it("refuses a gauge expire no store could keep at definition time", () => {
    const registry = new Registry({ prefix: uniquePrefix("expire") });
    expect(
      () => new Gauge({ name: "g", help: "g", expire: 2 ** 50, registers: [registry] }),
    ).toThrow(/at most 31536000 s/);
  });
});

describe("bounds", () => {
  it("a flush larger than maxPendingBytes is still written whole when Redis is healthy", async () => {
    const prefix = uniquePrefix("big-flush");
    const errors: unknown[] = [];
    const registry = new Registry({
      redis: newClient(),
      prefix,
      onError: (e) => errors.push(e),
      maxPendingBytes: 2_000,
      maxRequestBytes: 4_000,
    });
    const c = new Counter({ name: "c", help: "c", labelNames: ["k"], registers: [registry] });
    for (let i = 0; i < 500; i++) c.inc({ k: `series-${i}` });
    await registry.flush();
    expect(registry.stats).toMatchObject({ droppedUpdates: 0, failedFlushes: 0, pendingBytes: 0 });
    expect(errors).toEqual([]);
    const families = await scrape(registry);
    expect(families.find((f) => f.name === "c")!.samples).toHaveLength(500);
  });
});

describe("one script call is all or nothing", () => {
  it("a failed call claims nothing: once Redis works again, every update is applied once", async () => {
    const prefix = uniquePrefix("atomic");
    const errors: unknown[] = [];
    const registry = new Registry({
      redis: newClient(),
      prefix,
      onError: (e) => errors.push(e),
      retries: 0,
    });
    const c = new Counter({ name: "c", help: "c", registers: [registry] });
    const g = new Gauge({ name: "g", help: "g", registers: [registry] });
    // Someone else's value where the gauges live: the script's reads fail before any write.
    await direct.set(`{${prefix}}:live`, "not a hash");
    c.inc(5);
    g.set(2);
    await registry.flush();
    expect(registry.stats.failedFlushes).toBe(1);
    expect(String((errors[0] as Error).cause)).toMatch(/WRONGTYPE/);
    expect(await direct.hget(`{${prefix}}:sums`, "cc[]")).toBeNull();
    await direct.del(`{${prefix}}:live`);
    c.inc(1);
    await registry.flush();
    await registry.flush();
    const families = await scrape(registry);
    expect(sampleValue(families, "c")).toBe(6);
    expect(sampleValue(families, "g")).toBe(2);
  });

  it("a field someone corrupted is refused alone; the other fields of the flush are written", async () => {
    const prefix = uniquePrefix("corrupt");
    const errors: unknown[] = [];
    const registry = registryFor(prefix, errors);
    const c = new Counter({ name: "c", help: "c", labelNames: ["k"], registers: [registry] });
    c.inc({ k: "a" });
    c.inc({ k: "b" });
    await registry.flush();
    await direct.hset(`{${prefix}}:sums`, 'cc["a"]', "not a number");
    c.inc({ k: "a" });
    c.inc({ k: "b" });
    await registry.flush();
    expect(errors.map(String)).toEqual([
      expect.stringMatching(/refused 1 update\(s\) of cc\["a"\]/),
    ]);
    expect(sampleValue(await scrape(registry), "c", { k: "b" })).toBe(2);
  });
});

describe("storage", () => {
  it("uses two keys per prefix, without TTL, and no key per flush", async () => {
    const prefix = uniquePrefix("keys");
    const registry = registryFor(prefix);
    const c = new Counter({ name: "c", help: "c", registers: [registry] });
    const g = new Gauge({ name: "g", help: "g", registers: [registry] });
    const h = new Histogram({ name: "h", help: "h", registers: [registry] });
    const s = new Summary({ name: "s", help: "s", registers: [registry] });
    for (let i = 0; i < 20; i++) {
      c.inc();
      g.set(i);
      h.observe(i);
      s.observe(i);
      await registry.flush();
    }
    await registry.metrics();
    const keys = (await direct.keys(`{${prefix}}*`)).sort();
    expect(keys).toEqual([`{${prefix}}:live`, `{${prefix}}:sums`]);
    for (const key of keys) expect(await direct.pttl(key)).toBe(-1);
  });

  it("keeps a histogram and a summary of one name apart (two deployments, one prefix)", async () => {
    const prefix = uniquePrefix("apart");
    const a = registryFor(prefix);
    const b = registryFor(prefix);
    const h = new Histogram({ name: "x", help: "x", registers: [a] });
    const s = new Summary({ name: "x", help: "x", registers: [b] });
    h.observe(1);
    s.observe(100);
    await a.flush();
    await b.flush();
    expect(sampleValue(await scrape(a), "x_sum")).toBe(1);
    expect(sampleValue(await scrape(b), "x_sum")).toBe(100);
  });

  it("maps a histogram written under other buckets onto the current ones", async () => {
    const prefix = uniquePrefix("layout");
    const before = registryFor(prefix);
    const after = registryFor(prefix);
    const old = new Histogram({ name: "h", help: "h", buckets: [1, 2, 3], registers: [before] });
    const now = new Histogram({ name: "h", help: "h", buckets: [1.5, 3], registers: [after] });
    for (const v of [0.5, 1.5, 2.5, 9]) old.observe(v);
    now.observe(1);
    await before.flush();
    await after.flush();
    const families = await scrape(after);
    // old buckets le=1 → 1.5, le=2 → 3, le=3 → 3, +Inf → +Inf; plus the new observation at 1.
    expect(sampleValue(families, "h_bucket", { le: "1.5" })).toBe(2);
    expect(sampleValue(families, "h_bucket", { le: "3" })).toBe(4);
    expect(sampleValue(families, "h_bucket", { le: "+Inf" })).toBe(5);
    expect(sampleValue(families, "h_count")).toBe(5);
    expect(sampleValue(families, "h_sum")).toBe(14.5);
  });
});

describe("pruning what dead writers leave", () => {
  it("a scrape deletes expired gauge values and the dedup records of dead writers", async () => {
    const prefix = uniquePrefix("prune");
    const reader = registryFor(prefix);
    const dead = registryFor(prefix);
    const g = new Gauge({ name: "g", help: "g", registers: [dead] });
    g.set(7);
    await dead.flush();
    const sums = `{${prefix}}:sums`;
    const live = `{${prefix}}:live`;
    const writers = Object.keys(await direct.hgetall(sums)).filter((f) => f.startsWith("w"));
    expect(writers).toHaveLength(1);
    // Make the writer and its gauge values look long dead (their deadlines in the past).
    for (const [field, value] of Object.entries(await direct.hgetall(live))) {
      await direct.hset(live, field, value.replace(/^\d+/, "1"));
    }
    new Gauge({ name: "g", help: "g", registers: [reader] });
    expect(sampleValue(await scrape(reader), "g")).toBe(0);
    expect(await direct.hgetall(live)).toEqual({});
    expect(Object.keys(await direct.hgetall(sums)).filter((f) => f.startsWith("w"))).toEqual([]);
  });

  it("with no scrape for an hour, a flush prunes instead", async () => {
    const prefix = uniquePrefix("prune-flush");
    const dead = registryFor(prefix);
    const writer = registryFor(prefix);
    new Gauge({ name: "g", help: "g", registers: [dead] }).set(1);
    await dead.flush();
    const live = `{${prefix}}:live`;
    for (const [field, value] of Object.entries(await direct.hgetall(live))) {
      await direct.hset(live, field, value.replace(/^\d+/, "1"));
    }
    await direct.hset(`{${prefix}}:sums`, "~j", String(Date.now() - 2 * 3_600_000));
    new Counter({ name: "c", help: "c", registers: [writer] }).inc();
    await writer.flush();
    const left = Object.keys(await direct.hgetall(live));
    expect(left.filter((f) => f.startsWith("g"))).toEqual([]);
    expect(left.filter((f) => f.startsWith("l"))).toHaveLength(1); // the live writer's own
    expect(Number(await direct.hget(`{${prefix}}:sums`, "~j"))).toBeGreaterThan(
      Date.now() - 60_000,
    );
  });
});

describe("bounded script calls", () => {
  const recording = recordingServer();

  it("a flush touching more than 4,000 series fields goes in requests of at most 4,000, all applied", async () => {
    const prefix = uniquePrefix("fields-cap");
    const registry = new Registry({
      redis: recording.client(),
      prefix,
      maxSeriesPerMetric: 20_000,
    });
    const c = new Counter({ name: "c", help: "c", labelNames: ["i"], registers: [registry] });
    for (let i = 0; i < 9000; i++) c.inc({ i: String(i) }, i);
    const requests = await recording.during(() => registry.flush());
    const writes = requests.filter((r) => JSON.stringify(r.commands).includes('"cc['));
    expect(writes.length).toBe(3);
    for (const r of writes) {
      const fields = r.commands[0]!.filter((a) => String(a).startsWith("cc[")).length;
      expect(fields).toBeLessThanOrEqual(4000);
    }
    const families = await scrape(registry);
    expect(families.find((f) => f.name === "c")!.samples).toHaveLength(9000);
    expect(sampleValue(families, "c", { i: "8999" })).toBe(8999);
  });
});
