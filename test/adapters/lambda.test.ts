// The Lambda wrapper awaits the flush before returning (Lambda freezes the instance after the
// return), is bounded by its timeout, and never fails the invocation because Redis did.
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withMetrics } from "../../src/adapters/lambda.ts";
import { Counter, Registry } from "../../src/index.ts";
import { sharedStack, uniquePrefix } from "../helpers/stack.ts";
import { type SlowProxy, startSlowProxy } from "./slow-proxy.ts";

let proxy: SlowProxy;

beforeAll(async () => {
  proxy = await startSlowProxy(sharedStack().url);
});
afterAll(async () => {
  await proxy.close();
});

function setup(url = proxy.url, flushIntervalMs?: number) {
  const errors: unknown[] = [];
  const redis = new Redis({ url, token: sharedStack().token, retry: false });
  const registry = new Registry({
    redis,
    prefix: uniquePrefix("lambda"),
    onError: (e) => errors.push(e),
    flushIntervalMs,
  });
  const invocations = new Counter({
    name: "invocations_total",
    help: "Invocations",
    registers: [registry],
  });
  const handler = withMetrics(
    async (event: { fail?: boolean }) => {
      invocations.inc();
      if (event.fail) throw new Error("handler failed");
      return { statusCode: 200, body: "ok" };
    },
    { registry, flushTimeoutMs: 5_000 },
  );
  // A reader straight to the stack, to see what reached Redis.
  const reader = new Registry({
    redis: new Redis({ url: sharedStack().url, token: sharedStack().token }),
    prefix: registry.prefix,
  });
  new Counter({ name: "invocations_total", help: "Invocations", registers: [reader] });
  const stored = async () => /invocations_total (\d+)/.exec(await reader.metrics())?.[1];
  return { registry, handler, errors, stored };
}

describe("lambda withMetrics", () => {
  it("writes before every return, whatever the registry's flushIntervalMs", async () => {
    proxy.delayMs = 0;
    proxy.failing = false;
    const { handler, stored } = setup(proxy.url, 60_000);
    for (let i = 1; i <= 3; i++) {
      const start = performance.now();
      await handler({}, {});
      expect(performance.now() - start).toBeLessThan(1000);
      expect(await stored()).toBe(String(i));
    }
  });

  it("has written the metrics when the handler returns", async () => {
    proxy.delayMs = 0;
    proxy.failing = false;
    const { handler, stored } = setup();
    await expect(handler({}, {})).resolves.toEqual({ statusCode: 200, body: "ok" });
    expect(await stored()).toBe("1");
    // Also when the handler throws: flushed, then the error goes on.
    await expect(handler({ fail: true }, {})).rejects.toThrow("handler failed");
    expect(await stored()).toBe("2");
  });

  it("waits for a slow Redis before returning", async () => {
    proxy.delayMs = 400;
    proxy.failing = false;
    try {
      const { handler, stored } = setup();
      const start = performance.now();
      await handler({}, {});
      const took = performance.now() - start;
      expect(took).toBeGreaterThanOrEqual(390);
      expect(await stored()).toBe("1");
    } finally {
      proxy.delayMs = 0;
    }
  });

  it("gives up waiting at flushTimeoutMs and at the invocation's deadline", async () => {
    proxy.delayMs = 1_500;
    try {
      const { registry } = setup();
      const counter = registry.getSingleMetric("invocations_total") as Counter;
      const capped = withMetrics(
        () => {
          counter.inc();
          return "done";
        },
        { registry, flushTimeoutMs: 200 },
      );
      let start = performance.now();
      await expect(capped({}, {})).resolves.toBe("done");
      let took = performance.now() - start;
      expect(took).toBeGreaterThanOrEqual(190);
      expect(took).toBeLessThan(1_000);

      const nearDeadline = withMetrics(
        () => {
          counter.inc();
          return "done";
        },
        { registry, flushTimeoutMs: 5_000 },
      );
      start = performance.now();
      await nearDeadline({}, { getRemainingTimeInMillis: () => 350 });
      took = performance.now() - start;
      expect(took).toBeGreaterThanOrEqual(240); // 350 - the 100 ms margin
      expect(took).toBeLessThan(1_000);
    } finally {
      proxy.delayMs = 0;
    }
  });

  it("does not fail the invocation when Redis fails", async () => {
    proxy.failing = true;
    try {
      const { handler, errors, registry } = setup();
      await expect(handler({}, {})).resolves.toEqual({ statusCode: 200, body: "ok" });
      expect(errors).toHaveLength(1);
      expect(registry.stats.failedFlushes).toBe(1);
    } finally {
      proxy.failing = false;
    }
    // Nothing listening at all (connection refused) is no different.
    const { handler, errors } = setup("http://127.0.0.1:9");
    await expect(handler({}, {})).resolves.toEqual({ statusCode: 200, body: "ok" });
    expect(errors).toHaveLength(1);
  });
});
