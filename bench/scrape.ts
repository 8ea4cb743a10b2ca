// Scrape: time of registry.metrics() for 1k, 10k and 100k series (half counter series, half
// gauge series) written by 10 or 100 instances, against prom-client's in-memory
// registry.metrics() holding the same series; HTTP requests and bytes per scrape; Redis memory
// per series (MEMORY USAGE summed over the keys) against the seed's one-string-key-per-series
// layout.
//
// The seed layout (prometheus-aioredis-client): one string key per series named by the metric
// name and its labels (its README lists a metric's keys with `keys <metric>*`), gauges with a
// `gauge_index` label per process and an expiry. We build those keys as
// `<metric>:<JSON of the sorted label set>` — the closest faithful reading of the README.
import { Redis } from "@upstash/redis";
import * as prom from "prom-client";
import { HONO_DURATION_BUCKETS } from "../src/adapters/hono.ts";
import { Counter, Gauge, type RedisClient, Registry } from "../src/index.ts";
import { HONO_LABELS, honoMetrics } from "./lib/hono-metrics.ts";
import { mulberry32 } from "./lib/prng.ts";
import { fmt, printTable, ratio, writeResults } from "./lib/report.ts";
import { type BenchStack, startBenchStack } from "./lib/stack.ts";
import { barChart } from "./lib/svg.ts";
import { median, timeRuns } from "./lib/timing.ts";

const SERIES = (process.env["BENCH_SCRAPE_SERIES"] ?? "1000,10000,100000").split(",").map(Number);
const INSTANCES = [10, 100];
/** Which parts run: "counters" (counters and gauges, memory, the seed layout), "hono". */
const PARTS = (process.env["BENCH_SCRAPE_PARTS"] ?? "counters,hono").split(",");
const PREFIX = "scrape";
const COUNTER = "bench_requests_total";
const GAUGE = "bench_in_flight";
const LABELS = ["shard", "id"] as const;
const SHARDS = 16;

/** Label values of series number `id`; even ids are counter series, odd ids gauge series. */
const labelsOf = (id: number) => ({ shard: `shard-${id % SHARDS}`, id: `series-${id}` });
/** Which instance writes series `id`: both kinds spread evenly over the instances. */
const instanceOf = (id: number, instances: number) => Math.floor(id / 2) % instances;

/** Timed scrapes per configuration (after one warm-up), fewer for the big ones. */
const repetitions = (n: number) => (n >= 100_000 ? 3 : n >= 10_000 ? 5 : 15);

function defineOurs(registry: Registry) {
  return {
    counter: new Counter({
      name: COUNTER,
      help: "Requests",
      labelNames: LABELS,
      registers: [registry],
    }),
    gauge: new Gauge({
      name: GAUGE,
      help: "In flight",
      labelNames: LABELS,
      registers: [registry],
      expire: 3600, // the bench must not race the expiry of the values it reads
    }),
  };
}

/**
 * The CPU side of a scrape alone: a client that answers the read script with `reply` (captured
 * from a real scrape), so metrics() runs decode, collect and render with no HTTP and no Redis.
 */
function replaying(reply: unknown): RedisClient {
  const answer = async () => reply;
  return { eval: answer, evalsha: answer } as unknown as RedisClient;
}

/**
 * A client that records the read replies of the last scrape of the real one, as one reply (the
 * pages' lines under the first page's header, marked as the last page).
 */
function recording(redis: Redis): { client: RedisClient; last: () => unknown } {
  let pages: string[] = [];
  const keep = (args: unknown[], reply: unknown) => {
    if (typeof reply === "string" && reply.startsWith("#")) {
      if ((args[0] as string[] | undefined)?.[0] === "s0") pages = [];
      pages.push(reply);
    }
    return reply;
  };
  const client = {
    eval: async (script: string, keys: string[], args: string[]) =>
      keep([args], await redis.eval(script, keys, args)),
    evalsha: async (sha: string, keys: string[], args: string[]) =>
      keep([args], await redis.evalsha(sha, keys, args)),
  } as unknown as RedisClient;
  const last = () => {
    const [first = "#0 . -", ...rest] = pages;
    const cut = first.indexOf("\n");
    const [now] = (cut < 0 ? first : first.slice(0, cut)).split(" ");
    const lines = [first, ...rest].map((page) => {
      const at = page.indexOf("\n");
      return at < 0 ? "" : page.slice(at + 1);
    });
    return [`${now} . -`, ...lines.filter((l) => l !== "")].join("\n");
  };
  return { client, last };
}

