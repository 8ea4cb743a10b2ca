// Response-path overhead in a Worker: p50/p99 latency of the example Worker (Miniflare, one
// workerd instance) with the prometheus-upstash Hono middleware versus the same Worker built
// with a pass-through in its place. Three loads: a fixed arrival rate (open loop, below
// saturation), one caller sending back to back, and 16 concurrent callers. The local Upstash
// stack runs in a process of its own; with the middleware every request schedules a flush
// through waitUntil, which runs after the response but on the same isolate (and, here, the same
// two CPU cores as Redis, the stack and the load generator). Variants alternate over rounds so
// drift (other load on the machine) hits both alike.
import type { Miniflare } from "miniflare";
import { fmt, printTable, ratio, writeResults } from "./lib/report.ts";
import { barChart } from "./lib/svg.ts";
import {
  bundleExampleWorker,
  type LoadResult,
  percentile,
  runFixedRate,
  runLoad,
  startStackProcess,
  startWorkers,
  type Variant,
  workerdCpuSeconds,
} from "./lib/workers.ts";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3);
const DURATION_MS = Number(process.env["BENCH_DURATION_MS"] ?? 3000);
const RATE = Number(process.env["BENCH_RATE"] ?? 200);
const VARIANTS: Variant[] = ["with", "without"];

interface Load {
  name: string;
  run: (mf: Miniflare) => Promise<LoadResult>;
}

const LOADS: Load[] = [
  { name: `${RATE} req/s fixed rate`, run: (mf) => runFixedRate([mf], RATE, DURATION_MS) },
  { name: "1 caller, back to back", run: (mf) => runLoad([mf], 1, DURATION_MS) },
  { name: "16 concurrent callers", run: (mf) => runLoad([mf], 16, DURATION_MS) },
];

interface Row {
  load: string;
  variant: Variant;
  requests: number;
  errors: number;
  requestsPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  flushRequests: number;
  /** CPU time of the Worker's workerd process per request (microseconds): what Workers bill. */
  cpuMicrosPerRequest: number;
}

async function main(): Promise<void> {
  const stack = await startStackProcess();
  const workers: Partial<Record<Variant, Miniflare>> = {};
  const rows: Row[] = [];
  try {
    for (const variant of VARIANTS) {
      const [mf] = await startWorkers(await bundleExampleWorker(variant), 1, stack);
      workers[variant] = mf!;
      await runLoad([mf!], 4, 1000); // warm-up: JIT, connections, the flush script's EVAL
    }
    for (const load of LOADS) {
      const latencies: Record<Variant, number[]> = { with: [], without: [] };
      const zero = () => ({ requests: 0, errors: 0, seconds: 0, flushes: 0, cpu: 0 });
      const totals = { with: zero(), without: zero() };
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
        for (const variant of order) {
          const mf = workers[variant]!;
          const before = await stack.commandCalls();
          const cpuBefore = workerdCpuSeconds(mf);
          const r = await load.run(mf);
          await new Promise((res) => setTimeout(res, 300)); // let the last flushes land
          const after = await stack.commandCalls();
          const t = totals[variant];
          t.cpu += workerdCpuSeconds(mf) - cpuBefore;
          for (const script of ["evalsha", "eval"]) {
            t.flushes += (after[script] ?? 0) - (before[script] ?? 0);
          }
          latencies[variant].push(...r.latencies);
          t.requests += r.requests;
          t.errors += r.errors;
          t.seconds += r.seconds;
        }
      }
      for (const variant of VARIANTS) {
        const sorted = latencies[variant].sort((a, b) => a - b);
        const t = totals[variant];
        rows.push({
          load: load.name,
          variant,
          requests: t.requests,
          errors: t.errors,
          requestsPerSecond: t.requests / t.seconds,
          p50: percentile(sorted, 50),
          p90: percentile(sorted, 90),
          p99: percentile(sorted, 99),
          flushRequests: t.flushes,
          cpuMicrosPerRequest: (t.cpu * 1e6) / t.requests,
        });
      }
      console.log(`${load.name}: done`);
    }
  } finally {
    await Promise.all(Object.values(workers).map((mf) => mf?.dispose()));
    await stack.stop();
  }

  const pairs = LOADS.map(({ name }) => ({
    name,
    w: rows.find((r) => r.load === name && r.variant === "with")!,
    wo: rows.find((r) => r.load === name && r.variant === "without")!,
  }));
  printTable(
    `Worker latency (ms, dispatchFetch round trip), ${ROUNDS} alternating rounds of ${DURATION_MS} ms per load; ratio = with / without (1 = no overhead)`,
    ["load", "measure", "with middleware", "without", "ratio"],
    pairs.flatMap(({ name, w, wo }) => [
      [name, "p50 ms", w.p50, wo.p50, ratio(w.p50, wo.p50)],
      [name, "p90 ms", w.p90, wo.p90, ratio(w.p90, wo.p90)],
      [name, "p99 ms", w.p99, wo.p99, ratio(w.p99, wo.p99)],
      [
        name,
        "requests/s",
        w.requestsPerSecond,
        wo.requestsPerSecond,
        ratio(w.requestsPerSecond, wo.requestsPerSecond),
      ],
      [
        name,
        "workerd CPU µs/req",
        w.cpuMicrosPerRequest,
        wo.cpuMicrosPerRequest,
        ratio(w.cpuMicrosPerRequest, wo.cpuMicrosPerRequest),
      ],
      [
        name,
        "flush requests",
        w.flushRequests,
        wo.flushRequests,
        `${fmt(w.flushRequests / w.requests)}/req`,
      ],
    ]),
  );
  const errors = rows.reduce((n, r) => n + r.errors, 0);
  if (errors > 0) console.log(`\n${errors} responses were 5xx`);

  const svg = barChart(
    pairs.map(({ name, w, wo }) => ({
      title: `Example Worker latency, ${name} (ms, less is better)`,
      unit: "milliseconds per request, Miniflare dispatchFetch round trip",
      series: ["with the prometheus-upstash middleware", "without (pass-through)"],
      groups: (["p50", "p90", "p99"] as const).map((p) => ({ label: p, values: [w[p], wo[p]] })),
      format: (v: number) => `${v.toFixed(2)} ms`,
    })),
  );
  writeResults(
    "worker-overhead",
    {
      description:
        "example Worker in one Miniflare instance, with the Hono middleware vs a pass-through swapped in at bundle time; fixed-rate and closed-loop loads; the local Upstash stack in its own process",
      rounds: ROUNDS,
      durationMsPerRound: DURATION_MS,
      rows,
    },
    svg,
  );
}

await main();
