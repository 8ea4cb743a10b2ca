// The example Worker (worker/index.ts) inside workerd: its routes, custom metrics and /metrics.
// Its flushes wait for one write per 5 s (the middleware's default interval), so requests are
// sent one after the other and their waitUntil work is awaited together (settle()), the way
// requests of one interval share one write.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import app, { type Env } from "../../worker/index.ts";

/** Execution contexts whose waitUntil work (the flushes) has not been awaited yet. */
const pending: ReturnType<typeof createExecutionContext>[] = [];

async function send(path: string, init?: RequestInit, bindings: Env = env as unknown as Env) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://example.test${path}`, init), bindings, ctx);
  const body = new TextDecoder().decode(await res.arrayBuffer());
  pending.push(ctx);
  return { status: res.status, body };
}

/** Waits until every request sent so far has been written (its flush resolved). */
async function settle(): Promise<void> {
  await Promise.all(pending.splice(0).map((ctx) => waitOnExecutionContext(ctx)));
}

afterEach(settle);

/** Values of the exposition's samples, keyed by their line (name and labels). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function scrape(): Promise<Map<string, number>> {
  const res = await send("/metrics");
  expect(res.status).toBe(200);
  return samples(res.body);
}

const total = (labels: string) => `http_requests_total{${labels}}`;

describe("the example Worker in workerd", () => {
  it("records its routes, custom metrics and in-flight gauge", async () => {
    // The Redis keys outlive test files, so compare before and after.
    await send("/");
    await settle();
    const before = await scrape();
    const at = (m: Map<string, number>, key: string) => m.get(key) ?? 0;

    for (const id of [1, 2, 3]) expect((await send(`/users/${id}`)).status).toBe(200);
    expect((await send("/users/555")).status).toBe(404);
    expect((await send("/users/9/orders/77")).status).toBe(200);
    expect((await send("/error")).status).toBe(500);
    expect((await send("/slow?ms=120")).body).toBe("slept 120 ms\n");
    const order = JSON.stringify({ items: 3 });
    expect((await send("/orders", { method: "POST", body: order })).status).toBe(201);
    expect((await send("/orders", { method: "POST", body: "nope" })).status).toBe(400);

    await settle(); // one write for all of them (and for the scrape before)
    const after = await scrape();
    const delta = (key: string) => at(after, key) - at(before, key);
    expect(delta(total('method="GET",route="/users/:id",status="200",ok="true"'))).toBe(3);
    expect(delta(total('method="GET",route="/users/:id",status="404",ok="false"'))).toBe(1);
    expect(
      delta(total('method="GET",route="/users/:id/orders/:orderId",status="200",ok="true"')),
    ).toBe(1);
    expect(delta(total('method="GET",route="/error",status="500",ok="false"'))).toBe(1);
    expect(delta(total('method="POST",route="/orders",status="201",ok="true"'))).toBe(1);
    // The previous scrape itself was counted (after its response).
    expect(delta(total('method="GET",route="/metrics",status="200",ok="true"'))).toBe(1);

    // The slow route's time shows in its histogram (workerd's clock advances across the timer).
    const slow = 'method="GET",route="/slow",status="200",ok="true"';
    expect(delta(`http_request_duration_seconds_count{${slow}}`)).toBe(1);
    expect(delta(`http_request_duration_seconds_bucket{le="0.1",${slow}}`)).toBe(0);
    expect(delta(`http_request_duration_seconds_bucket{le="0.25",${slow}}`)).toBe(1);
    expect(delta(`http_request_duration_seconds_sum{${slow}}`)).toBeGreaterThanOrEqual(0.12);

    expect(delta('example_orders_total{outcome="accepted"}')).toBe(1);
    expect(delta('example_orders_total{outcome="rejected"}')).toBe(1);
    expect(delta('example_order_items_bucket{le="4"}')).toBe(1);
    expect(delta('example_order_items_bucket{le="2"}')).toBe(0);
    expect(delta("example_request_payload_bytes_count")).toBe(2);
    expect(delta("example_request_payload_bytes_sum")).toBe(order.length + 4);
    expect(after.has('example_request_payload_bytes{quantile="0.5"}')).toBe(true);
    // Nothing is in flight between requests.
    expect(after.get("example_requests_in_flight")).toBe(0);
  });

  it("protects /metrics when METRICS_TOKEN is set", async () => {
    const bindings = { ...(env as unknown as Env), METRICS_TOKEN: "letmein" };
    expect((await send("/metrics", {}, bindings)).status).toBe(401);
    const ok = await send("/metrics", { headers: { Authorization: "Bearer letmein" } }, bindings);
    expect(ok.status).toBe(200);
    expect(ok.body).toContain("# TYPE example_requests_in_flight gauge");
  });
});