/** Sum of MEMORY USAGE (exact: SAMPLES 0) over the keys matching `pattern`. */
async function memoryOf(
  stack: BenchStack,
  pattern: string,
): Promise<{ keys: number; bytes: number }> {
  let cursor = "0";
  let keys = 0;
  let bytes = 0;
  do {
    const [next, found] = await stack.redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    for (const key of found) {
      keys++;
      bytes += Number((await stack.redis.call("MEMORY", "USAGE", key, "SAMPLES", "0")) ?? 0);
    }
  } while (cursor !== "0");
  return { keys, bytes };
}

/** Writes N series the way the seed did: one string key each, gauges per process with expiry. */
async function writeSeedLayout(stack: BenchStack, n: number, instances: number): Promise<void> {
  const sortedJson = (labels: Record<string, string>) =>
    JSON.stringify(
      Object.fromEntries(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b))),
    );
  for (let start = 0; start < n; start += 5000) {
    const pipeline = stack.redis.pipeline();
    for (let id = start; id < Math.min(n, start + 5000); id++) {
      if (id % 2 === 0) {
        pipeline.set(`${COUNTER}:${sortedJson(labelsOf(id))}`, String(id % 97));
      } else {
        const gaugeIndex = String(instanceOf(id, instances));
        pipeline.set(
          `${GAUGE}:${sortedJson({ ...labelsOf(id), gauge_index: gaugeIndex })}`,
          "1",
          "EX",
          3600,
        );
      }
    }
    await pipeline.exec();
  }
}

interface Row {
  series: number;
  instances: number;
  oursMs: number;
  /** metrics() on the replayed read reply: decode, collect and render, no I/O. */
  renderMs: number;
  promClientMs: number;
  requestsPerScrape: number;
  responseBytes: number;
  exposedSamples: number;
  redisKeys: number;
  bytesPerSeries: number;
  seedKeys: number;
  seedBytesPerSeries: number;
}

/** Observations per label set of the Hono metrics (lognormal latencies, median 50 ms). */
const HONO_OBSERVATIONS = 5;

interface HonoRow {
  labelSets: number;
  textMs: number;
  protobufMs: number;
  promClientMs: number;
}

/**
 * The Hono middleware's metrics at N label sets: metrics() (text) and metricsProtobuf() on the
 * read reply replayed in process, against prom-client's metrics() with the same two metrics
 * (classic buckets only: prom-client has no native histograms) and the same observations.
 */
