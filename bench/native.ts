// Native against classic histograms: what turning `native` on costs. The same observations go
// into two Histograms, each in a registry (and key prefix) of its own:
//   classic   buckets: DEFAULT_BUCKETS (11 bounds)
//   native    the same buckets plus `native: true` (schema 5, 160 buckets at most) — native
//             buckets beside the classic ones, as the Hono middleware's duration histogram has
// For S series (S ∈ 1, 10, 100, 1000) and two value spreads — latency-like lognormal (median
// 50 ms, σ = 0.5: most values within 20–130 ms) and wide, log-uniform over 8 decades (1e−4 to
// 1e4: more than 160 buckets at schema 5, so the schema comes down) — each flush carries N
// observations per series (BENCH_NATIVE_OBS, default 100), and:
//   billed commands per flush   as Upstash bills them (each command of a request + every command
//                               the script runs), the local Upstash server's billing meter
//   bytes per flush             request line + headers + body, counted at a proxy
//   Redis memory per series     MEMORY USAGE … SAMPLES 0 summed over the prefix's keys (once
//                               Redis has finished rehashing), divided by S, after all flushes
// Per-flush figures are averaged over the warm flushes (the first one sends the script text).
// Knobs: BENCH_NATIVE_SERIES (comma list), BENCH_NATIVE_OBS, BENCH_NATIVE_FLUSHES (default 5).

import { Redis } from "@upstash/redis";
import { DEFAULT_BUCKETS, Histogram, Registry } from "../src/index.ts";
import { decodePacked } from "../src/native/index.ts";
import { unstamped } from "../src/store/schema.ts";
import { billingSince } from "../tools/local-upstash/index.ts";
import { mulberry32 } from "./lib/prng.ts";
import { fmt, printTable, writeResults } from "./lib/report.ts";
import { type BenchStack, startBenchStack } from "./lib/stack.ts";
import { barChart } from "./lib/svg.ts";

const list = (name: string, fallback: string) =>
  (process.env[name] ?? fallback).split(",").map(Number);
const SERIES = list("BENCH_NATIVE_SERIES", "1,10,100,1000");
const OBS = Number(process.env["BENCH_NATIVE_OBS"] ?? 100);
const FLUSHES = Number(process.env["BENCH_NATIVE_FLUSHES"] ?? 5);

type Spread = "lognormal" | "wide";
const SPREADS: Record<Spread, string> = {
  lognormal: "lognormal, median 50 ms, σ = 0.5",
  wide: "log-uniform over 8 decades, 1e−4 to 1e4",
};
type Variant = "classic" | "native";
const VARIANTS: Variant[] = ["classic", "native"];
const TITLES: Record<Variant, string> = {
  classic: "classic (11 buckets)",
  native: "native: true (+ the same classic buckets)",
};

/** A seeded source of one spread's values. */
function values(spread: Spread, seed: number): () => number {
  const random = mulberry32(seed);
  if (spread === "wide") return () => 10 ** (random() * 8 - 4);
  return () => {
    // Box–Muller: a standard normal from two uniforms (1 − u keeps log away from 0).
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return 0.05 * Math.exp(0.5 * z);
  };
}

interface Measure {
  /** Billed commands per warm flush, and by command. */
  billed: number;
  byCommand: Record<string, number>;
  /** HTTP requests, bytes sent (request line + headers + body) and body bytes per warm flush. */
  requests: number;
  bytes: number;
  bodyBytes: number;
  /** The first flush of the registry (EVAL with the script text). */
  coldBytes: number;
  /** MEMORY USAGE (SAMPLES 0) of the prefix's keys, in total and per series. */
  memoryBytes: number;
  memoryPerSeries: number;
  /** OBJECT ENCODING of the sums hash (listpack while small, hashtable past 128 fields or 64 B). */
  encoding: string;
  /** Native part: schema reached and buckets stored per series (mean), value length (mean). */
  schema?: number;
  bucketsPerSeries?: number;
  nativeFieldBytes?: number;
}

