// Cost, counted the way Upstash bills: every command of a request plus every command a Lua
// script runs (EVALSHA + HMGET + HSET = 3). The local Upstash server's billing meter counts it
// (tools/local-upstash/billing.ts); a proxy in front counts HTTP requests and bytes sent.
//
// Flush: one invocation = K updates (K ∈ 1, 10, 100, 1000) over S series (S ∈ 1, 10, 100, 1000;
// update k touches series k mod S) of one metric type — counter, histogram, gauge, summary — or
// "mixed" (series j belongs to the type j mod 4), then its metrics reach Redis:
//   prometheus-upstash  K synchronous calls, then one registry.flush()
//   (a) per call        each command of each update its own awaited @upstash/redis call,
//                       auto-pipelining off (naive layout, see lib/cost-peers.ts)
//   (b) auto-pipelined  the same calls issued without awaiting, auto-pipelining on
//   (c) seed layout     one MULTI/EXEC per update, fired together, on a string key per series
//                       (prometheus-aioredis-client)
// Scrape: the billed commands and requests of reading every series back, S series per type,
// gauges written by 1 and by 10 live instances.
//
// Figures per flush are averaged over warm flushes (the first flush of an isolate sends the
// script text once: the JSON has it as `cold`). Knobs: BENCH_KS, BENCH_SS (comma lists),
// BENCH_INVOCATIONS (flushes averaged, default 3), BENCH_PEER_INVOCATIONS (default 1: a peer's
// counts do not vary), BENCH_INSTANCES (default 1,10).
import { Redis } from "@upstash/redis";
import { Counter, DEFAULT_BUCKETS, Gauge, Histogram, Registry, Summary } from "../src/index.ts";
import { billingSince } from "../tools/local-upstash/index.ts";
import {
  KINDS,
  type Kind,
  METRIC,
  naiveCalls,
  naiveScrape,
  seedScrape,
  seedTransaction,
  type Update,
} from "./lib/cost-peers.ts";
import { fmt, printTable, writeResults } from "./lib/report.ts";
import { type BenchStack, startBenchStack } from "./lib/stack.ts";
import { barChart } from "./lib/svg.ts";

const list = (name: string, fallback: string) =>
  (process.env[name] ?? fallback).split(",").map(Number);
const KS = list("BENCH_KS", "1,10,100,1000");
const SS = list("BENCH_SS", "1,10,100,1000");
const INSTANCES = list("BENCH_INSTANCES", "1,10");
const INVOCATIONS = Number(process.env["BENCH_INVOCATIONS"] ?? 3);
const PEER_INVOCATIONS = Number(process.env["BENCH_PEER_INVOCATIONS"] ?? 1);

type Workload = Kind | "mixed";
const WORKLOADS: Workload[] = [...KINDS, "mixed"];

type Strategy = "ours" | "perCall" | "autoPipelined" | "seedMulti";
const STRATEGIES: Strategy[] = ["ours", "perCall", "autoPipelined", "seedMulti"];
const PEERS = ["perCall", "autoPipelined", "seedMulti"] as const;
const TITLES: Record<Strategy, string> = {
  ours: "prometheus-upstash",
  perCall: "(a) @upstash/redis per call",
  autoPipelined: "(b) auto-pipelined",
  seedMulti: "(c) seed MULTI per update",
};

/** Upstash-billed targets of issue 10 for one flush / one scrape. */
const FLUSH_TARGET: Record<Workload, number> = {
  counter: 6,
  histogram: 6,
  gauge: 6 + 4,
  summary: 6 + 4,
  mixed: 6 + 4 + 4,
};
/** A scrape: this many billed commands plus one per live gauge instance. */
const SCRAPE_BASE = 8;

interface Measure {
  /** Billed commands (Upstash's rule) per flush or scrape. */
  billed: number;
  /** The same by command name. */
  byCommand: Record<string, number>;
  /** HTTP requests and bytes sent (request line + headers + body) per flush or scrape. */
  requests: number;
  bytes: number;
}

/** The kinds a workload's series j belongs to, and the kinds it scrapes. */
const kindOf = (w: Workload, j: number): Kind => (w === "mixed" ? KINDS[j % KINDS.length]! : w);
const kindsOf = (w: Workload): readonly Kind[] => (w === "mixed" ? KINDS : [w]);

