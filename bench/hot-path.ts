// Hot path: operations per second of the synchronous metric calls, this library against
// prom-client 15 doing the same calls with the same label values and observations, in one run.
// Neither side does I/O here: our calls only record deltas in memory (the flush is measured
// by the cost benchmark). Label values rotate over 128 combinations in a seeded random order,
// so no side gets a constant key.
import * as prom from "prom-client";
import { Bench } from "tinybench";
import { Counter, Gauge, Histogram, Registry, Summary } from "../src/index.ts";
import { mulberry32, shuffle } from "./lib/prng.ts";
import { printTable, writeResults } from "./lib/report.ts";
import { barChart } from "./lib/svg.ts";

/** Calls per timed iteration: one call is too short for the timer to see. */
const BATCH = 1000;
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 9);
const TIME_MS = Number(process.env["BENCH_TIME_MS"] ?? 250);
const SEQUENCE = 1024; // power of two: index with & (SEQUENCE - 1)

type Labels = { method: string; route: string; status: string };
const LABEL_NAMES = ["method", "route", "status"] as const;

function labelSequence(): Labels[] {
  const random = mulberry32(20261125);
  const methods = ["GET", "POST", "PUT", "DELETE"];
  const routes = [
    "/",
    "/users/:id",
    "/users/:id/orders",
    "/orders",
    "/cart",
    "/login",
    "/search",
    "/health",
  ];
  const statuses = ["200", "201", "404", "500"];
  const all: Labels[] = [];
  for (let i = 0; i < SEQUENCE; i++) {
    all.push({
      method: methods[Math.floor(random() * methods.length)]!,
      route: routes[Math.floor(random() * routes.length)]!,
      status: statuses[Math.floor(random() * statuses.length)]!,
    });
  }
  return shuffle(all, random);
}

function observations(): number[] {
  const random = mulberry32(7);
  // Log-uniform between 1 ms and 10 s: every default bucket gets hits.
  return Array.from({ length: SEQUENCE }, () => 10 ** (random() * 4 - 3));
}

interface Op {
  name: string;
  ours: (i: number) => void;
  prom: (i: number) => void;
}

function operations(): Op[] {
  const labels = labelSequence();
  const values = observations();
  const mask = SEQUENCE - 1;
  const registry = new Registry({ prefix: "bench" });
  const promRegistry = new prom.Registry();
  const ours = { labelNames: LABEL_NAMES, registers: [registry] };
  const theirs = { labelNames: LABEL_NAMES, registers: [promRegistry] };

  const counter = new Counter({ name: "c_total", help: "c", ...ours });
  const promCounter = new prom.Counter({ name: "c_total", help: "c", ...theirs });
  const histogram = new Histogram({ name: "h_seconds", help: "h", ...ours });
  const promHistogram = new prom.Histogram({ name: "h_seconds", help: "h", ...theirs });
  const gauge = new Gauge({ name: "g", help: "g", ...ours });
  const promGauge = new prom.Gauge({ name: "g", help: "g", ...theirs });
  const summary = new Summary({ name: "s_seconds", help: "s", ...ours });
  const promSummary = new prom.Summary({ name: "s_seconds", help: "s", ...theirs });
  const child = new Counter({ name: "child_total", help: "c", ...ours });
  const promChild = new prom.Counter({ name: "child_total", help: "c", ...theirs });

  return [
    {
      name: "counter.inc(labels)",
      ours: (i) => counter.inc(labels[i & mask]!),
      prom: (i) => promCounter.inc(labels[i & mask]!),
    },
    {
      name: "histogram.observe(labels, v)",
      ours: (i) => histogram.observe(labels[i & mask]!, values[i & mask]!),
      prom: (i) => promHistogram.observe(labels[i & mask]!, values[i & mask]!),
    },
    {
      name: "gauge.set(labels, v)",
      ours: (i) => gauge.set(labels[i & mask]!, values[i & mask]!),
      prom: (i) => promGauge.set(labels[i & mask]!, values[i & mask]!),
    },
    {
      name: "summary.observe(labels, v)",
      ours: (i) => summary.observe(labels[i & mask]!, values[i & mask]!),
      prom: (i) => promSummary.observe(labels[i & mask]!, values[i & mask]!),
    },
    {
      name: "labels(m, r, s).inc()",
      ours: (i) => {
        const l = labels[i & mask]!;
        child.labels(l.method, l.route, l.status).inc();
      },
      prom: (i) => {
        const l = labels[i & mask]!;
        promChild.labels(l.method, l.route, l.status).inc();
      },
    },
  ];
}

