// The Hono middleware adds no Redis round trip before the response: with a Redis that takes
// 500 ms per request, responses still come back at once, and the flush rides on waitUntil.
import { Redis } from "@upstash/redis";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prometheus } from "../../src/adapters/hono.ts";
import { Registry } from "../../src/index.ts";
import { sharedStack, uniquePrefix } from "../helpers/stack.ts";
import { type SlowProxy, startSlowProxy } from "./slow-proxy.ts";

let proxy: SlowProxy;
beforeAll(async () => {
  proxy = await startSlowProxy(sharedStack().url);
  proxy.delayMs = 500;
});
afterAll(async () => {
  await proxy.close();
});

function makeApp(flushIntervalMs?: number) {
  const registry = new Registry({
    redis: new Redis({ url: proxy.url, token: sharedStack().token }),
    prefix: uniquePrefix("hono-path"),
  });
  const { registerMetrics } = prometheus({ registry, flushIntervalMs });
  const app = new Hono();
  app.use("*", registerMetrics);
  app.get("/items/:id", (c) => c.text(`item ${c.req.param("id")}`));
  return { app, registry };
}

describe("hono middleware on the response path", () => {
  it("responds before the flush and hands the flush to executionCtx.waitUntil", async () => {
    const { app, registry } = makeApp();
    const handedOver: Promise<unknown>[] = [];
    const ctx = {
      waitUntil: (p: Promise<unknown>) => handedOver.push(p),
      passThroughOnException() {},
      props: {},
    };
    const start = performance.now();
    const res = await app.fetch(new Request("http://app.test/items/1"), {}, ctx);
    expect(await res.text()).toBe("item 1");
    expect(performance.now() - start).toBeLessThan(200);
    expect(handedOver).toHaveLength(1);
    // The flush is still under way: the response did not wait for it.
    const state = await Promise.race([
      handedOver[0]!.then(() => "flushed"),
      new Promise((r) => setTimeout(() => r("pending"), 100)),
    ]);
    expect(state).toBe("pending");
    await handedOver[0];
    proxy.delayMs = 0;
    expect(await registry.metrics()).toMatch(
      /^http_requests_total\{method="GET",route="\/items\/:id",status="200",ok="true"\} 1$/m,
    );
    proxy.delayMs = 500;
  });

  it("without an execution context (Node servers) the flush runs in the background", async () => {
    const { app, registry } = makeApp();
    const start = performance.now();
    const res = await app.fetch(new Request("http://app.test/items/2"));
    expect(res.status).toBe(200);
    expect(performance.now() - start).toBeLessThan(200);
    await registry.flush(); // joins the flush under way
    proxy.delayMs = 0;
    expect(await registry.metrics()).toMatch(/route="\/items\/:id",status="200",ok="true"\} 1$/m);
    proxy.delayMs = 500;
  });

  it("shares one write per interval by default; flushIntervalMs: 0 writes after each request", async () => {
    proxy.delayMs = 0;
    const written: Record<string, number> = {};
    for (const interval of [undefined, 0]) {
      const { app, registry } = makeApp(interval);
      const handedOver: Promise<unknown>[] = [];
      const ctx = {
        waitUntil: (p: Promise<unknown>) => handedOver.push(p),
        passThroughOnException() {},
        props: {},
      };
      const before = proxy.requests;
      for (let i = 0; i < 5; i++) {
        await app.fetch(new Request(`http://app.test/items/${i}`), {}, ctx);
        // With interval 0, one write after each request (awaited, so none overlap); by
        // default, the first request writes at once and the next four wait for the next write.
        if (interval === 0 || i === 0) await handedOver.at(-1);
        if (interval === undefined && i === 0) handedOver.length = 0;
      }
      if (interval === undefined) {
        // the next write is due 5 s after the first
        const state = await Promise.race([
          Promise.all(handedOver).then(() => "written"),
          new Promise((r) => setTimeout(() => r("waiting"), 100)),
        ]);
        expect(state).toBe("waiting");
      }
      await Promise.all(handedOver);
      written[String(interval)] = proxy.requests - before;
      expect(await registry.metrics()).toMatch(
        /^http_requests_total\{[^}]*route="\/items\/:id"[^}]*\} 5$/m,
      );
    }
    expect(written).toEqual({ undefined: 2, 0: 5 });
    proxy.delayMs = 500;
  }, 15_000);

  it("refuses a flush interval that is not a finite number ≥ 0", () => {
    expect(() => prometheus({ flushIntervalMs: -1 })).toThrow(/flushIntervalMs must be/);
  });
});