interface Row {
  spread: Spread;
  series: number;
  results: Record<Variant, Measure>;
}

/** Keys of a prefix and their exact memory, once Redis has finished rehashing them. */
async function memoryOf(stack: BenchStack, prefix: string): Promise<number> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, found] = await stack.redis.scan(cursor, "MATCH", `{${prefix}}:*`, "COUNT", 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== "0");
  const total = async () => {
    let bytes = 0;
    for (const key of keys) {
      bytes += Number((await stack.redis.call("MEMORY", "USAGE", key, "SAMPLES", "0")) ?? 0);
    }
    return bytes;
  };
  // A hash that grew is rehashed incrementally (a millisecond per 100 ms cron tick, and a step
  // per access): until then MEMORY USAGE counts both tables. Wait until three readings agree.
  let last = await total();
  for (let same = 0, tries = 0; same < 2 && tries < 50; tries++) {
    await new Promise((r) => setTimeout(r, 200));
    const now = await total();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

async function measure(stack: BenchStack, spread: Spread, s: number, variant: Variant) {
  const prefix = `bench-native:${spread}:${s}:${variant}`;
  const registry = new Registry({
    redis: new Redis({ url: stack.proxyUrl, token: stack.token }),
    prefix,
    onError: (e) => {
      throw e;
    },
  });
  const histogram = new Histogram({
    name: "bench_duration_seconds",
    help: "h",
    labelNames: ["series"],
    buckets: DEFAULT_BUCKETS,
    ...(variant === "native" && { native: true }),
    registers: [registry],
  });
  const children = Array.from({ length: s }, (_, j) => histogram.labels(`s${j}`));
  // The same values for both variants: one seed per spread and series count.
  const next = values(spread, 1_000 * s + (spread === "wide" ? 1 : 0));
  const observe = () => {
    for (let k = 0; k < OBS; k++) for (const c of children) c.observe(next());
  };

  stack.resetCounts();
  observe();
  await registry.flush(); // cold: EVAL with the script text
  const coldBytes = stack.counts().bytesSent;

  stack.resetCounts();
  const before = await stack.billing();
  for (let f = 1; f < FLUSHES; f++) {
    observe();
    await registry.flush();
  }
  const bill = billingSince(before, await stack.billing());
  const counts = stack.counts();
  const warm = FLUSHES - 1;

  const memoryBytes = await memoryOf(stack, prefix);
  const sums = `{${prefix}}:sums`;
  const encoding = String(await stack.redis.call("OBJECT", "ENCODING", sums));
  const out: Measure = {
    billed: bill.billed / warm,
    byCommand: Object.fromEntries(Object.entries(bill.byCommand).map(([k, v]) => [k, v / warm])),
    requests: counts.requests / warm,
    bytes: counts.bytesSent / warm,
    bodyBytes: counts.bodyBytesSent / warm,
    coldBytes,
    memoryBytes,
    memoryPerSeries: memoryBytes / s,
    encoding,
  };
  if (variant === "native") {
    const fields = (await stack.redis.hgetall(sums)) as Record<string, string>;
    const natives = Object.entries(fields).filter(([f]) => f.startsWith("n"));
    const decoded = natives.map(([, v]) => decodePacked(unstamped(v)));
    out.schema = Math.min(...decoded.map((d) => d.schema));
    out.bucketsPerSeries =
      decoded.reduce((n, d) => n + d.positive.length + d.negative.length, 0) / decoded.length;
    out.nativeFieldBytes =
      natives.reduce((n, [, v]) => n + unstamped(v).length, 0) / natives.length;
    if (decoded.length !== s)
      throw new Error(`expected ${s} native series, found ${decoded.length}`);
    const observed = FLUSHES * OBS;
    if (decoded.some((d) => d.count !== observed)) throw new Error("a native series lost counts");
  }
  return out;
}

const ratio = (native: number, classic: number) =>
  classic === 0 ? "-" : `${fmt(native / classic)}×`;

function printTables(rows: Row[]): void {
  printTable(
    `Billed commands and HTTP requests per flush (Upstash's rule: request commands + script commands), ${OBS} observations per series per flush; × = native / classic`,
    ["spread", "S", "classic", "native", "×", "by command (native)", "req classic", "req native"],
    rows.map((r) => {
      const { classic: c, native: n } = r.results;
      const by = Object.entries(n.byCommand)
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join(", ");
      return [
        r.spread,
        String(r.series),
        c.billed,
        n.billed,
        ratio(n.billed, c.billed),
        by,
        c.requests,
        n.requests,
      ];
    }),
  );
  printTable(
    "Bytes sent per flush (request line + headers + body); × = native / classic",
    ["spread", "S", "classic", "native", "×", "body classic", "body native", "×", "cold native"],
    rows.map((r) => {
      const { classic: c, native: n } = r.results;
      return [
        r.spread,
        String(r.series),
        c.bytes,
        n.bytes,
        ratio(n.bytes, c.bytes),
        c.bodyBytes,
        n.bodyBytes,
        ratio(n.bodyBytes, c.bodyBytes),
        n.coldBytes,
      ];
    }),
  );
  printTable(
    `Redis memory per series after ${FLUSHES} flushes (MEMORY USAGE … SAMPLES 0 over the prefix's keys / S); × = native / classic`,
    [
      "spread",
      "S",
      "classic",
      "native",
      "×",
      "encoding c/n",
      "schema",
      "native buckets",
      "native field B",
    ],
    rows.map((r) => {
      const { classic: c, native: n } = r.results;
      return [
        r.spread,
        String(r.series),
        c.memoryPerSeries,
        n.memoryPerSeries,
        ratio(n.memoryPerSeries, c.memoryPerSeries),
        `${c.encoding}/${n.encoding}`,
        String(n.schema),
        n.bucketsPerSeries!,
        n.nativeFieldBytes!,
      ];
    }),
  );
}

function chart(rows: Row[]): string {
  const panel = (m: "billed" | "bytes" | "memoryPerSeries", title: string, unit: string) => ({
    title,
    unit,
    series: VARIANTS.map((v) => TITLES[v]),
    log: m !== "billed",
    groups: rows.map((r) => ({
      label: `${r.spread}, S = ${r.series}`,
      values: VARIANTS.map((v) => r.results[v][m]),
    })),
  });
  return barChart(
    [
      panel("billed", "Billed Upstash commands per flush (less is better)", "per flush"),
      panel("bytes", "Bytes sent per flush (less is better)", "bytes per flush"),
      panel(
        "memoryPerSeries",
        "Redis memory per series (less is better)",
        "MEMORY USAGE over the prefix's keys / series",
      ),
    ],
    `${OBS} observations per series per flush, ${FLUSHES} flushes; lognormal: median 50 ms, σ 0.5; wide: 8 decades`,
  );
}

async function main(): Promise<void> {
  const stack = await startBenchStack({ billing: true });
  const rows: Row[] = [];
  try {
    for (const spread of Object.keys(SPREADS) as Spread[]) {
      for (const s of SERIES) {
        const results = {} as Record<Variant, Measure>;
        for (const v of VARIANTS) results[v] = await measure(stack, spread, s, v);
        rows.push({ spread, series: s, results });
        console.log(`${spread}, S = ${s}: done`);
      }
    }
  } finally {
    await stack.stop();
  }
  printTables(rows);
  writeResults(
    "native",
    {
      description:
        "Native against classic histograms, the same observations: billed commands (Upstash's rule, the local Upstash server's billing meter) and bytes sent (a proxy) per warm flush, Redis memory per series (MEMORY USAGE SAMPLES 0 over the prefix's keys, after rehashing, / series) after all flushes.",
      variants: TITLES,
      spreads: SPREADS,
      observationsPerSeriesPerFlush: OBS,
      flushes: FLUSHES,
      warmFlushesAveraged: FLUSHES - 1,
      rows,
    },
    chart(rows),
  );
}

await main();
