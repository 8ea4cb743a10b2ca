// A scrape at any size and any age: pages under the request bound, series that leave when no
// instance writes them, and a bound on the series one metric holds across all instances. All
// against the real redis-server through the local Upstash server, with a small
// maxRequestBytes so a few thousand series take many pages.
import { describe, expect, it } from "vitest";
import { Counter, Gauge, Histogram, Registry, Summary } from "../../src/index.ts";
import { parseChecked, sampleValue } from "../helpers/exposition.ts";
import { decodeFamilies } from "../helpers/protobuf.ts";
import { directRedis, recordingServer, uniquePrefix } from "../helpers/stack.ts";

const direct = directRedis();
const SMALL = 16 * 1024;
// A local Upstash server of this file's own that refuses, as Upstash does at 10 MB, any reply
// over SMALL bytes as sent (base64 and the JSON envelope included).
const limited = recordingServer({ limits: { maxReplyBytes: SMALL } });

function registryFor(
  prefix: string,
  options: Partial<ConstructorParameters<typeof Registry>[0] & object> = {},
) {
  const errors: unknown[] = [];
  const registry = new Registry({
    redis: limited.client(),
    prefix,
    maxRequestBytes: SMALL,
    onError: (e) => errors.push(e),
    ...options,
  });
  return { registry, errors };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a paged scrape", () => {
  it("reads thousands of series of every type in pages under maxRequestBytes, each exactly once", async () => {
    const prefix = uniquePrefix("paged");
    const { registry, errors } = registryFor(prefix);
    const labelNames = ["method", "route", "status"];
    const c = new Counter({ name: "req_total", help: "r", labelNames, registers: [registry] });
    const h = new Histogram({
      name: "dur",
      help: "d",
      labelNames,
      native: true,
      registers: [registry],
    });
    const g = new Gauge({ name: "g", help: "g", labelNames: ["i"], registers: [registry] });
    const s = new Summary({ name: "s", help: "s", labelNames: ["i"], registers: [registry] });
    const N = 1500;
    const expected = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const labels = { method: i % 2 ? "GET" : "POST", route: `/r/${i}`, status: "200" };
      for (let k = 0; k <= i % 3; k++) {
        c.inc(labels);
        h.observe(labels, 0.001 * (1 + (i % 50)) * (k + 1));
      }
      expected.set(`/r/${i}`, (i % 3) + 1);
      if (i < 300) {
        g.set({ i: String(i) }, i);
        s.observe({ i: String(i) }, i);
      }
    }
    await registry.flush();
    expect(errors).toEqual([]);

    const text = await registry.metrics();
    const stats = registry.storeStats;
    expect(stats.pages).toBeGreaterThan(10);
    // Each reply as sent (base64: 4/3 of the string) stays under the bound.
    expect(Math.ceil((stats.largestReplyChars * 4) / 3)).toBeLessThanOrEqual(SMALL);
    expect(stats.storedSeries).toMatchObject({ req_total: N, dur: N, s: 300 });

    const families = parseChecked(text);
    for (const [route, n] of expected) {
      const labels = { method: Number(route.slice(3)) % 2 ? "GET" : "POST", route, status: "200" };
      expect(sampleValue(families, "req_total", labels)).toBe(n);
      expect(sampleValue(families, "dur_count", labels)).toBe(n);
    }
    const series = families.find((f) => f.name === "req_total")!.samples;
    expect(series).toHaveLength(N);
    for (let i = 0; i < 300; i++) {
      expect(sampleValue(families, "g", { i: String(i) })).toBe(i);
      expect(sampleValue(families, "s_count", { i: String(i) })).toBe(1);
    }

    // OpenMetrics and protobuf read the same pages.
    const om = parseChecked(await registry.metrics(Registry.OPENMETRICS_CONTENT_TYPE));
    expect(
      om.find((f) => f.name === "req")!.samples.filter((x) => x.name === "req_total"),
    ).toHaveLength(N);
    const proto = decodeFamilies(await registry.metricsProtobuf());
    const dur = proto.find((f) => f.name === "dur") as {
      metric: { histogram?: { positiveSpan?: unknown[] } }[];
    };
    expect(dur.metric).toHaveLength(N);
    let natives = 0;
    for (const m of dur.metric) if ((m.histogram?.positiveSpan?.length ?? 0) > 0) natives++;
    expect(natives).toBe(N);
  });

  it("a page the server refuses as too large is read again in smaller pages", async () => {
    const prefix = uniquePrefix("shrink");
    // The registry believes replies may reach 256 KiB; the server allows 16 KiB.
    const { registry, errors } = registryFor(prefix, { maxRequestBytes: 256 * 1024 });
    const c = new Counter({ name: "c", help: "c", labelNames: ["i"], registers: [registry] });
    for (let i = 0; i < 3000; i++) c.inc({ i: `series-${i}` }, i);
    await registry.flush();
    const families = parseChecked(await registry.metrics());
    expect(families.find((f) => f.name === "c")!.samples).toHaveLength(3000);
    expect(sampleValue(families, "c", { i: "series-2999" })).toBe(2999);
    expect(registry.storeStats.pages).toBeGreaterThan(5);
    expect(errors).toEqual([]);
  });

  it("a counter never reads lower than an earlier scrape showed, while flushes go on", async () => {
    const prefix = uniquePrefix("monotonic");
    const { registry } = registryFor(prefix);
    const writer = registryFor(prefix).registry;
    const c = new Counter({ name: "c", help: "c", labelNames: ["i"], registers: [registry] });
    const w = new Counter({ name: "c", help: "c", labelNames: ["i"], registers: [writer] });
    for (let i = 0; i < 800; i++) c.inc({ i: String(i) });
    await registry.flush();
    let last = new Map<string, number>();
    let stop = false;
    const writing = (async () => {
      for (let round = 0; !stop && round < 200; round++) {
        // New series and old ones, so pages see the hash grow and rehash under them.
        for (let i = 0; i < 100; i++) w.inc({ i: String((round * 37 + i * 13) % 2000) });
        await writer.flush();
      }
    })();
    for (let scrape = 0; scrape < 8; scrape++) {
      const samples = parseChecked(await registry.metrics()).find((f) => f.name === "c")!.samples;
      const now = new Map(samples.map((x) => [x.labels.i!, x.value]));
      expect(now.size).toBe(samples.length); // no series twice
      for (const [i, v] of last) expect(now.get(i)).toBeGreaterThanOrEqual(v);
      last = now;
    }
    stop = true;
    await writing;
  });
});

