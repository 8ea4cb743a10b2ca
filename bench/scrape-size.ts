// Scrape at size: the Hono middleware's two metrics (http_requests_total and the native
// http_request_duration_seconds, the middleware's defaults) at 1k, 10k and 100k label sets, and
// with wide latency spreads (8 decades: about 100 native buckets a series) at 1k, 10k and 20k,
// through the local Upstash server with Upstash's limits on (a reply over 10 MB is refused).
// Each scrape is checked in text, OpenMetrics and protobuf against the values recorded. Per scrape: pages,
// billed commands (the local server's meter: each command of a request plus every command a
// script runs), bytes on the wire, the largest reply, and the longest script call inside Redis
// (SLOWLOG with a threshold of 0); per flush, the longest script call too. The peer: the reply
// of the unpaged read this replaces (both hashes whole, HGETALL, base64 as @upstash/redis asks),
// which Upstash refuses past 10 MB.
//
//   npm run bench -- scrape-size         BENCH_SIZE_SERIES=1000,10000 to pick sizes
import { Redis } from "@upstash/redis";
import { Registry } from "../src/index.ts";
import { decodeFamilies } from "../test/helpers/protobuf.ts";
import { honoMetrics } from "./lib/hono-metrics.ts";
import { mulberry32 } from "./lib/prng.ts";
import { fmt, printTable, ratio, writeResults } from "./lib/report.ts";
import { startBenchStack } from "./lib/stack.ts";

const SIZES = (process.env["BENCH_SIZE_SERIES"] ?? "1000,10000,100000").split(",").map(Number);
const WIDE_SIZES = (process.env["BENCH_SIZE_WIDE_SERIES"] ?? "1000,10000,20000")
  .split(",")
  .map(Number);
const UPSTASH_LIMIT = 10_000_000;

const stack = await startBenchStack({ billing: true });
const rows: (string | number)[][] = [];
const results: Record<string, unknown>[] = [];

async function scriptTimes(): Promise<{ read: number; write: number }> {
  const log = (await stack.redis.call("SLOWLOG", "GET", "100000")) as [
    number,
    number,
    number,
    string[],
  ][];
  let read = 0;
  let write = 0;
  for (const [, , micros, args] of log) {
    const cmd = String(args[0]).toLowerCase();
    if (cmd !== "evalsha" && cmd !== "eval") continue;
    // The read script's keys come with 6 arguments, the write script's with 4 + its ops.
    const argc = Number(args[2]);
    const isRead = argc === 2 && args.length <= 3 + 2 + 6 && /^[sl]\d+$/.test(String(args[5]));
    if (isRead) read = Math.max(read, micros / 1000);
    else write = Math.max(write, micros / 1000);
  }
  await stack.redis.call("SLOWLOG", "RESET");
  return { read, write };
}