/** Update k of an invocation: series k mod S, a value spread over the default buckets. */
function update(w: Workload, k: number, s: number): Update {
  const j = k % s;
  return { kind: kindOf(w, j), series: `s${j}`, value: ((k * 7919) % 1000) / 100 + 0.001 };
}

/** Our metrics of the kinds a workload uses, in one registry (one isolate). */
function ourMetrics(registry: Registry, w: Workload) {
  const registers = [registry];
  const labelNames = ["series"] as const;
  const uses = (k: Kind) => kindsOf(w).includes(k);
  return {
    counter: uses("counter")
      ? new Counter({ name: METRIC.counter, help: "c", labelNames, registers })
      : undefined,
    histogram: uses("histogram")
      ? new Histogram({
          name: METRIC.histogram,
          help: "h",
          labelNames,
          buckets: DEFAULT_BUCKETS,
          registers,
        })
      : undefined,
    gauge: uses("gauge")
      ? new Gauge({ name: METRIC.gauge, help: "g", labelNames, expire: 3600, registers })
      : undefined,
    summary: uses("summary")
      ? new Summary({ name: METRIC.summary, help: "s", labelNames, registers })
      : undefined,
  };
}
type OurMetrics = ReturnType<typeof ourMetrics>;

function applyOurs(m: OurMetrics, u: Update): void {
  const labels = { series: u.series };
  switch (u.kind) {
    case "counter":
      m.counter!.inc(labels);
      return;
    case "histogram":
      m.histogram!.observe(labels, u.value);
      return;
    case "gauge":
      m.gauge!.set(labels, u.value);
      return;
    case "summary":
      m.summary!.observe(labels, u.value);
      return;
  }
}

function divided(counts: Record<string, number>, n: number): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / n]));
}

async function measure(stack: BenchStack, times: number, run: () => Promise<void>) {
  stack.resetCounts();
  const before = await stack.billing();
  for (let i = 0; i < times; i++) await run();
  const bill = billingSince(before, await stack.billing());
  const counts = stack.counts();
  return {
    billed: bill.billed / times,
    byCommand: divided(bill.byCommand, times),
    requests: counts.requests / times,
    bytes: counts.bytesSent / times,
  } satisfies Measure;
}

interface Clients {
  ours: (prefix: string) => Registry;
  plain: Redis;
  pipelined: Redis;
}

function clients(stack: BenchStack): Clients {
  const { proxyUrl: url, token } = stack;
  return {
    ours: (prefix) =>
      new Registry({
        redis: new Redis({ url, token }),
        prefix,
        onError: (e) => {
          throw e;
        },
      }),
    plain: new Redis({ url, token, enableAutoPipelining: false }),
    pipelined: new Redis({ url, token, enableAutoPipelining: true }),
  };
}

interface FlushRow {
  workload: Workload;
  k: number;
  s: number;
  /** The isolate's first flush (EVAL with the script text). */
  cold: Measure;
  results: Record<Strategy, Measure>;
}

async function flushRow(stack: BenchStack, c: Clients, w: Workload, k: number, s: number) {
  const tag = `f:${w}:${k}:${s}`;
  const registry = c.ours(`${tag}:ours`);
  const metrics = ourMetrics(registry, w);
  const updates = Array.from({ length: k }, (_, i) => update(w, i, s));
  const ours = async () => {
    for (const u of updates) applyOurs(metrics, u);
    await registry.flush();
  };
  const cold = await measure(stack, 1, ours);
  const results: Record<Strategy, Measure> = {
    ours: await measure(stack, INVOCATIONS, ours),
    perCall: await measure(stack, PEER_INVOCATIONS, async () => {
      for (const u of updates) {
        for (const call of naiveCalls(tag, u, "i0")) await call(c.plain);
      }
    }),
    autoPipelined: await measure(stack, PEER_INVOCATIONS, async () => {
      await Promise.all(
        updates.flatMap((u) => naiveCalls(tag, u, "i0").map((f) => f(c.pipelined))),
      );
    }),
    seedMulti: await measure(stack, PEER_INVOCATIONS, async () => {
      await Promise.all(updates.map((u) => seedTransaction(c.plain, tag, u, 0)));
    }),
  };
  return { workload: w, k, s, cold, results } satisfies FlushRow;
}

