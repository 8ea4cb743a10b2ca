// Remote write: what one push of N series costs against a scrape of the same N series (the text
// exposition), for N = 1k and 10k (half counter series, half gauge series, as bench/scrape.ts,
// plus a run with native histograms). Both read Redis the same way (one read per call), so the
// table splits each into the read and what comes after it: for a scrape, rendering the text;
// for a push, building the series (labels sorted, job/instance), encoding the WriteRequest
// and compressing it with snappy. Bytes: the text (and its gzip, what a Prometheus scrape
// asking for gzip receives) against the protobuf and its snappy block (what a push sends).
// A last table compares snappy block encoders on the same WriteRequests: ours
// (src/remote-write/snappy.ts), snappyjs and @stablelib/snappy — time, output bytes, and the
// gzip size each adds to a bundle (esbuild, minified), which is why ours is the one shipped.
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { compress as stablelibCompress } from "@stablelib/snappy";
import { Redis } from "@upstash/redis";
import { build } from "esbuild";
import SnappyJS from "snappyjs";
import { render } from "../src/exposition/render.ts";
import { Counter, Gauge, Histogram, Registry } from "../src/index.ts";
import { encodeWriteRequests } from "../src/remote-write/encode.ts";
import { pushMetrics } from "../src/remote-write/index.ts";
import { snappyCompress } from "../src/remote-write/snappy.ts";
import { bundleWorker } from "../tools/bundle-worker.ts";
import { printTable, ratio, writeResults } from "./lib/report.ts";
import { startBenchStack } from "./lib/stack.ts";
import { median, timeRuns } from "./lib/timing.ts";
import { startWorkers, workerdCpuSeconds } from "./lib/workers.ts";

const SERIES = (process.env["BENCH_RW_SERIES"] ?? "1000,10000").split(",").map(Number);
const LABELS = ["shard", "id"] as const;
const labelsOf = (id: number) => ({ shard: `shard-${id % 16}`, id: `series-${id}` });
const TARGET = { job: "bench", instance: "global" };

/** Median ms of fn over `n` runs after a warm-up of at least 3 runs and 200 ms. */
const timeIt = async (n: number, fn: () => unknown) => median(await timeRuns(n, fn, 200));