/** A task body running BATCH calls, continuing the label rotation across iterations. */
function batched(call: (i: number) => void): () => void {
  let i = 0;
  return () => {
    const end = i + BATCH;
    for (; i < end; i++) call(i);
  };
}

async function main(): Promise<void> {
  const ops = operations();
  const perRound = new Map<string, number[]>();
  const ratios = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const op of ops) {
      // The two sides of one operation run back to back, so a ratio compares moments with the
      // same background load; which side goes first alternates between rounds.
      const bench = new Bench({ time: TIME_MS, warmupTime: 50, retainSamples: false });
      const sides: ["ours" | "prom", (i: number) => void][] = [
        ["ours", op.ours],
        ["prom", op.prom],
      ];
      if (round % 2 === 1) sides.reverse();
      for (const [side, fn] of sides) bench.add(side, batched(fn));
      await bench.run();
      const rate: Record<string, number> = {};
      for (const task of bench.tasks) {
        const r = task.result;
        if (r.state !== "completed") throw new Error(`${op.name} ${task.name}: ${r.state}`);
        rate[task.name] = (BATCH * 1000) / r.latency.mean;
        const key = `${op.name}|${task.name}`;
        perRound.set(key, [...(perRound.get(key) ?? []), rate[task.name]!]);
      }
      ratios.set(op.name, [...(ratios.get(op.name) ?? []), rate["ours"]! / rate["prom"]!]);
    }
    console.log(`round ${round + 1}/${ROUNDS} done`);
  }

  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)]!;
  const rows = ops.map((op) => {
    const r = sorted(ratios.get(op.name)!);
    return {
      operation: op.name,
      oursOpsPerSec: median(perRound.get(`${op.name}|ours`)!),
      promClientOpsPerSec: median(perRound.get(`${op.name}|prom`)!),
      ratio: median(r),
      ratioMin: r[0]!,
      ratioMax: r[r.length - 1]!,
    };
  });

  printTable(
    `Hot path: median of ${ROUNDS} paired rounds (${BATCH} calls per sample); ratio = ours / prom-client, median of the per-round ratios (≥ 1: at least as fast)`,
    ["operation", "prometheus-upstash ops/s", "prom-client 15 ops/s", "ratio", "ratio range"],
    rows.map((r) => [
      r.operation,
      r.oursOpsPerSec,
      r.promClientOpsPerSec,
      `${r.ratio.toFixed(2)}×`,
      `${r.ratioMin.toFixed(2)}–${r.ratioMax.toFixed(2)}`,
    ]),
  );

  const svg = barChart([
    {
      title: "Hot path: synchronous metric calls (operations per second, more is better)",
      unit: "million operations per second, same labels and values for both, one run",
      series: ["prometheus-upstash", "prom-client 15"],
      groups: rows.map((r) => ({
        label: r.operation,
        values: [r.oursOpsPerSec / 1e6, r.promClientOpsPerSec / 1e6],
      })),
      format: (n) => `${n.toFixed(n < 10 ? 2 : 1)}M`,
    },
  ]);
  writeResults(
    "hot-path",
    {
      description:
        "ops/s of synchronous metric calls, 128 label combinations in seeded random order; each round runs both sides of an operation back to back; ratio = median of per-round ratios",
      batch: BATCH,
      rounds: ROUNDS,
      timePerTaskMs: TIME_MS,
      results: rows,
    },
    svg,
  );
}

await main();
