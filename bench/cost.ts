// Cost per invocation: an invocation makes K counter updates spread over S series, then its
// metrics reach Redis. What does that cost in HTTP requests, bytes sent and Redis commands?
//
//   prometheus-upstash  K synchronous inc() calls, then one registry.flush()
//   (a) per-call        one @upstash/redis HINCRBYFLOAT per update, awaited, auto-pipelining off
//   (b) auto-pipelined  the same calls issued without awaiting, auto-pipelining on
//   (c) seed layout     one MULTI/EXEC transaction per update (the /multi-exec route) on a
//                       string key per series, as prometheus-aioredis-client did
//
// "billed" = commands in the HTTP requests (what Upstash charges; MULTI/EXEC wrappers not
// counted), "executed" = what Redis ran by INFO commandstats (commands inside EVAL count).
// Figures are per invocation, averaged over warm invocations (each isolate's first flush also
// sends the script text once: reported as coldFlushBytes).
import { Redis } from "@upstash/redis";
import { Counter, Registry } from "../src/index.ts";
import { fmt, printTable, writeResults } from "./lib/report.ts";
import { type BenchStack, startBenchStack } from "./lib/stack.ts";
import { barChart } from "./lib/svg.ts";

const KS = [1, 10, 100, 1000];
const SS = [1, 10, 100];
const INVOCATIONS = Number(process.env["BENCH_INVOCATIONS"] ?? 5);
const METRIC = "bench_requests_total";

type Strategy = "ours" | "perCall" | "autoPipelined" | "seedMulti";
const STRATEGIES: Strategy[] = ["ours", "perCall", "autoPipelined", "seedMulti"];
const TITLES: Record<Strategy, string> = {
  ours: "prometheus-upstash",
  perCall: "(a) @upstash/redis per call",
  autoPipelined: "(b) auto-pipelined",
  seedMulti: "(c) seed MULTI per update",
};

interface Measure {
  requests: number;
  bodyBytes: number;
  bytes: number;
  billed: number;
  executed: number;
}

/** The label value update k of an invocation touches. */
const series = (k: number, s: number) => `s${k % s}`;

/** One invocation's work for each strategy, given fresh clients per (K, S) configuration. */
function invocations(
  stack: BenchStack,
  k: number,
  s: number,
): Record<Strategy, () => Promise<void>> {
  const url = stack.proxyUrl;
  const token = stack.token;
  const tag = `k${k}s${s}`;

  const registry = new Registry({
    redis: new Redis({ url, token }),
    prefix: `ours:${tag}`,
    onError: (e) => {
      throw e;
    },
  });
  const counter = new Counter({
    name: METRIC,
    help: "Requests",
    labelNames: ["series"],
    registers: [registry],
  });

  const plain = new Redis({ url, token, enableAutoPipelining: false });
  const pipelined = new Redis({ url, token, enableAutoPipelining: true });
  const hash = `naive:${tag}:${METRIC}`;
  const seedKey = (i: number) =>
    `seed:${tag}:${METRIC}:${JSON.stringify({ series: series(i, s) })}`;

  return {
    async ours() {
      for (let i = 0; i < k; i++) counter.inc({ series: series(i, s) });
      await registry.flush();
    },
    async perCall() {
      for (let i = 0; i < k; i++) await plain.hincrbyfloat(hash, series(i, s), 1);
    },
    async autoPipelined() {
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < k; i++) pending.push(pipelined.hincrbyfloat(hash, series(i, s), 1));
      await Promise.all(pending);
    },
    async seedMulti() {
      // The seed fired one transaction per update (a future each), not awaited one by one.
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < k; i++) pending.push(plain.multi().incrbyfloat(seedKey(i), 1).exec());
      await Promise.all(pending);
    },
  };
}

async function measure(
  stack: BenchStack,
  run: () => Promise<void>,
  times: number,
): Promise<Measure> {
  stack.resetCounts();
  const before = await stack.executedCommands();
  for (let i = 0; i < times; i++) await run();
  const executed = (await stack.executedCommands()) - before;
  const c = stack.counts();
  return {
    requests: c.requests / times,
    bodyBytes: c.bodyBytesSent / times,
    bytes: c.bytesSent / times,
    billed: c.billed / times,
    executed: executed / times,
  };
}

interface Row {
  k: number;
  s: number;
  coldFlushBytes: number;
  results: Record<Strategy, Measure>;
}

async function main(): Promise<void> {
  const stack = await startBenchStack();
  const rows: Row[] = [];
  try {
    for (const k of KS) {
      for (const s of SS) {
        const runs = invocations(stack, k, s);
        // The isolate's first flush: EVAL with the script text (later flushes: EVALSHA).
        const cold = await measure(stack, runs.ours, 1);
        const results = {} as Record<Strategy, Measure>;
        for (const strategy of STRATEGIES) {
          if (strategy !== "ours") await runs[strategy](); // warm its connection like ours
          results[strategy] = await measure(stack, runs[strategy], INVOCATIONS);
        }
        rows.push({ k, s, coldFlushBytes: cold.bytes, results });
        console.log(`K=${k} S=${s} done`);
      }
    }
  } finally {
    await stack.stop();
  }

  const measures: [keyof Measure, string][] = [
    ["requests", "HTTP requests per invocation"],
    ["bytes", "bytes sent per invocation (request line + headers + body)"],
    ["billed", "billed commands per invocation (commands in the requests)"],
    ["executed", "Redis commands executed per invocation (INFO commandstats)"],
  ];
  for (const [m, title] of measures) {
    printTable(
      `Cost: ${title}; × = peer / prometheus-upstash (how many times more the peer costs)`,
      ["K", "S", "ours", "(a) per call", "×", "(b) auto-pipe", "×", "(c) seed MULTI", "×"],
      rows.map((r) => {
        const ours = r.results.ours[m];
        const cells: (string | number)[] = [String(r.k), String(r.s), ours];
        for (const peer of ["perCall", "autoPipelined", "seedMulti"] as const) {
          const v = r.results[peer][m];
          cells.push(v, ours === 0 ? "-" : `${fmt(v / ours)}×`);
        }
        return cells;
      }),
    );
  }
  console.log(
    `\nFirst flush of an isolate (EVAL with the script text): ${rows
      .map((r) => `K=${r.k},S=${r.s}: ${fmt(r.coldFlushBytes)} B`)
      .slice(0, 3)
      .join("; ")} …`,
  );

  const chartS = 10;
  const chosen = rows.filter((r) => r.s === chartS);
  const svg = barChart(
    (
      [
        ["requests", "HTTP requests per invocation"],
        ["billed", "Billed Upstash commands per invocation"],
        ["bytes", "Bytes sent per invocation"],
      ] as const
    ).map(([m, title]) => ({
      title: `${title} (K updates over ${chartS} series, less is better)`,
      unit: "per invocation",
      series: STRATEGIES.map((s) => TITLES[s]),
      log: true,
      groups: chosen.map((r) => ({
        label: `K = ${r.k} updates`,
        values: STRATEGIES.map((s) => r.results[s][m]),
      })),
    })),
  );
  writeResults(
    "cost",
    {
      description:
        "Per invocation: K counter updates over S series; requests and bytes counted at a proxy, billed = commands in the requests, executed = INFO commandstats delta",
      invocationsAveraged: INVOCATIONS,
      strategies: TITLES,
      rows,
    },
    svg,
  );
}

await main();
