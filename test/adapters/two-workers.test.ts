// Two Worker instances — two Miniflare instances, each its own workerd process running the
// example Worker — add into the same counters in the run-wide local Upstash server.
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleExampleWorker } from "../../tools/bundle-worker.ts";
import { type LocalStack, startLocalStack } from "../../tools/local-upstash/stack.ts";
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS } from "../../tools/workerd-compat.ts";

let workers: Miniflare[] = [];
// A stack of its own: the example Worker's registry uses the default key prefix, which the
// workerd tests of the same Worker use on the run-wide stack at the same time.
let stack: LocalStack | undefined;

beforeAll(async () => {
  stack = await startLocalStack();
  const script = await bundleExampleWorker();
  workers = [0, 1].map(
    () =>
      new Miniflare(
        convertV4MiniflareOptions({
          modules: true,
          script,
          compatibilityDate: COMPATIBILITY_DATE,
          compatibilityFlags: COMPATIBILITY_FLAGS,
          bindings: {
            UPSTASH_REDIS_REST_URL: stack!.url,
            UPSTASH_REDIS_REST_TOKEN: stack!.token,
          },
        }),
      ),
  );
  await Promise.all(workers.map((mf) => mf.ready));
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map((mf) => mf.dispose()));
  await stack?.stop();
});

function sampleValue(text: string, series: string): number {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

async function scrape(mf: Miniflare): Promise<string> {
  const res = await mf.dispatchFetch("http://example.test/metrics");
  expect(res.status).toBe(200);
  return res.text();
}

describe("two Worker instances", () => {
  it("add into the same counters and histograms, and each serves the global values", async () => {
    const [a, b] = workers as [Miniflare, Miniflare];
    const users = 'route="/users/:id"';
    const series = `http_requests_total{method="GET",${users},status="200",ok="true"}`;
    const count = `http_request_duration_seconds_count{method="GET",${users},status="200",ok="true"}`;
    const accepted = 'example_orders_total{outcome="accepted"}';
    const before = await scrape(a);

    const drive = async (mf: Miniflare, n: number) => {
      for (let i = 1; i <= n; i++) {
        const res = await mf.dispatchFetch(`http://example.test/users/${i}`);
        await res.arrayBuffer();
        expect(res.status).toBe(200);
      }
      const order = await mf.dispatchFetch("http://example.test/orders", {
        method: "POST",
        body: JSON.stringify({ items: 2 }),
      });
      expect(order.status).toBe(201);
    };
    await Promise.all([drive(a, 7), drive(b, 5)]);

    // Flushes ride on waitUntil after each response; poll until all of them have landed.
    const want = sampleValue(before, series) + 12;
    const delta = (text: string, name: string) =>
      sampleValue(text, name) - sampleValue(before, name);
    let after = "";
    for (let tries = 0; tries < 100; tries++) {
      after = await scrape(b);
      if (sampleValue(after, series) >= want && delta(after, accepted) >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(sampleValue(after, series)).toBe(want);
    expect(delta(after, count)).toBe(12);
    expect(delta(after, accepted)).toBe(2);
    // Either instance serves the same global view.
    expect(sampleValue(await scrape(a), series)).toBe(want);
  });
});
