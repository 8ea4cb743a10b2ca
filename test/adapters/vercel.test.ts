// The Vercel helper: inside a Vercel request (its request context, as the runtime installs it
// on globalThis) the flush goes to @vercel/functions' waitUntil and the handler returns at
// once; outside one, the flush is awaited before returning.
import { Redis } from "@upstash/redis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { metricsHandler, withMetrics } from "../../src/adapters/vercel.ts";
import { Counter, Registry } from "../../src/index.ts";
import { sharedStack, uniquePrefix } from "../helpers/stack.ts";
import { type SlowProxy, startSlowProxy } from "./slow-proxy.ts";

const REQUEST_CONTEXT = Symbol.for("@vercel/request-context");
let proxy: SlowProxy;

beforeAll(async () => {
  proxy = await startSlowProxy(sharedStack().url);
});
afterAll(async () => {
  await proxy.close();
});
afterEach(() => {
  delete (globalThis as Record<symbol, unknown>)[REQUEST_CONTEXT];
  proxy.delayMs = 0;
});

/** What Vercel's runtime provides per request: a context whose waitUntil we can watch. */
function enterVercelRequest(): Promise<unknown>[] {
  const handedOver: Promise<unknown>[] = [];
  (globalThis as Record<symbol, unknown>)[REQUEST_CONTEXT] = {
    get: () => ({ waitUntil: (p: Promise<unknown>) => handedOver.push(p) }),
  };
  return handedOver;
}

function setup(flushIntervalMs?: number) {
  const { token } = sharedStack();
  const registry = new Registry({
    redis: new Redis({ url: proxy.url, token }),
    prefix: uniquePrefix("vercel"),
    flushIntervalMs,
  });
  const hits = new Counter({ name: "hits_total", help: "Hits", registers: [registry] });
  const GET = withMetrics(
    async (_request: Request) => {
      hits.inc();
      return new Response("hello");
    },
    { registry },
  );
  return { registry, GET };
}

const hitsIn = (text: string) => /^hits_total (\d+)$/m.exec(text)?.[1];

describe("vercel withMetrics", () => {
  it("hands the flush to waitUntil inside a Vercel request and returns without waiting", async () => {
    proxy.delayMs = 500;
    const handedOver = enterVercelRequest();
    const { registry, GET } = setup();
    const start = performance.now();
    const res = await GET(new Request("https://app.test/api/hello"));
    expect(performance.now() - start).toBeLessThan(300);
    expect(await res.text()).toBe("hello");
    expect(handedOver).toHaveLength(1);
    await handedOver[0];
    proxy.delayMs = 0;
    expect(hitsIn(await registry.metrics())).toBe("1");
  });

  it("awaits the flush when there is no Vercel request context", async () => {
    proxy.delayMs = 300;
    const { registry, GET } = setup();
    const start = performance.now();
    await GET(new Request("https://app.test/api/hello"));
    expect(performance.now() - start).toBeGreaterThanOrEqual(290);
    proxy.delayMs = 0;
    expect(hitsIn(await registry.metrics())).toBe("1");
  });

  it("inside a Vercel request, the invocations of one interval share one write", async () => {
    const handedOver = enterVercelRequest();
    const { registry, GET } = setup(400);
    const before = proxy.requests;
    await GET(new Request("https://app.test/api/hello")); // the first writes at once
    for (let i = 0; i < 5; i++) {
      await GET(new Request("https://app.test/api/hello"));
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(handedOver).toHaveLength(6);
    const start = performance.now();
    await Promise.all(handedOver);
    // The five waited for the write due 400 ms after the first.
    expect(performance.now() - start).toBeGreaterThan(200);
    expect(proxy.requests - before).toBe(2);
    expect(hitsIn(await registry.metrics())).toBe("6");
  });

  it("without a request context writes at once, whatever the interval", async () => {
    const { registry, GET } = setup(10_000);
    await GET(new Request("https://app.test/api/hello"));
    const start = performance.now();
    await GET(new Request("https://app.test/api/hello"));
    expect(performance.now() - start).toBeLessThan(1000);
    expect(hitsIn(await registry.metrics())).toBe("2");
  });

  it("uses an explicitly passed waitUntil", async () => {
    const { registry } = setup();
    const counter = registry.getSingleMetric("hits_total") as Counter;
    const handedOver: Promise<unknown>[] = [];
    const POST = withMetrics(
      () => {
        counter.inc(2);
        return new Response("ok");
      },
      { registry, waitUntil: (p) => handedOver.push(p) },
    );
    await POST(new Request("https://app.test/api/x", { method: "POST" }));
    expect(handedOver).toHaveLength(1);
    await handedOver[0];
    expect(hitsIn(await registry.metrics())).toBe("2");
  });

  it("serves /metrics with the token check", async () => {
    const { registry, GET } = setup();
    await GET(new Request("https://app.test/api/hello"));
    const metrics = metricsHandler(registry, { token: "t0ken" });
    expect((await metrics(new Request("https://app.test/api/metrics"))).status).toBe(401);
    const ok = await metrics(
      new Request("https://app.test/api/metrics", { headers: { authorization: "Bearer t0ken" } }),
    );
    expect(ok.status).toBe(200);
    expect(hitsIn(await ok.text())).toBe("1");
  });
});