for (const wide of [false, true]) {
  for (const n of wide ? WIDE_SIZES : SIZES) {
    await stack.redis.flushall();
    await stack.redis.config("SET", "slowlog-log-slower-than", "0");
    await stack.redis.config("SET", "slowlog-max-len", "100000");
    await stack.redis.call("SLOWLOG", "RESET");
    const prefix = `size${wide ? "w" : ""}${n}`;
    const registry = new Registry({
      redis: new Redis({ url: stack.proxyUrl, token: stack.token }),
      prefix,
      maxSeriesPerMetric: n * 2,
      maxSeriesBytes: 2 ** 30,
      maxStoredSeriesPerMetric: 0,
      selfMetrics: false,
    });
    const { requests, duration } = honoMetrics(registry);
    const random = mulberry32(n);
    // Written as many isolates would: a flush per 5,000 label sets.
    for (let i = 0; i < n; i++) {
      const labels = {
        method: i % 3 ? "GET" : "POST",
        status: "200",
        ok: "true",
        route: `/api/items/${i}`,
      };
      for (let k = 0; k < 5; k++) {
        requests.inc(labels);
        // 1 ms – 1 s, or 10 µs – 1000 s for the wide spread.
        duration.observe(labels, wide ? 10 ** (-5 + 8 * random()) : 10 ** (-3 + 3 * random()));
      }
      if (i % 5000 === 4999 || i === n - 1) await registry.flush();
    }
    if (registry.stats.droppedUpdates > 0 || registry.stats.failedFlushes > 0) {
      throw new Error(`writing the series failed: ${JSON.stringify(registry.stats)}`);
    }
    const flushTimes = await scriptTimes();

    await registry.metrics(); // load the script (EVAL) and warm up
    await stack.redis.call("SLOWLOG", "RESET");
    const billedBefore = (await stack.billing()).billed;
    stack.resetCounts();
    const text = await registry.metrics();
    const billed = (await stack.billing()).billed - billedBefore;
    const wire = stack.counts();
    const scrapeTimes = await scriptTimes();
    const stats = registry.storeStats;
    // Exactly the values recorded, in all three formats.
    const check = (format: string, count: number, ok: boolean) => {
      if (count !== n || !ok) throw new Error(`${format}: expected ${n} series of 5, got ${count}`);
    };
    const counts = text.split("\n").filter((l) => l.startsWith("http_requests_total{"));
    check(
      "text",
      counts.length,
      counts.every((l) => l.endsWith(" 5")),
    );
    const om = (await registry.metrics(Registry.OPENMETRICS_CONTENT_TYPE)).split("\n");
    const omCounts = om.filter((l) => l.startsWith("http_request_duration_seconds_count{"));
    check(
      "OpenMetrics",
      omCounts.length,
      omCounts.every((l) => l.endsWith(" 5")),
    );
    const proto = decodeFamilies(await registry.metricsProtobuf()) as {
      name: string;
      metric: { histogram?: { sampleCount?: number; positiveSpan?: unknown[] } }[];
    }[];
    const hist = proto.find((f) => f.name === "http_request_duration_seconds")!.metric;
    check(
      "protobuf",
      hist.length,
      hist.every(
        (m) => m.histogram?.sampleCount === 5 && (m.histogram.positiveSpan?.length ?? 0) > 0,
      ),
    );

    // The peer: one reply with both hashes whole, as the unpaged read returned them.
    const sums = (await stack.redis.call("HGETALL", `{${prefix}}:sums`)) as string[];
    const live = (await stack.redis.call("HGETALL", `{${prefix}}:live`)) as string[];
    const whole = [...sums, ...live].reduce((b, s) => b + Buffer.byteLength(s) + 1, 0);
    const wholeB64 = Math.ceil((whole * 4) / 3);

    const largest = Math.ceil((stats.largestReplyChars * 4) / 3);
    rows.push([
      wide ? "wide" : "narrow",
      n,
      stats.pages,
      billed,
      fmt(wire.bytesReceived / 1e6),
      fmt(largest / 1e6),
      `${fmt(wholeB64 / 1e6)}${wholeB64 > UPSTASH_LIMIT ? " (refused)" : ""}`,
      ratio(wire.bytesReceived, wholeB64),
      fmt(scrapeTimes.read),
      fmt(flushTimes.write),
    ]);
    results.push({
      spread: wide ? "wide" : "narrow",
      labelSets: n,
      pages: stats.pages,
      billedCommands: billed,
      wireBytes: wire.bytesReceived,
      largestReplyBytes: largest,
      unpagedReplyBytes: wholeB64,
      maxReadScriptMs: scrapeTimes.read,
      maxWriteScriptMs: flushTimes.write,
    });
  }
}

printTable(
  "Scrape of the Hono middleware's metrics (5 requests per label set), maxRequestBytes 4 MiB",
  [
    "latencies",
    "label sets",
    "pages",
    "billed",
    "wire MB",
    "largest reply MB",
    "unpaged reply MB",
    "wire vs unpaged",
    "max read script ms",
    "max flush script ms",
  ],
  rows,
);
writeResults("scrape-size", { results });
await stack.stop();
