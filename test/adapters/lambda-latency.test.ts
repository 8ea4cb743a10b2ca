// What the Lambda wrapper adds to an invocation: one awaited flush (one HTTP request) against
// the local Upstash server. Printed for the docs; the assertion is only a loose sanity bound.
import { Redis } from "@upstash/redis";
import { expect, it } from "vitest";
import { withMetrics } from "../../src/adapters/lambda.ts";
import { Counter, Histogram, Registry } from "../../src/index.ts";
import { sharedStack, uniquePrefix } from "../helpers/stack.ts";

const INVOCATIONS = 200;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

it("adds about one local round trip per invocation", async () => {
  const { url, token } = sharedStack();
  const registry = new Registry({ redis: new Redis({ url, token }), prefix: uniquePrefix("lat") });
  const calls = new Counter({
    name: "calls_total",
    help: "Calls",
    labelNames: ["route"],
    registers: [registry],
  });
  const seconds = new Histogram({
    name: "call_seconds",
    help: "Call time",
    labelNames: ["route"],
    registers: [registry],
  });
  const work = async (event: { route: string }) => {
    const end = seconds.startTimer({ route: event.route });
    calls.inc({ route: event.route });
    end();
    return { statusCode: 200 };
  };
  const wrapped = withMetrics(work, { registry });

  const time = async (fn: (e: { route: string }) => Promise<unknown>) => {
    const samples: number[] = [];
    for (let i = 0; i < INVOCATIONS; i++) {
      const start = performance.now();
      await fn({ route: `/r${i % 5}` });
      samples.push(performance.now() - start);
    }
    return samples.sort((a, b) => a - b);
  };
  await time((e) => wrapped(e, {})); // warm up: script load (EVAL then EVALSHA), connections, JIT
  const bare = await time(work);
  const withFlush = await time((e) => wrapped(e, {}));
  await registry.flush();

  const added = {
    p50: percentile(withFlush, 0.5) - percentile(bare, 0.5),
    p95: percentile(withFlush, 0.95) - percentile(bare, 0.95),
    p99: percentile(withFlush, 0.99) - percentile(bare, 0.99),
  };
  console.log(
    `lambda wrapper, ${INVOCATIONS} invocations against the local Upstash server: ` +
      `added latency p50 ${added.p50.toFixed(2)} ms, p95 ${added.p95.toFixed(2)} ms, ` +
      `p99 ${added.p99.toFixed(2)} ms (bare handler p50 ${percentile(bare, 0.5).toFixed(3)} ms)`,
  );
  expect(registry.stats.failedFlushes).toBe(0);
  expect(added.p50).toBeLessThan(100);
  const text = await registry.metrics();
  expect(text).toContain(`calls_total{route="/r0"} ${(INVOCATIONS / 5) * 3}`);
});