describe("retention (seriesTtlMs)", () => {
  it("series no instance writes leave Redis and the scrape; active ones stay; orphans leave too", async () => {
    const prefix = uniquePrefix("ttl");
    const ttl = 2000;
    const old = registryFor(prefix, { seriesTtlMs: ttl }).registry;
    new Counter({
      name: "gone_total",
      help: "a metric defined nowhere any more",
      registers: [old],
    }).inc();
    const oldHist = new Histogram({
      name: "h",
      help: "h",
      labelNames: ["a"],
      buckets: [1, 2],
      registers: [old],
    });
    oldHist.observe({ a: "x" }, 1);
    await old.flush();

    const { registry } = registryFor(prefix, { seriesTtlMs: ttl });
    const c = new Counter({ name: "c_total", help: "c", labelNames: ["k"], registers: [registry] });
    // New buckets and new labelNames: the old layout and label sets are orphans.
    const h = new Histogram({
      name: "h",
      help: "h",
      labelNames: ["b"],
      buckets: [5],
      registers: [registry],
    });
    c.inc({ k: "idle" });
    c.inc({ k: "busy" });
    await registry.flush();
    for (let t = 0; t < 8; t++) {
      await sleep(500);
      c.inc({ k: "busy" });
      h.observe({ b: "y" }, 3);
      await registry.flush();
    }
    const text = await registry.metrics();
    const families = parseChecked(text);
    expect(sampleValue(families, "c_total", { k: "busy" })).toBe(9);
    expect(sampleValue(families, "c_total", { k: "idle" })).toBeUndefined();
    expect(sampleValue(families, "h_count", { b: "y" })).toBe(8);
    expect(text).not.toContain('a="x"');
    const fields = Object.keys(await direct.hgetall(`{${prefix}}:sums`)).filter(
      (f) => !f.startsWith("w") && !f.startsWith("~"),
    );
    expect(fields.some((f) => f.includes("idle"))).toBe(false);
    expect(fields.some((f) => f.startsWith("cgone_total"))).toBe(false);
    expect(fields.some((f) => f.includes('["x"]'))).toBe(false);
    // What stays: the busy counter, the current histogram series and its layout.
    expect(fields).toHaveLength(3);
    expect(fields).toContain('cc_total["busy"]');
    expect(fields.filter((f) => /^H/.test(f) || /^hh#\w+\["y"\]$/.test(f))).toHaveLength(2);
    expect(registry.storeStats.storedSeries).toEqual({ c_total: 1, h: 1 });
  });

  it("with no scrape for an hour, flushes prune idle series instead", async () => {
    const prefix = uniquePrefix("ttl-flush");
    const { registry } = registryFor(prefix, { seriesTtlMs: 1000 });
    const c = new Counter({ name: "c", help: "c", labelNames: ["k"], registers: [registry] });
    for (let i = 0; i < 50; i++) c.inc({ k: `idle${i}` });
    await registry.flush();
    await sleep(2100);
    await direct.hset(`{${prefix}}:sums`, "~j", String(Date.now() - 2 * 3_600_000));
    c.inc({ k: "busy" });
    await registry.flush();
    const fields = Object.keys(await direct.hgetall(`{${prefix}}:sums`));
    expect(fields.filter((f) => f.startsWith("cc["))).toEqual(['cc["busy"]']);
    expect(await direct.hget(`{${prefix}}:sums`, "~ncc")).toBe("1");
    expect(Number(await direct.hget(`{${prefix}}:sums`, "~j"))).toBeGreaterThan(
      Date.now() - 60_000,
    );
  });

  it("seriesTtlMs: 0 keeps series forever; values below a second are refused", async () => {
    expect(() => new Registry({ seriesTtlMs: 500 })).toThrow(
      /seriesTtlMs must be an integer ≥ 1000/,
    );
    expect(() => new Registry({ seriesTtlMs: -1 })).toThrow(/seriesTtlMs must be an integer ≥ 0/);
    expect(() => new Registry({ maxRequestBytes: 20_000_000 })).toThrow(/at most 10000000/);
    const prefix = uniquePrefix("ttl-0");
    const { registry } = registryFor(prefix, { seriesTtlMs: 0 });
    new Counter({ name: "c", help: "c", registers: [registry] }).inc();
    await registry.flush();
    // Stamped far in the past: still kept.
    await direct.hset(`{${prefix}}:sums`, "c[]", "1|1");
    expect(sampleValue(parseChecked(await registry.metrics()), "c", {})).toBe(1);
  });
});

describe("a global bound on the series of one metric (maxStoredSeriesPerMetric)", () => {
  it("many instances adding new label values: Redis holds at most the bound, every refusal is counted", async () => {
    const prefix = uniquePrefix("bound");
    const BOUND = 40;
    const instances = Array.from({ length: 6 }, () => {
      const { registry, errors } = registryFor(prefix, { maxStoredSeriesPerMetric: BOUND });
      return {
        registry,
        errors,
        counter: new Counter({ name: "c", help: "c", labelNames: ["user"], registers: [registry] }),
        hist: new Histogram({
          name: "h",
          help: "h",
          labelNames: ["user"],
          native: true,
          registers: [registry],
        }),
      };
    });
    let attempted = 0;
    for (let round = 0; round < 4; round++) {
      instances.forEach((x, i) => {
        for (let k = 0; k < 5; k++) {
          x.counter.inc({ user: `u${round}-${i}-${k}` });
          x.hist.observe({ user: `u${round}-${i}-${k}` }, 0.5);
          attempted++;
        }
        // An existing series keeps being written.
        x.counter.inc({ user: "u0-0-0" });
      });
      await Promise.all(instances.map((x) => x.registry.flush()));
    }
    const sums = await direct.hgetall(`{${prefix}}:sums`);
    const counters = Object.keys(sums).filter((f) => f.startsWith("cc["));
    const classic = Object.keys(sums).filter((f) => f.startsWith("hh#"));
    const natives = Object.keys(sums).filter((f) => f.startsWith("nh["));
    expect(counters).toHaveLength(BOUND);
    expect(classic).toHaveLength(BOUND);
    expect(natives).toHaveLength(BOUND);
    expect(sums["~ncc"]).toBe(String(BOUND));
    const refused = instances.reduce((n, x) => n + x.registry.stats.droppedUpdates, 0);
    // Each refused label set drops one counter update and one histogram observation.
    expect(refused).toBe(2 * (attempted - BOUND));
    // The self-metrics of the last refusals ride along with each instance's next flush.
    await Promise.all(instances.map((x) => x.registry.flush()));
    const text = await instances[0]!.registry.metrics();
    const families = parseChecked(text);
    expect(sampleValue(families, "c", { user: "u0-0-0" })).toBe(1 + 4 * 6);
    const selfDropped = families
      .find((f) => f.name === "prometheus_upstash_dropped_updates_total")
      ?.samples.find((x) => x.labels.reason === "global_series_limit")?.value;
    expect(selfDropped).toBe(2 * (attempted - BOUND));
    const reported = instances.flatMap((x) => x.errors).map(String);
    expect(reported.length).toBeGreaterThan(0);
    expect(reported.every((e) => /maxStoredSeriesPerMetric/.test(e) && /\bc\b|\bh\b/.test(e))).toBe(
      true,
    );
  });
});
