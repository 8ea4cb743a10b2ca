// Many requests in one isolate flush while earlier flushes are still in flight. On Workers a
// promise settled by another request's I/O cannot resume this request (workerd cancels such
// continuations and warns), so no flush may wait on another request's promise.
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleExampleWorker } from "../../tools/bundle-worker.ts";
import { type FaultProxy, startFaultProxy } from "../../tools/fault-proxy/proxy.ts";
import { type LocalStack, startLocalStack } from "../../tools/local-upstash/stack.ts";
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS } from "../../tools/workerd-compat.ts";

let stack: LocalStack | undefined;
let proxy: FaultProxy | undefined;
let worker: Miniflare | undefined;
const runtimeLog: string[] = [];

beforeAll(async () => {
  stack = await startLocalStack();
  // A slow Redis: every request held 40 ms, so flushes overlap.
  proxy = await startFaultProxy({ target: stack.url, faults: { delay: 1 }, delayMs: 40 });
  const script = await bundleExampleWorker();
  worker = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script,
      compatibilityDate: COMPATIBILITY_DATE,
      compatibilityFlags: COMPATIBILITY_FLAGS,
      bindings: { UPSTASH_REDIS_REST_URL: proxy.url, UPSTASH_REDIS_REST_TOKEN: stack.token },
      handleStructuredLogs: ({ message }: { message: string }) => runtimeLog.push(message),
    }),
  );
  await worker.ready;
}, 60_000);

afterAll(async () => {
  await worker?.dispose();
  await proxy?.stop();
  await stack?.stop();
});

describe("concurrent requests in one isolate", () => {
  it("all flush, none waits on another request's promise, nothing is lost", async () => {
    const mf = worker!;
    // A closed loop: 16 callers, each sending its next request as soon as the last answered,
    // so requests finish while flushes started by others are still in flight.
    const statuses: number[] = [];
    const until = Date.now() + 1500;
    await Promise.all(
      Array.from({ length: 16 }, async (_, caller) => {
        for (let i = 0; Date.now() < until; i++) {
          const res = await mf.dispatchFetch(
            `http://example.test/users/${((caller * 7 + i) % 100) + 1}`,
          );
          await res.arrayBuffer();
          statuses.push(res.status);
        }
      }),
    );
    const n = statuses.length;
    const responses = statuses;
    expect(responses.filter((s) => s !== 200)).toEqual([]);
    const series = 'http_requests_total{method="GET",route="/users/:id",status="200",ok="true"}';
    let value = 0;
    for (let tries = 0; tries < 100 && value < n; tries++) {
      await new Promise((r) => setTimeout(r, 100));
      const text = await (await mf.dispatchFetch("http://example.test/metrics")).text();
      const line = text.split("\n").find((l) => l.startsWith(`${series} `));
      value = line ? Number(line.slice(series.length + 1)) : 0;
    }
    expect(value).toBe(n);
    expect(runtimeLog.filter((m) => m.includes("different request context"))).toEqual([]);
    // Flushes coalesce: far fewer write requests than invocations.
    expect(proxy!.stats().total).toBeLessThan(n);
  });
});
