// Response-path overhead in a Worker: p50/p99 latency and workerd CPU of the example Worker
// (Miniflare, one workerd instance) with the prometheus-upstash Hono middleware — at its
// default flush interval ("with") and with `flushIntervalMs: 0` ("interval-0", a write after
// every request) — versus the same Worker built with a pass-through in its place ("without").
// Three loads: a fixed arrival rate (open loop, below saturation), one caller sending back to
// back, and 16 concurrent callers. The local Upstash stack runs in a process of its own; with
// the middleware every request schedules a flush through waitUntil, which runs after the
// response but on the same isolate (and, here, the same two CPU cores as Redis, the stack and
// the load generator). Variants alternate over rounds so drift (other load on the machine)
// hits all alike. After each round every variant waits the same time (until the default
// interval's last write has landed), so each round's CPU includes its own writes; then the
// round's requests must all be counted in Redis, once.
import type { Miniflare } from "miniflare";
import { WAIT_UNTIL_FLUSH_INTERVAL_MS } from "../src/flush/schedule.ts";
import { fmt, printTable, ratio, writeResults } from "./lib/report.ts";
import { barChart } from "./lib/svg.ts";
import {
  billedBetween,
  bundleExampleWorker,
  closeWindow,
  type LoadResult,
  percentile,
  requestCounter,
  runFixedRate,
  runLoad,
  scriptCallsBetween,
  settleMs,
  startStackProcess,
  startWorkers,
  type Variant,
  workerdCpuSeconds,
} from "./lib/workers.ts";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3);
const DURATION_MS = Number(process.env["BENCH_DURATION_MS"] ?? 3000);
const RATE = Number(process.env["BENCH_RATE"] ?? 200);
const VARIANTS: Variant[] = ["with", "interval-0", "without"];
/** Every variant waits this long after a round, so the CPU windows are alike. */
const SETTLE_MS = Math.max(...VARIANTS.map(settleMs));

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
  /** Write requests (EVAL/EVALSHA calls). */
  flushRequests: number;
  /** Commands as Upstash bills them: each EVALSHA plus every command its script ran. */
  billed: number;
  /** CPU time of the Worker's workerd process per request (microseconds): what Workers bill. */
  cpuMicrosPerRequest: number;
  /** Requests counted in Redis after the last write (0 for "without", which records nothing). */
  counted: number;
  /** Rounds whose last write landed only after the measured window closed. */
  lateRounds: number;
}

