// What the Upstash bill follows: billed commands per 1,000 requests of the example Worker
// (Miniflare) at fixed arrival rates into one isolate and into each of 4 isolates, with the
// Hono middleware's default flush interval (one write per isolate per interval) and, side by
// side in the same run, with `flushIntervalMs: 0` (a write after every request). Billed
// commands are counted as Upstash bills them — each EVALSHA plus every command its script ran —
// from `INFO commandstats` deltas of this benchmark's own redis-server, never from HTTP bodies.
// After each row's last write, every request must be counted in Redis exactly once.
import type { Miniflare } from "miniflare";
import { WAIT_UNTIL_FLUSH_INTERVAL_MS } from "../src/flush/schedule.ts";
import { fmt, printTable, ratio, writeResults } from "./lib/report.ts";
import { barChart } from "./lib/svg.ts";
import {
  billedBetween,
  bundleExampleWorker,
  closeWindow,
  requestCounter,
  runFixedRate,
  runLoad,
  runtimeLog,
  scriptCallsBetween,
  settleMs,
  startStackProcess,
  startWorkers,
  type Variant,
} from "./lib/workers.ts";

const list = (name: string, fallback: string) =>
  (process.env[name] ?? fallback).split(",").map(Number);
/** Requests per second into each isolate. */
const RATES = list("BENCH_RATES", "20,100");
const ISOLATES = list("BENCH_ISOLATES", "1,4");
const DURATION_MS = Number(process.env["BENCH_DURATION_MS"] ?? 20_000);
const VARIANTS: Variant[] = ["with", "interval-0"];
/** The targets for the default interval: billed commands per 1,000 requests. */
const TARGET_PER_THOUSAND: Record<number, number> = { 20: 100, 100: 20 };

interface Row {
  isolates: number;
  /** Requests per second into each isolate. */
  rate: number;
  variant: Variant;
  requests: number;
  errors: number;
  /** Write requests (EVAL/EVALSHA calls). */
  writes: number;
  /** Commands as Upstash bills them. */
  billed: number;
  billedPerThousand: number;
  counted: number;
  late: boolean;
  crossRequestWarnings: number;
}

async function main(): Promise<void> {
  const stack = await startStackProcess();
  const counted = requestCounter(stack);
  const rows: Row[] = [];
  let workers: Miniflare[] = [];
  try {
    for (const isolates of ISOLATES) {
      for (const variant of VARIANTS) {
        workers = await startWorkers(await bundleExampleWorker(variant), isolates, stack);
        await runLoad(workers, isolates, 500); // warm-up: JIT, connections, the script's EVAL
        await new Promise((r) => setTimeout(r, settleMs(variant)));
        for (const rate of RATES) {
          const countedBefore = await counted();
          const warningsBefore = runtimeLog.crossRequestWarnings;
          const before = await stack.commandCalls();
          const load = await runFixedRate(workers, rate * isolates, DURATION_MS);
          const end = await closeWindow(stack, variant, counted, countedBefore, load.requests);
          const billed = billedBetween(before, end.after);
          rows.push({
            isolates,
            rate,
            variant,
            requests: load.requests,
            errors: load.errors,
            writes: scriptCallsBetween(before, end.after),
            billed,
            billedPerThousand: (billed * 1000) / load.requests,
            counted: end.counted,
            late: end.late,
            crossRequestWarnings: runtimeLog.crossRequestWarnings - warningsBefore,
          });
          console.log(
            `${isolates} isolate(s), ${rate} req/s each, ${variant}: ${load.requests} requests, ${end.counted} counted, ${billed} billed`,
          );
        }
        await Promise.all(workers.map((mf) => mf.dispose()));
        workers = [];
      }
    }
  } finally {
    await Promise.all(workers.map((mf) => mf.dispose()));
    await stack.stop();
  }

  const cases = ISOLATES.flatMap((isolates) => RATES.map((rate) => ({ isolates, rate })));
  const find = (isolates: number, rate: number, variant: Variant) =>
    rows.find((r) => r.isolates === isolates && r.rate === rate && r.variant === variant)!;
  const countedCell = (r: Row) =>
    r.counted === r.requests ? `all ${r.requests}` : `${r.counted} of ${r.requests}`;
  printTable(
    `Billed Upstash commands per 1,000 requests (EVALSHA + the commands its script ran, from INFO commandstats), example Worker in Miniflare, ${DURATION_MS} ms per row at a fixed rate into each isolate; default = flush interval ${WAIT_UNTIL_FLUSH_INTERVAL_MS} ms, interval 0 = flushIntervalMs: 0`,
    [
      "isolates",
      "req/s per isolate",
      "billed/1k default",
      "billed/1k interval 0",
      "default / interval 0",
      "target (default)",
      "writes default",
      "writes interval 0",
      "counted once, default",
      "counted once, interval 0",
      "cross-request warnings",
    ],
    cases.map(({ isolates, rate }) => {
      const d = find(isolates, rate, "with");
      const z = find(isolates, rate, "interval-0");
      const target = TARGET_PER_THOUSAND[rate];
      return [
        String(isolates),
        String(rate),
        d.billedPerThousand,
        z.billedPerThousand,
        ratio(d.billedPerThousand, z.billedPerThousand),
        target === undefined
          ? "-"
          : `≤ ${target} ${d.billedPerThousand <= target ? "(met)" : "(NOT met)"}`,
        d.writes,
        z.writes,
        countedCell(d),
        countedCell(z),
        d.crossRequestWarnings + z.crossRequestWarnings,
      ];
    }),
  );
  const late = rows.filter((r) => r.late).length;
  if (late > 0) {
    console.log(`\n${late} row(s) had a write land after the window closed: billed undercounted`);
  }
  const errors = rows.reduce((n, r) => n + r.errors, 0);
  if (errors > 0) console.log(`\n${errors} responses were 5xx`);

  const svg = barChart([
    {
      title: "Billed Upstash commands per 1,000 requests (less is better)",
      unit: "EVALSHA + the commands its script ran, per 1,000 requests (log scale)",
      series: [`default flush interval (${WAIT_UNTIL_FLUSH_INTERVAL_MS / 1000} s)`, "interval 0"],
      groups: cases.map(({ isolates, rate }) => ({
        label: `${isolates} isolate${isolates > 1 ? "s" : ""}, ${rate} req/s each`,
        values: [
          find(isolates, rate, "with").billedPerThousand,
          find(isolates, rate, "interval-0").billedPerThousand,
        ],
      })),
      log: true,
      format: (v) => fmt(v),
    },
  ]);
  writeResults(
    "flush-cost",
    {
      description:
        "example Worker in Miniflare at fixed request rates into 1 and 4 isolates; billed Upstash commands (commandstats deltas: EVALSHA + the commands its script ran) per 1,000 requests with the default flush interval and with flushIntervalMs: 0; requests counted in Redis after the last write",
      flushIntervalMs: WAIT_UNTIL_FLUSH_INTERVAL_MS,
      durationMsPerRow: DURATION_MS,
      rows,
    },
    svg,
  );
}

await main();
