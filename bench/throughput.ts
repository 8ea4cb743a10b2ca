// Throughput: sustained invocations/s of the example Worker (default flush interval) through
// several Miniflare instances (each its own workerd process, standing for isolates) into one
// local Redis, and what reached Redis per invocation: write requests and billed commands,
// counted as Upstash bills them (each EVALSHA plus every command its script ran, from INFO
// commandstats). With one write per isolate per interval, billed commands per invocation fall
// as the load grows. Also checks that no request went uncounted or counted twice:
// http_requests_total in Redis must grow by exactly the number of responses.
import type { Miniflare } from "miniflare";
import { fmt, printTable, writeResults } from "./lib/report.ts";
import { barChart } from "./lib/svg.ts";
import {
  billedBetween,
  bundleExampleWorker,
  closeWindow,
  requestCounter,
  runLoad,
  runtimeLog,
  scriptCallsBetween,
  settleMs,
  startStackProcess,
  startWorkers,
  workerdCpuSeconds,
} from "./lib/workers.ts";

const INSTANCES = Number(process.env["BENCH_INSTANCES"] ?? 4);
const CONCURRENCY = (process.env["BENCH_CONCURRENCY"] ?? "4,16,64").split(",").map(Number);
const DURATION_MS = Number(process.env["BENCH_DURATION_MS"] ?? 5000);

interface Row {
  instances: number;
  concurrency: number;
  invocations: number;
  invocationsPerSecond: number;
  errors: number;
  flushRequests: number;
  billed: number;
  billedPerInvocation: number;
  counted: number;
  /** The last write landed only after the measured window closed (billed undercounted). */
  late: boolean;
  /** workerd warnings "promise resolved from a different request context" during the row. */
  crossRequestWarnings: number;
  /** CPU time of all workerd processes per invocation (microseconds). */
  cpuMicrosPerInvocation: number;
}

async function main(): Promise<void> {
  const stack = await startStackProcess();
  const counted = requestCounter(stack);
  let workers: Miniflare[] = [];
  const rows: Row[] = [];
  try {
    workers = await startWorkers(await bundleExampleWorker("with"), INSTANCES, stack);
    await runLoad(workers, INSTANCES * 2, 1000); // warm-up
    await new Promise((r) => setTimeout(r, settleMs("with")));
    for (const concurrency of CONCURRENCY) {
      const countedBefore = await counted();
      const warningsBefore = runtimeLog.crossRequestWarnings;
      const cpu = () => workers.reduce((sum, mf) => sum + workerdCpuSeconds(mf), 0);
      const cpuBefore = cpu();
      const before = await stack.commandCalls();
      const load = await runLoad(workers, concurrency, DURATION_MS);
      // Writes ride on waitUntil after the responses: wait for the last interval's write.
      const end = await closeWindow(stack, "with", counted, countedBefore, load.requests);
      const cpuSeconds = cpu() - cpuBefore;
      const billed = billedBetween(before, end.after);
      rows.push({
        instances: INSTANCES,
        concurrency,
        invocations: load.requests,
        invocationsPerSecond: load.requests / load.seconds,
        errors: load.errors,
        flushRequests: scriptCallsBetween(before, end.after),
        billed,
        billedPerInvocation: billed / load.requests,
        counted: end.counted,
        late: end.late,
        crossRequestWarnings: runtimeLog.crossRequestWarnings - warningsBefore,
        cpuMicrosPerInvocation: (cpuSeconds * 1e6) / load.requests,
      });
      console.log(
        `concurrency ${concurrency}: ${load.requests} invocations, ${end.counted} counted`,
      );
    }
  } finally {
    await Promise.all(workers.map((mf) => mf.dispose()));
    await stack.stop();
  }

  printTable(
    `Throughput: ${INSTANCES} Miniflare instances, one local Redis, ${DURATION_MS} ms per row; billed = commandstats deltas (EVALSHA + the commands its script ran); CPU includes the row's last write`,
    [
      "concurrency",
      "invocations",
      "invocations/s",
      "write requests",
      "billed",
      "billed/inv.",
      "workerd CPU µs/inv.",
      "counted in Redis",
      "lost",
      "cross-request warnings",
    ],
    rows.map((r) => [
      String(r.concurrency),
      r.invocations,
      r.invocationsPerSecond,
      r.flushRequests,
      r.billed,
      r.billedPerInvocation,
      r.cpuMicrosPerInvocation,
      r.counted,
      String(r.invocations - r.counted),
      r.crossRequestWarnings,
    ]),
  );
  if (rows.some((r) => r.late)) {
    console.log("\nA row's last write landed after its window closed: its billed is undercounted");
  }

  const svg = barChart([
    {
      title: `Throughput: ${INSTANCES} Worker instances into one Redis (invocations per second)`,
      unit: "invocations per second on this machine (2 cores shared by workerd, Node and Redis)",
      series: ["invocations/s"],
      groups: rows.map((r) => ({
        label: `${r.concurrency} concurrent`,
        values: [r.invocationsPerSecond],
      })),
      format: (v) => fmt(v),
    },
    {
      title:
        "Billed Redis commands per invocation (less is better; one write per isolate per interval)",
      unit: "EVALSHA + the commands its script ran, divided by invocations",
      series: ["billed commands per invocation"],
      groups: rows.map((r) => ({
        label: `${r.concurrency} concurrent`,
        values: [r.billedPerInvocation],
      })),
      format: (v) => v.toFixed(3),
    },
  ]);
  writeResults(
    "throughput",
    {
      description:
        "example Worker (default flush interval) in several Miniflare instances under closed-loop load into one local Redis; write requests and billed commands (commandstats: EVALSHA + the commands its script ran) per invocation; requests counted in Redis vs responses",
      durationMsPerRow: DURATION_MS,
      rows,
    },
    svg,
  );
}

await main();