interface ScrapeRow {
  workload: Workload;
  s: number;
  /** Instances whose gauges are live. */
  instances: number;
  results: Record<Strategy, Measure>;
}

async function scrapeRow(stack: BenchStack, c: Clients, w: Workload, s: number, n: number) {
  const tag = `s:${w}:${s}:${n}`;
  const isolates = Array.from({ length: n }, () => {
    const registry = c.ours(`${tag}:ours`);
    return { registry, metrics: ourMetrics(registry, w) };
  });
  // Every series once; gauges from every instance, the other kinds from the first.
  for (const [i, iso] of isolates.entries()) {
    for (let j = 0; j < s; j++) {
      const u = update(w, j, s);
      if (u.kind === "gauge" || i === 0) applyOurs(iso.metrics, u);
    }
    await iso.registry.flush();
  }
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < s; j++) {
      const u = update(w, j, s);
      if (u.kind !== "gauge" && i > 0) continue;
      writes.push(...naiveCalls(tag, u, `i${i}`).map((f) => f(c.pipelined)));
      writes.push(seedTransaction(c.pipelined, tag, u, i));
    }
  }
  await Promise.all(writes);

  const reader = isolates[0]!.registry;
  await reader.metrics(); // the first scrape of an isolate sends the script text
  const kinds = kindsOf(w);
  const results: Record<Strategy, Measure> = {
    ours: await measure(stack, 1, async () => {
      await reader.metrics();
    }),
    perCall: await measure(stack, 1, () => naiveScrape(c.plain, tag, kinds, false)),
    autoPipelined: await measure(stack, 1, () => naiveScrape(c.pipelined, tag, kinds, true)),
    seedMulti: await measure(stack, 1, () => seedScrape(c.plain, tag, kinds)),
  };
  return { workload: w, s, instances: n, results } satisfies ScrapeRow;
}

const times = (ours: number, peer: number) => (ours === 0 ? "-" : `${fmt(peer / ours)}×`);

function printFlushTables(rows: FlushRow[]): void {
  for (const w of WORKLOADS) {
    const mine = rows.filter((r) => r.workload === w);
    printTable(
      `Flush, ${w}: billed commands per flush (Upstash's rule: request commands + script commands); × = peer / ours`,
      ["K", "S", "ours", "(a) per call", "×", "(b) auto-pipe", "×", "(c) seed MULTI", "×"],
      mine.map((r) => {
        const ours = r.results.ours.billed;
        const cells: (string | number)[] = [String(r.k), String(r.s), ours];
        for (const p of PEERS) cells.push(r.results[p].billed, times(ours, r.results[p].billed));
        return cells;
      }),
    );
    printTable(
      `Flush, ${w}: HTTP requests and bytes sent per flush`,
      ["K", "S", "req ours", "(a)", "(b)", "(c)", "bytes ours", "(a)", "×", "(b)", "×", "(c)", "×"],
      mine.map((r) => {
        const o = r.results.ours;
        const cells: (string | number)[] = [String(r.k), String(r.s), o.requests];
        for (const p of PEERS) cells.push(r.results[p].requests);
        cells.push(o.bytes);
        for (const p of PEERS) cells.push(r.results[p].bytes, times(o.bytes, r.results[p].bytes));
        return cells;
      }),
    );
  }
}

function printScrapeTable(rows: ScrapeRow[]): void {
  printTable(
    "Scrape: billed commands and HTTP requests per scrape of every series; × = peer / ours",
    [
      "type",
      "S",
      "live inst.",
      "ours",
      "(a)/(b)",
      "×",
      "(c) seed",
      "×",
      "req ours",
      "(a)",
      "(b)",
      "(c)",
    ],
    rows.map((r) => {
      const o = r.results;
      return [
        r.workload,
        String(r.s),
        String(r.instances),
        o.ours.billed,
        o.perCall.billed,
        times(o.ours.billed, o.perCall.billed),
        o.seedMulti.billed,
        times(o.ours.billed, o.seedMulti.billed),
        o.ours.requests,
        o.perCall.requests,
        o.autoPipelined.requests,
        o.seedMulti.requests,
      ];
    }),
  );
}