/** Minified, gzipped bytes of one module bundled alone (what it adds to a Worker). */
async function bundledGzip(contents: string): Promise<number> {
  const result = await build({
    stdin: { contents, resolveDir: fileURLToPath(new URL("..", import.meta.url)), loader: "ts" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    write: false,
    logLevel: "silent",
  });
  return gzipSync(result.outputFiles[0]!.contents).length;
}

interface Row {
  case: string;
  series: number;
  readMs: number;
  renderMs: number;
  pushCpuMs: number;
  encodeMs: number;
  snappyMs: number;
  pushMs: number;
  textBytes: number;
  textGzipBytes: number;
  protobufBytes: number;
  snappyBytes: number;
  requests: number;
}

async function main(): Promise<void> {
  const stack = await startBenchStack();
  // A receiver that takes everything (a real push, over loopback HTTP).
  const receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(204).end());
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const address = receiver.address() as { port: number };
  const url = `http://127.0.0.1:${address.port}/api/v1/write`;
  const rows: Row[] = [];
  const payloads: { name: string; body: Uint8Array }[] = [];
  try {
    for (const native of [false, true]) {
      for (const n of SERIES) {
        await stack.redis.flushall();
        const registry = new Registry({
          redis: new Redis({ url: stack.url, token: stack.token }),
          prefix: "rw",
          onError: (e) => {
            throw e;
          },
        });
        const counter = new Counter({
          name: "bench_requests_total",
          help: "Requests",
          labelNames: LABELS,
          registers: [registry],
        });
        const gauge = new Gauge({
          name: "bench_in_flight",
          help: "In flight",
          labelNames: LABELS,
          registers: [registry],
        });
        const histogram = native
          ? new Histogram({
              name: "bench_duration_seconds",
              help: "Durations",
              labelNames: LABELS,
              native: true,
              registers: [registry],
            })
          : undefined;
        // native: half the exposed samples are histogram series' (14 lines each: 11 buckets,
        // +Inf, _sum, _count), each of which a native push sends as one native histogram.
        const histograms = histogram ? Math.floor(n / 28) : 0;
        for (let id = 0; id < n - histograms * 14; id++) {
          if (id % 2 === 0) counter.inc(labelsOf(id), id % 97);
          else gauge.set(labelsOf(id), id);
        }
        for (let h = 0; h < histograms; h++) {
          for (let k = 0; k < 20; k++)
            histogram!.observe(labelsOf(h), 0.001 * 1.5 ** (k + (h % 7)));
        }
        await registry.flush();
        const reps = n >= 10_000 ? 7 : 21;

        const readMs = await timeIt(reps, () => registry.collectForPush());
        const [families, defaults] = await registry.collectForPush();
        const text = render(families, "text", defaults);
        const renderMs = await timeIt(reps, () => render(families, "text", defaults));
        const options = {
          target: TARGET,
          defaultLabels: defaults,
          native,
          timestamp: Date.now(),
          maxBytes: 1 << 20,
          metadata: true,
        };
        const { requests } = encodeWriteRequests(families, options);
        const encodeMs = await timeIt(reps, () => encodeWriteRequests(families, options));
        const snappyMs = await timeIt(reps, () => {
          for (const r of requests) snappyCompress(r.body);
        });
        const pushMs = await timeIt(reps, () =>
          pushMetrics(registry, { url, ...TARGET, native, selfMetrics: false }),
        );
        const samples = text.split("\n").filter((l) => l && !l.startsWith("#")).length;
        const protobufBytes = requests.reduce((s, r) => s + r.body.length, 0);
        const snappyBytes = requests.reduce((s, r) => s + snappyCompress(r.body).length, 0);
        for (const r of requests)
          payloads.push({ name: `${native ? "native" : "classic"} ${n}`, body: r.body });
        rows.push({
          case: native ? "with native histograms" : "counters and gauges",
          series: samples,
          readMs,
          renderMs,
          pushCpuMs: encodeMs + snappyMs,
          encodeMs,
          snappyMs,
          pushMs,
          textBytes: Buffer.byteLength(text),
          textGzipBytes: gzipSync(text).length,
          protobufBytes,
          snappyBytes,
          requests: requests.length,
        });
        console.log(`${rows.at(-1)!.case}, ${n}: done`);
      }
    }
  } finally {
    receiver.close();
    await stack.stop();
  }

  printTable(
    "CPU after the read (median ms): scrape = render the text; push = labels + protobuf, then snappy. The read itself is the same call for both.",
    [
      "case",
      "exposed samples",
      "read ms",
      "scrape: render ms",
      "push: encode+snappy ms",
      "push/scrape",
      "encode",
      "snappy",
      "whole push ms (read + send to a loopback receiver)",
    ],
    rows.map((r) => [
      r.case,
      r.series,
      r.readMs,
      r.renderMs,
      r.pushCpuMs,
      ratio(r.pushCpuMs, r.renderMs),
      r.encodeMs,
      r.snappyMs,
      r.pushMs,
    ]),
  );
  printTable(
    "Bytes: a scrape's text (and gzipped) against a push's protobuf (and its snappy block, what is sent)",
    [
      "case",
      "exposed samples",
      "text B",
      "text gzip B",
      "protobuf B",
      "snappy B",
      "snappy/text gzip",
      "requests (1 MiB bound)",
    ],
    rows.map((r) => [
      r.case,
      r.series,
      r.textBytes,
      r.textGzipBytes,
      r.protobufBytes,
      r.snappyBytes,
      ratio(r.snappyBytes, r.textGzipBytes),
      r.requests,
    ]),
  );

  // Snappy encoders on the same WriteRequests.
  const encoders: Record<string, (b: Uint8Array) => Uint8Array> = {
    ours: snappyCompress,
    snappyjs: (b) => new Uint8Array(SnappyJS.compress(b)),
    "@stablelib/snappy": (b) => stablelibCompress(b),
  };
  const bundle: Record<string, number> = {
    ours: await bundledGzip(
      'import { snappyCompress } from "./src/remote-write/snappy.ts"; export { snappyCompress };',
    ),
    snappyjs: await bundledGzip(
      'import { compress } from "snappyjs/snappy_compressor.js"; export { compress };',
    ).catch(async () => bundledGzip('import S from "snappyjs"; export const c = S.compress;')),
    "@stablelib/snappy": await bundledGzip(
      'import { compress } from "@stablelib/snappy"; export { compress };',
    ),
  };
  const snappyRows: (string | number)[][] = [];
  const snappyData: Record<string, unknown>[] = [];
  const byCase = new Map<string, Uint8Array[]>();
  for (const p of payloads) byCase.set(p.name, [...(byCase.get(p.name) ?? []), p.body]);
  for (const [name, bodies] of byCase) {
    const input = bodies.reduce((n, b) => n + b.length, 0);
    // Interleaved rounds, so a busy moment of the machine hits every encoder alike.
    const times: Record<string, number[]> = Object.fromEntries(
      Object.keys(encoders).map((encoder) => [encoder, []]),
    );
    for (let round = 0; round < 25; round++) {
      for (const [encoder, compress] of Object.entries(encoders)) {
        const t = performance.now();
        for (const b of bodies) compress(b);
        times[encoder]!.push(performance.now() - t);
      }
    }
    const ms = (encoder: string) => median(times[encoder]!.slice(5));
    for (const [encoder, compress] of Object.entries(encoders)) {
      const out = bodies.reduce((n, b) => n + compress(b).length, 0);
      snappyRows.push([
        name,
        encoder,
        input,
        out,
        ms(encoder),
        ratio(ms(encoder), ms("ours")),
        bundle[encoder]!,
      ]);
      snappyData.push({
        payload: name,
        encoder,
        inputBytes: input,
        outputBytes: out,
        ms: ms(encoder),
        bundleGzipBytes: bundle[encoder],
      });
    }
  }
  printTable(
    "Snappy block encoders on the same WriteRequests (Node's V8, the engine workerd runs); bundle = minified + gzip of the encoder alone",
    ["payload", "encoder", "input B", "output B", "median ms", "time vs ours", "bundle gzip B"],
    snappyRows,
  );
  const workerd = await inWorkerd();
  writeResults("remote-write", { rows, snappy: snappyData, workerd });
}

