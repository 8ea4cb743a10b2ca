// Throughput: sustained invocations/s of the example Worker through several Miniflare
// instances (each its own workerd process, standing for isolates) into one local Redis, and
// what reached Redis per invocation: flush requests (each one EVALSHA = one billed command)
// and commands Redis executed. Under concurrency an isolate's flushes coalesce (a flush asked
// for while one is in flight joins a single follow-up), so billed commands per invocation
// fall below 1. Also checks that no request went uncounted: http_requests_total in Redis must
// grow by exactly the number of responses.
import type { Miniflare } from "miniflare";
import { fmt, printTable, writeResults } from "./lib/report.ts";
import { barChart } from "./lib/svg.ts";
import {
  bundleExampleWorker,
  runLoad,
  runtimeLog,
  type StackProcess,
  startStackProcess,
  startWorkers,
  workerdCpuSeconds,
} from "./lib/workers.ts";

const INSTANCES = Number(process.env["BENCH_INSTANCES"] ?? 4);
const CONCURRENCY = (process.env["BENCH_CONCURRENCY"] ?? "4,16,64").split(",").map(Number);
const DURATION_MS = Number(process.env["BENCH_DURATION_MS"] ?? 5000);
/** Where the example Worker's http_requests_total series live (store/scripts.ts). */
const SUMS_KEY = "{prom}:sums";
const COUNTER_FIELD = "chttp_requests_total[";

interface Row {
  instances: number;
  concurrency: number;
  invocations: number;
  invocationsPerSecond: number;
  errors: number;
  flushRequests: number;
  billedPerInvocation: number;
  executedPerInvocation: number;
  counted: number;
  settleMs: number;
  /** workerd warnings "promise resolved from a different request context" during the row. */
  crossRequestWarnings: number;
  /** CPU time of all workerd processes per invocation (microseconds). */
  cpuMicrosPerInvocation: number;
}

/** Sum of every series of http_requests_total, read straight from Redis. */
async function countedRequests(stack: StackProcess): Promise<number> {
  const fields = await stack.redis.hgetall(SUMS_KEY);
  return Object.entries(fields)
    .filter(([field]) => field.startsWith(COUNTER_FIELD))
    .reduce((sum, [, v]) => sum + Number(v), 0);
}

const total = (calls: Record<string, number>) =>
  Object.entries(calls).reduce(
    (n, [name, c]) => (name === "info" || name === "hgetall" ? n : n + c),
    0,
  );

async function main(): Promise<void> {
  const stack = await startStackProcess();
  let workers: Miniflare[] = [];
  const rows: Row[] = [];
  try {
    workers = await startWorkers(await bundleExampleWorker("with"), INSTANCES, stack);
    await runLoad(workers, INSTANCES * 2, 1000); // warm-up
    await new Promise((r) => setTimeout(r, 500));
    for (const concurrency of CONCURRENCY) {
      const countedBefore = await countedRequests(stack);
      const warningsBefore = runtimeLog.crossRequestWarnings;
      const cpu = () => workers.reduce((sum, mf) => sum + workerdCpuSeconds(mf), 0);
      const cpuBefore = cpu();
      const before = await stack.commandCalls();
      const load = await runLoad(workers, concurrency, DURATION_MS);
      // Flushes ride on waitUntil after the responses: wait until the count stops moving.
      const settleStart = performance.now();
      let counted = (await countedRequests(stack)) - countedBefore;
      for (let stable = 0; stable < 3 && performance.now() - settleStart < 10_000; ) {
        await new Promise((r) => setTimeout(r, 100));
        const now = (await countedRequests(stack)) - countedBefore;
        stable = now === counted ? stable + 1 : 0;
        counted = now;
      }
      const settleMs = performance.now() - settleStart;
      const cpuSeconds = cpu() - cpuBefore;
      const after = await stack.commandCalls();
      const flushRequests =
        (after["evalsha"] ?? 0) -
        (before["evalsha"] ?? 0) +
        (after["eval"] ?? 0) -
        (before["eval"] ?? 0);
      rows.push({
        instances: INSTANCES,
        concurrency,
        invocations: load.requests,
        invocationsPerSecond: load.requests / load.seconds,
        errors: load.errors,
        flushRequests,
        billedPerInvocation: flushRequests / load.requests,
        executedPerInvocation: (total(after) - total(before)) / load.requests,
        counted,
        settleMs,
        crossRequestWarnings: runtimeLog.crossRequestWarnings - warningsBefore,
        cpuMicrosPerInvocation: (cpuSeconds * 1e6) / load.requests,
      });
      console.log(`concurrency ${concurrency}: ${load.requests} invocations, ${counted} counted`);
    }
  } finally {
    await Promise.all(workers.map((mf) => mf.dispose()));
    await stack.stop();
  }

  printTable(
    `Throughput: ${INSTANCES} Miniflare instances, one local Redis, ${DURATION_MS} ms per row; billed = flush requests (one EVALSHA each) per invocation`,
    [
      "concurrency",
      "invocations",
      "invocations/s",
      "flush requests",
      "billed/inv.",
      "executed/inv.",
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
      r.billedPerInvocation,
      r.executedPerInvocation,
      r.cpuMicrosPerInvocation,
      r.counted,
      String(r.invocations - r.counted),
      r.crossRequestWarnings,
    ]),
  );

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
      title: "Billed Redis commands per invocation (less is better; flushes coalesce under load)",
      unit: "flush requests (one EVALSHA each) divided by invocations",
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
        "example Worker in several Miniflare instances under closed-loop load into one local Redis; flush requests and executed commands per invocation; requests counted in Redis vs responses",
      durationMsPerRow: DURATION_MS,
      rows,
    },
    svg,
  );
}

await main();