/** Issue 10's targets against the worst case measured. */
function targets(flush: FlushRow[], scrape: ScrapeRow[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const w of WORKLOADS) {
    const worst = Math.max(
      ...flush.filter((r) => r.workload === w).map((r) => r.results.ours.billed),
    );
    out.push({
      what: `flush, ${w}`,
      worst,
      target: FLUSH_TARGET[w],
      met: worst <= FLUSH_TARGET[w],
    });
  }
  // A scrape may cost 8 plus one per live gauge instance.
  const live = (r: ScrapeRow) => (hasGauges(r) ? r.instances : 0);
  const worst = Math.max(...scrape.map((r) => r.results.ours.billed - live(r)));
  out.push({
    what: "scrape, billed − live gauge instances",
    worst,
    target: SCRAPE_BASE,
    met: worst <= SCRAPE_BASE,
  });
  console.log("\nTargets (issue 10), worst case over every K and S:");
  for (const t of out) {
    console.log(
      `  ${t["met"] ? "met    " : "MISSED "} ${t["what"]}: ${fmt(t["worst"] as number)} ≤ ${t["target"]}`,
    );
  }
  return out;
}

function chart(flush: FlushRow[], scrape: ScrapeRow[]): string {
  const s = SS.includes(100) ? 100 : SS[SS.length - 1]!;
  const chosen = flush.filter((r) => r.workload === "mixed" && r.s === s);
  const n = INSTANCES[INSTANCES.length - 1]!;
  const scraped = scrape.filter((r) => r.s === s && (r.instances === n || !hasGauges(r)));
  const flushPanel = (m: "billed" | "requests" | "bytes", title: string) => ({
    title: `${title} per flush, K updates over ${s} series of all four types (less is better)`,
    unit: "per flush",
    series: STRATEGIES.map((x) => TITLES[x]),
    log: true,
    groups: chosen.map((r) => ({
      label: `K = ${r.k} updates`,
      values: STRATEGIES.map((x) => r.results[x][m]),
    })),
  });
  return barChart([
    flushPanel("billed", "Billed Upstash commands"),
    flushPanel("requests", "HTTP requests"),
    flushPanel("bytes", "Bytes sent"),
    {
      title: `Billed Upstash commands per scrape, ${s} series, gauges from ${n} instances (less is better)`,
      unit: "per scrape",
      series: STRATEGIES.map((x) => TITLES[x]),
      log: true,
      groups: scraped.map((r) => ({
        label: r.workload,
        values: STRATEGIES.map((x) => r.results[x].billed),
      })),
    },
  ]);
}

const hasGauges = (r: { workload: Workload }) => r.workload === "gauge" || r.workload === "mixed";

async function main(): Promise<void> {
  const stack = await startBenchStack({ billing: true });
  const c = clients(stack);
  const flush: FlushRow[] = [];
  const scrape: ScrapeRow[] = [];
  try {
    for (const w of WORKLOADS) {
      for (const k of KS) for (const s of SS) flush.push(await flushRow(stack, c, w, k, s));
      for (const s of SS) {
        for (const n of hasGauges({ workload: w }) ? INSTANCES : [1]) {
          scrape.push(await scrapeRow(stack, c, w, s, n));
        }
      }
      console.log(`${w}: done`);
    }
  } finally {
    await stack.stop();
  }

  printFlushTables(flush);
  printScrapeTable(scrape);
  const met = targets(flush, scrape);
  const cold = flush.find((r) => r.workload === "mixed") ?? flush[0]!;
  console.log(
    `\nFirst flush of an isolate (EVAL with the script text), mixed K=${cold.k} S=${cold.s}: ` +
      `${fmt(cold.cold.bytes)} B sent, ${fmt(cold.cold.billed)} billed`,
  );

  writeResults(
    "cost",
    {
      description:
        "Billed commands as Upstash bills them (each command of a request + every command a script runs), counted by the local Upstash server's billing meter; HTTP requests and bytes sent counted at a proxy. Flush: K updates over S series per invocation, averaged over warm flushes; scrape: every series, gauges from N live instances.",
      rule: "billed = commands in the requests (MULTI/EXEC not counted) + commands run by scripts",
      invocationsAveraged: INVOCATIONS,
      peerInvocationsAveraged: PEER_INVOCATIONS,
      strategies: TITLES,
      peers: "bench/lib/cost-peers.ts",
      targets: met,
      flush,
      scrape,
    },
    chart(flush, scrape),
  );
}

await main();