/**
 * CPU per operation inside workerd (Miniflare), read from the workerd process's CPU time
 * (/proc, 10 ms ticks): each request repeats the operation enough times to take a second or
 * so, and a request that does nothing is subtracted.
 */
async function inWorkerd(): Promise<Record<string, unknown>[]> {
  const script = await bundleWorker(
    fileURLToPath(new URL("./lib/remote-write-worker.ts", import.meta.url)),
  );
  const [mf] = await startWorkers(script, 1, { url: "http://127.0.0.1:1", token: "unused" });
  const out: Record<string, unknown>[] = [];
  try {
    const cpuOf = async (op: string, series: number, n: number) => {
      const call = async (what: string, times: number) => {
        const before = workerdCpuSeconds(mf!);
        const res = await mf!.dispatchFetch(
          `http://bench.test/?op=${what}&series=${series}&n=${times}`,
        );
        await res.text();
        return workerdCpuSeconds(mf!) - before;
      };
      await call(op, 2); // warm-up (and the series prepared)
      const costs: number[] = [];
      for (let round = 0; round < 3; round++) {
        costs.push(((await call(op, n)) - (await call("none", 1))) / n);
      }
      return median(costs) * 1000;
    };
    const rows: (string | number)[][] = [];
    for (const series of SERIES) {
      const n = Math.max(3, Math.round(200_000 / series));
      const renderMs = await cpuOf("render", series, n);
      const encodeMs = await cpuOf("encode", series, n);
      const snappy: Record<string, number> = {};
      for (const encoder of ["ours", "snappyjs", "@stablelib/snappy"]) {
        snappy[encoder] = await cpuOf(encoder, series, n * 4);
      }
      rows.push([
        series,
        renderMs,
        encodeMs,
        snappy.ours!,
        ratio(encodeMs + snappy.ours!, renderMs),
        snappy.snappyjs!,
        snappy["@stablelib/snappy"]!,
      ]);
      out.push({ series, renderMs, encodeMs, snappyMs: snappy });
    }
    printTable(
      "In workerd (Miniflare), counters and gauges, CPU ms per operation (workerd process CPU time, no Redis read)",
      [
        "series",
        "scrape: render",
        "push: encode",
        "push: snappy (ours)",
        "push/scrape",
        "snappyjs",
        "@stablelib/snappy",
      ],
      rows,
    );
  } finally {
    await mf?.dispose();
  }
  return out;
}

await main();