async function honoCpu(stack: BenchStack, n: number): Promise<HonoRow> {
  await stack.redis.flushall();
  const prefix = "scrape-hono";
  const labels = (i: number) => ({ method: "GET", status: "200", ok: "true", route: `/r/${i}` });
  const random = mulberry32(n);
  const latency = () =>
    0.05 *
    Math.exp(0.5 * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
  const values = Array.from({ length: n * HONO_OBSERVATIONS }, latency);
  const promRegistry = new prom.Registry();
  const promTotal = new prom.Counter({
    name: "http_requests_total",
    help: "Total number of HTTP requests",
    labelNames: HONO_LABELS,
    registers: [promRegistry],
  });
  const promDuration = new prom.Histogram({
    name: "http_request_duration_seconds",
    help: "Duration of HTTP requests in seconds",
    labelNames: HONO_LABELS,
    buckets: [...HONO_DURATION_BUCKETS],
    registers: [promRegistry],
  });
  // Instances of 5,000 label sets each, so no flush passes the request size limit.
  for (let start = 0; start < n; start += 5000) {
    const registry = new Registry({
      redis: new Redis({ url: stack.url, token: stack.token }),
      prefix,
      onError: (e) => {
        throw e;
      },
    });
    const { requests: total, duration } = honoMetrics(registry);
    for (let i = start; i < Math.min(n, start + 5000); i++) {
      for (let k = 0; k < HONO_OBSERVATIONS; k++) {
        const v = values[i * HONO_OBSERVATIONS + k]!;
        total.inc(labels(i));
        duration.observe(labels(i), v);
        promTotal.inc(labels(i));
        promDuration.observe(labels(i), v);
      }
    }
    await registry.flush();
  }
  const recorder = recording(new Redis({ url: stack.url, token: stack.token }));
  // A long timeout: one read of 100k label sets takes seconds in Redis (issue 19).
  const capturing = new Registry({ redis: recorder.client, prefix, timeoutMs: 120_000 });
  honoMetrics(capturing);
  await capturing.metrics();
  const offline = new Registry({ redis: replaying(recorder.last()), prefix });
  honoMetrics(offline);
  const reps = repetitions(n);
  return {
    labelSets: n,
    textMs: median(await timeRuns(reps, () => offline.metrics())),
    protobufMs: median(await timeRuns(reps, () => offline.metricsProtobuf())),
    promClientMs: median(await timeRuns(reps, () => promRegistry.metrics())),
  };
}

async function main(): Promise<void> {
  const stack = await startBenchStack();
  const rows: Row[] = [];
  const honoRows: HonoRow[] = [];
  try {
    for (const n of PARTS.includes("hono") ? SERIES : []) {
      honoRows.push(await honoCpu(stack, n));
      console.log(`Hono metrics, ${n} label sets done`);
    }
    // Load both scripts into Redis' script cache first, so no memory figure includes them.
    const warm = new Registry({
      redis: new Redis({ url: stack.url, token: stack.token }),
      prefix: "warm",
    });
    defineOurs(warm).counter.inc(labelsOf(0));
    await warm.flush();
    await warm.metrics();

    for (const n of PARTS.includes("counters") ? SERIES : []) {
      // prom-client holds the same N series in memory; its scrape does not depend on instances.
      const promRegistry = new prom.Registry();
      const promCounter = new prom.Counter({
        name: COUNTER,
        help: "Requests",
        labelNames: LABELS,
        registers: [promRegistry],
      });
      const promGauge = new prom.Gauge({
        name: GAUGE,
        help: "In flight",
        labelNames: LABELS,
        registers: [promRegistry],
      });
      for (let id = 0; id < n; id++) {
        if (id % 2 === 0) promCounter.inc(labelsOf(id), id % 97);
        else promGauge.set(labelsOf(id), 1);
      }
      const promTimes = await timeRuns(repetitions(n), () => promRegistry.metrics());

      for (const instances of INSTANCES) {
        await stack.redis.flushall();
        // Each instance (an isolate) writes its share of the series and flushes once.
        for (let j = 0; j < instances; j++) {
          const registry = new Registry({
            redis: new Redis({ url: stack.url, token: stack.token }),
            prefix: PREFIX,
            instanceId: `isolate-${j}`,
            onError: (e) => {
              throw e;
            },
          });
          const { counter, gauge } = defineOurs(registry);
          for (let id = 0; id < n; id++) {
            if (instanceOf(id, instances) !== j) continue;
            if (id % 2 === 0) counter.inc(labelsOf(id), id % 97);
            else gauge.set(labelsOf(id), 1);
          }
          await registry.flush();
        }

        const scraper = new Registry({
          redis: new Redis({ url: stack.url, token: stack.token }),
          prefix: PREFIX,
        });
        defineOurs(scraper);
        let text = "";
        stack.resetCounts();
        let scrapes = 0;
        const times = await timeRuns(repetitions(n), async () => {
          text = await scraper.metrics();
          scrapes++;
        });
        const requestsPerScrape = stack.counts().requests / scrapes;

        // Decode + collect + render alone, the captured reply replayed (no HTTP, no Redis).
        const recorder = recording(new Redis({ url: stack.url, token: stack.token }));
        const capturing = new Registry({
          redis: recorder.client,
          prefix: PREFIX,
          timeoutMs: 120_000,
        });
        defineOurs(capturing);
        await capturing.metrics();
        const offline = new Registry({ redis: replaying(recorder.last()), prefix: PREFIX });
        defineOurs(offline);
        if ((await offline.metrics()) !== text) throw new Error("replayed scrape differs");
        const cpuTimes = await timeRuns(repetitions(n), () => offline.metrics());
        const exposedSamples = text
          .split("\n")
          .filter((l) => l !== "" && !l.startsWith("#")).length;
        if (exposedSamples !== n)
          throw new Error(`scrape exposed ${exposedSamples} samples, expected ${n}`);

        // One more scrape through the counting proxy, for the bytes on the wire.
        const viaProxy = new Registry({
          redis: new Redis({ url: stack.proxyUrl, token: stack.token }),
          prefix: PREFIX,
        });
        defineOurs(viaProxy);
        stack.resetCounts();
        await viaProxy.metrics();
        await viaProxy.metrics(); // the first call sends the script text (EVAL)
        const responseBytes = stack.counts().bytesReceived / 2;

        // Let Redis finish incremental rehashing, or MEMORY USAGE counts two tables of a hash.
        // Both keys of the prefix, the writers' dedup records included.
        await new Promise((r) => setTimeout(r, 1000));
        const ours = await memoryOf(stack, `{${PREFIX}}:*`);

        await stack.redis.flushall();
        await writeSeedLayout(stack, n, instances);
        await new Promise((r) => setTimeout(r, 1000));
        const seed = await memoryOf(stack, "bench_*");

        rows.push({
          series: n,
          instances,
          oursMs: median(times),
          renderMs: median(cpuTimes),
          promClientMs: median(promTimes),
          requestsPerScrape,
          responseBytes,
          exposedSamples,
          redisKeys: ours.keys,
          bytesPerSeries: ours.bytes / n,
          seedKeys: seed.keys,
          seedBytesPerSeries: seed.bytes / n,
        });
        console.log(`${n} series / ${instances} instances done`);
      }
    }
  } finally {
    await stack.stop();
  }

  printTable(
    "Scrape time: median ms per metrics() call; ratio = ours / prom-client (prom-client reads its own memory, we read Redis over HTTP)",
    [
      "series",
      "instances",
      "ours ms",
      "prom-client ms",
      "ratio",
      "requests/scrape",
      "response bytes",
    ],
    rows.map((r) => [
      String(r.series),
      String(r.instances),
      r.oursMs,
      r.promClientMs,
      ratio(r.oursMs, r.promClientMs),
      r.requestsPerScrape,
      r.responseBytes,
    ]),
  );
  printTable(
    "Scrape CPU: median ms of metrics() on the read reply replayed in process (decode, collect, render; no HTTP, no Redis) against prom-client's in-memory metrics(), same run; target ≤ 1.5×",
    ["series", "instances", "decode+render ms", "prom-client ms", "ratio"],
    rows.map((r) => [
      String(r.series),
      String(r.instances),
      r.renderMs,
      r.promClientMs,
      ratio(r.renderMs, r.promClientMs),
    ]),
  );
  printTable(
    `The Hono middleware's two metrics (counter + histogram of ${HONO_DURATION_BUCKETS.length} buckets with native: true), ${HONO_OBSERVATIONS} observations per label set: median ms of metrics() / metricsProtobuf() on the read reply replayed in process, against prom-client's metrics() (classic buckets only), same run`,
    ["label sets", "text ms", "protobuf ms", "prom-client ms", "text ratio", "protobuf ratio"],
    honoRows.map((r) => [
      String(r.labelSets),
      r.textMs,
      r.protobufMs,
      r.promClientMs,
      ratio(r.textMs, r.promClientMs),
      ratio(r.protobufMs, r.promClientMs),
    ]),
  );
  printTable(
    "Redis memory per series: MEMORY USAGE (SAMPLES 0) summed over the keys / series; ratio = seed / ours (> 1: the seed layout needs more)",
    ["series", "instances", "our keys", "ours B/series", "seed keys", "seed B/series", "ratio"],
    rows.map((r) => [
      String(r.series),
      String(r.instances),
      r.redisKeys,
      r.bytesPerSeries,
      r.seedKeys,
      r.seedBytesPerSeries,
      ratio(r.seedBytesPerSeries, r.bytesPerSeries),
    ]),
  );

  const label = (r: Row) => `${fmt(r.series)} series, ${r.instances} inst.`;
  const svg = barChart([
    {
      title: "Scrape: one metrics() call (ms, less is better)",
      unit: "milliseconds; ours = one HTTP request to Redis, prom-client = its own memory",
      series: [
        "prometheus-upstash (global, from Redis)",
        "prom-client 15 (one process, in memory)",
      ],
      log: true,
      groups: rows.map((r) => ({ label: label(r), values: [r.oursMs, r.promClientMs] })),
    },
    {
      title: "Redis memory per series (bytes, less is better)",
      unit: "MEMORY USAGE summed over the keys, divided by the number of series",
      series: ["prometheus-upstash (hash per metric)", "seed layout (string key per series)"],
      groups: rows.map((r) => ({
        label: label(r),
        values: [r.bytesPerSeries, r.seedBytesPerSeries],
      })),
      format: (v) => `${Math.round(v)} B`,
    },
  ]);
  writeResults(
    "scrape",
    {
      description:
        "metrics() time for N series (half counter, half gauge series) written by I instances, vs prom-client in memory; Redis memory per series vs the seed's string-key-per-series layout",
      seedLayout:
        "<metric>:<JSON of sorted labels> string keys; gauges carry gauge_index and an expiry",
      rows,
      honoRows,
    },
    svg,
  );
}

await main();
