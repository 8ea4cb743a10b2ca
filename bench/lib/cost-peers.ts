// The peers of the cost benchmark: what a metric update and a scrape cost when written straight
// with @upstash/redis, in two layouts.
//
// "naive" — what a developer would write with @upstash/redis, one hash per metric:
//   counter   inc          HINCRBYFLOAT <m> <series> 1                                    1
//   histogram observe(v)  HINCRBYFLOAT <m> <series>|le=<first bucket ≥ v> 1, then the
//                         sum (+v) and count (+1) fields; buckets cumulated at scrape        3
//   summary   observe(v)  HINCRBY <m> <series>|b=<log bucket of v> 1 (a relative-error
//                         sketch bucket, α = 1 %, for true global quantiles), sum, count     3
//   gauge     set(v)      HSET <m>:<instance> <series> v, PEXPIRE <m>:<instance> (the
//                         instance's values vanish with it), ZADD <m>:live <deadline>
//                         <instance> (so a scrape finds the live instances without KEYS)    3
//   scrape                HGETALL per metric; a gauge: ZRANGE <m>:live BYSCORE now +inf, then
//                         HGETALL per live instance                                   1 | 1 + I
// "seed" — prometheus-aioredis-client's layout (rebuilt from its README): one string key per
//   series, `<m>:<JSON of the labels>`, and one MULTI/EXEC per update:
//   counter INCRBYFLOAT (1); histogram INCRBYFLOAT of every bucket ≥ v (cumulative, no +Inf, as
//   the seed did) + sum + count; summary sum + count (the seed had no quantiles, 2); gauge SET
//   with EX, the key carrying a `gauge_index` label per process (1). Scrape: KEYS <m>:* then
//   one GET per key, one after the other, as the seed did.
import type { Redis } from "@upstash/redis";
import { DEFAULT_BUCKETS } from "../../src/index.ts";

export type Kind = "counter" | "histogram" | "gauge" | "summary";
export const KINDS: readonly Kind[] = ["counter", "histogram", "gauge", "summary"];

/** One metric update as the benchmark drives it. */
export interface Update {
  kind: Kind;
  /** Label value of the series. */
  series: string;
  value: number;
}

/** Metric names, per kind (ours and the peers use the same). */
export const METRIC: Record<Kind, string> = {
  counter: "bench_requests_total",
  histogram: "bench_latency_seconds",
  gauge: "bench_in_flight",
  summary: "bench_size_bytes",
};

export const GAUGE_TTL_MS = 3_600_000; // the bench must not race the expiry of what it reads
const SKETCH_GAMMA = 1.01 / 0.99;

/** One @upstash/redis call. */
type Call = (redis: Redis) => Promise<unknown>;

function naiveKey(base: string, kind: Kind): string {
  return `${base}:naive:${METRIC[kind]}`;
}

/** The calls one update costs in the naive layout. */
export function naiveCalls(base: string, u: Update, instance: string): Call[] {
  const key = naiveKey(base, u.kind);
  switch (u.kind) {
    case "counter":
      return [(r) => r.hincrbyfloat(key, u.series, 1)];
    case "histogram": {
      const le = DEFAULT_BUCKETS.find((b) => u.value <= b) ?? "+Inf";
      return [
        (r) => r.hincrbyfloat(key, `${u.series}|le=${le}`, 1),
        (r) => r.hincrbyfloat(key, `${u.series}|sum`, u.value),
        (r) => r.hincrbyfloat(key, `${u.series}|count`, 1),
      ];
    }
    case "summary": {
      const bucket = u.value > 0 ? Math.ceil(Math.log(u.value) / Math.log(SKETCH_GAMMA)) : "zero";
      return [
        (r) => r.hincrby(key, `${u.series}|b=${bucket}`, 1),
        (r) => r.hincrbyfloat(key, `${u.series}|sum`, u.value),
        (r) => r.hincrbyfloat(key, `${u.series}|count`, 1),
      ];
    }
    case "gauge": {
      const own = `${key}:${instance}`;
      return [
        (r) => r.hset(own, { [u.series]: u.value }),
        (r) => r.pexpire(own, GAUGE_TTL_MS),
        (r) => r.zadd(`${key}:live`, { score: Date.now() + GAUGE_TTL_MS, member: instance }),
      ];
    }
  }
}

/** A naive-layout scrape of `kinds`: awaited one by one, or each phase issued at once. */
export async function naiveScrape(
  redis: Redis,
  base: string,
  kinds: readonly Kind[],
  pipelined: boolean,
): Promise<void> {
  const reads: Promise<unknown>[] = [];
  for (const kind of kinds) {
    const key = naiveKey(base, kind);
    if (kind !== "gauge") {
      const read = redis.hgetall(key);
      if (pipelined) reads.push(read);
      else await read;
      continue;
    }
    const gauges = (async () => {
      const live = await redis.zrange<string[]>(`${key}:live`, Date.now(), "+inf", {
        byScore: true,
      });
      if (pipelined) await Promise.all(live.map((i) => redis.hgetall(`${key}:${i}`)));
      else for (const i of live) await redis.hgetall(`${key}:${i}`);
    })();
    if (pipelined) reads.push(gauges);
    else await gauges;
  }
  await Promise.all(reads);
}

function seedKey(base: string, kind: Kind, labels: Record<string, string>, suffix = ""): string {
  const sorted = Object.fromEntries(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
  return `${base}:seed:${METRIC[kind]}${suffix}:${JSON.stringify(sorted)}`;
}

/** One update in the seed layout: one MULTI/EXEC (the /multi-exec route). */
export function seedTransaction(redis: Redis, base: string, u: Update, gaugeIndex: number) {
  const tx = redis.multi();
  const labels = { series: u.series };
  switch (u.kind) {
    case "counter":
      tx.incrbyfloat(seedKey(base, u.kind, labels), 1);
      break;
    case "histogram":
      for (const b of DEFAULT_BUCKETS) {
        if (u.value <= b) tx.incrbyfloat(seedKey(base, u.kind, { ...labels, le: String(b) }), 1);
      }
      tx.incrbyfloat(seedKey(base, u.kind, labels, "_sum"), u.value);
      tx.incrbyfloat(seedKey(base, u.kind, labels, "_count"), 1);
      break;
    case "summary":
      tx.incrbyfloat(seedKey(base, u.kind, labels, "_sum"), u.value);
      tx.incrbyfloat(seedKey(base, u.kind, labels, "_count"), 1);
      break;
    case "gauge":
      tx.set(seedKey(base, u.kind, { ...labels, gauge_index: String(gaugeIndex) }), u.value, {
        px: GAUGE_TTL_MS,
      });
      break;
  }
  return tx.exec();
}

/** The seed's scrape: KEYS per metric, then one GET per key, one after the other. */
export async function seedScrape(redis: Redis, base: string, kinds: readonly Kind[]) {
  for (const kind of kinds) {
    const keys = await redis.keys(`${base}:seed:${METRIC[kind]}*`);
    for (const key of keys) await redis.get(key);
  }
}