async function main(): Promise<void> {
  const stack = await startStackProcess();
  const counted = requestCounter(stack);
  const workers: Partial<Record<Variant, Miniflare>> = {};
  const rows: Row[] = [];
  try {
    for (const variant of VARIANTS) {
      const [mf] = await startWorkers(await bundleExampleWorker(variant), 1, stack);
      workers[variant] = mf!;
      await runLoad([mf!], 4, 1000); // warm-up: JIT, connections, the flush script's EVAL
    }
    await new Promise((res) => setTimeout(res, SETTLE_MS)); // the warm-ups' last writes
    for (const load of LOADS) {
      const latencies = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]]));
      const zero = () => ({
        requests: 0,
        errors: 0,
        seconds: 0,
        flushes: 0,
        billed: 0,
        cpu: 0,
        counted: 0,
        late: 0,
      });
      const totals = Object.fromEntries(VARIANTS.map((v) => [v, zero()]));
      for (let round = 0; round < ROUNDS; round++) {
        // rotate the order, so each variant runs first, middle and last alike
        const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]!);
        for (const variant of order) {
          const mf = workers[variant]!;
          const countedBefore = variant === "without" ? 0 : await counted();
          const before = await stack.commandCalls();
          const cpuBefore = workerdCpuSeconds(mf);
          const r = await load.run(mf);
          const end = await closeWindow(
            stack,
            variant,
            counted,
            countedBefore,
            r.requests,
            SETTLE_MS,
          );
          const t = totals[variant]!;
          t.cpu += workerdCpuSeconds(mf) - cpuBefore;
          t.flushes += scriptCallsBetween(before, end.after);
          t.billed += billedBetween(before, end.after);
          t.counted += end.counted;
          t.late += end.late ? 1 : 0;
          latencies[variant]!.push(...r.latencies);
          t.requests += r.requests;
          t.errors += r.errors;
          t.seconds += r.seconds;
        }
      }
      for (const variant of VARIANTS) {
        const sorted = latencies[variant]!.sort((a, b) => a - b);
        const t = totals[variant]!;
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
          billed: t.billed,
          cpuMicrosPerRequest: (t.cpu * 1e6) / t.requests,
          counted: t.counted,
          lateRounds: t.late,
        });
      }
      console.log(`${load.name}: done`);
    }
  } finally {
    await Promise.all(Object.values(workers).map((mf) => mf?.dispose()));
    await stack.stop();
  }

  const pairs = LOADS.map(({ name }) => {
    const of = (variant: Variant) => rows.find((r) => r.load === name && r.variant === variant)!;
    return { name, w: of("with"), z: of("interval-0"), wo: of("without") };
  });
  const perThousand = (r: Row) => (r.billed * 1000) / r.requests;
  printTable(
    `Worker latency (ms, dispatchFetch round trip) and workerd CPU, ${ROUNDS} rotating rounds of ${DURATION_MS} ms per load; "with" = default flush interval (${WAIT_UNTIL_FLUSH_INTERVAL_MS} ms), "interval 0" = flushIntervalMs: 0; ratios against "without" (1 = no overhead); targets for "with": CPU ≤ 1.15×, p50 ≤ 1.1×`,
    ["load", "measure", "with", "interval 0", "without", "with / without", "interval 0 / without"],
    pairs.flatMap(({ name, w, z, wo }) => {
      const line = (measure: string, pick: (r: Row) => number): (string | number)[] => [
        name,
        measure,
        pick(w),
        pick(z),
        pick(wo),
        ratio(pick(w), pick(wo)),
        ratio(pick(z), pick(wo)),
      ];
      return [
        line("p50 ms", (r) => r.p50),
        line("p90 ms", (r) => r.p90),
        line("p99 ms", (r) => r.p99),
        line("requests/s", (r) => r.requestsPerSecond),
        line("workerd CPU µs/req", (r) => r.cpuMicrosPerRequest),
        [
          name,
          "write requests / 1,000 req",
          fmt((w.flushRequests * 1000) / w.requests),
          fmt((z.flushRequests * 1000) / z.requests),
          "-",
          "",
          "",
        ],
        [
          name,
          "billed commands / 1,000 req",
          fmt(perThousand(w)),
          fmt(perThousand(z)),
          "-",
          "",
          "",
        ],
        [name, "requests counted once in Redis", countedCell(w), countedCell(z), "-", "", ""],
      ];
    }),
  );
  const errors = rows.reduce((n, r) => n + r.errors, 0);
  if (errors > 0) console.log(`\n${errors} responses were 5xx`);
  const late = rows.reduce((n, r) => n + r.lateRounds, 0);
  if (late > 0) {
    console.log(`\n${late} round(s) had a write land after the window closed: billed undercounted`);
  }

  const svg = barChart(
    pairs.map(({ name, w, z, wo }) => ({
      title: `Example Worker latency, ${name} (ms, less is better)`,
      unit: "milliseconds per request, Miniflare dispatchFetch round trip",
      series: [
        "with the prometheus-upstash middleware (default interval)",
        "with it, flushIntervalMs: 0",
        "without (pass-through)",
      ],
      groups: (["p50", "p90", "p99"] as const).map((p) => ({
        label: p,
        values: [w[p], z[p], wo[p]],
      })),
      format: (v: number) => `${v.toFixed(2)} ms`,
    })),
  );
  writeResults(
    "worker-overhead",
    {
      description:
        "example Worker in one Miniflare instance, with the Hono middleware (default flush interval, and flushIntervalMs: 0) vs a pass-through swapped in at bundle time; fixed-rate and closed-loop loads; the local Upstash stack in its own process; billed = commandstats deltas (EVALSHA + the commands its script ran)",
      flushIntervalMs: WAIT_UNTIL_FLUSH_INTERVAL_MS,
      rounds: ROUNDS,
      durationMsPerRound: DURATION_MS,
      rows,
    },
    svg,
  );
}

/** "n / n" when every request was counted once, else what Redis holds against what was sent. */
function countedCell(r: Row): string {
  return r.counted === r.requests ? `all ${r.requests}` : `${r.counted} of ${r.requests}`;
}

await main();
