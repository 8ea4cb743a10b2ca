// The Hono middleware inside workerd, against the run-wide local Upstash server: requests are
// recorded in memory, flushed through ctx.waitUntil, and the global values read back.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { describe, expect, it } from "vitest";
import { prometheus } from "../../src/adapters/hono.ts";
import { Counter, Registry } from "../../src/index.ts";

interface Bindings {
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
}
const bindings = env as unknown as Bindings;

function uniquePrefix(): string {
  return `wd-${crypto.randomUUID().slice(0, 8)}`;
}

function makeApp(options: Parameters<typeof prometheus>[0] = {}) {
  const registry = options.registry ?? new Registry({ prefix: uniquePrefix() });
  // A short flush interval: each request below waits for its write, one after the other.
  const { registerMetrics, printMetrics } = prometheus({
    flushIntervalMs: 50,
    ...options,
    registry,
  });
  const app = new Hono<{ Bindings: Bindings }>();
  app.use("*", registerMetrics);
  app.get("/metrics", printMetrics);
  app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
  app.post("/orders", (c) => c.text("created", 201));
  app.get("/boom", () => {
    throw new Error("boom");
  });
  app.get("/teapot", () => {
    throw new HTTPException(418, { message: "short and stout" });
  });
  // Hono's default handler would log the thrown error; the status is what matters here.
  app.onError((err, c) => (err instanceof HTTPException ? err.getResponse() : c.text("", 500)));
  return { app, registry };
}

/** One request the way workerd delivers it, waiting for everything handed to waitUntil. */
async function send(app: Hono<{ Bindings: Bindings }>, path: string, init?: RequestInit) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://worker.test${path}`, init), bindings, ctx);
  const body = new TextDecoder().decode(await res.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { status: res.status, body, headers: res.headers };
}

function sampleValue(
  json: Awaited<ReturnType<Registry["getMetricsAsJSON"]>>,
  name: string,
  labels: Record<string, string>,
  metricName = name,
): number | undefined {
  const family = json.find((f) => f.name === name);
  const sample = family?.values.find(
    (v) =>
      (v.metricName ?? name) === metricName &&
      // le and quantile are numbers in prom-client's JSON (le "+Inf" stays text).
      Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val),
  );
  return sample?.value;
}

describe("prometheus-upstash/hono inside workerd", () => {
  it("counts requests by method, status and route pattern, and times them", async () => {
    const { app, registry } = makeApp();
    for (const id of ["1", "2", "3"]) expect((await send(app, `/users/${id}`)).status).toBe(200);
    expect((await send(app, "/orders", { method: "POST" })).status).toBe(201);
    expect((await send(app, "/boom")).status).toBe(500);
    expect((await send(app, "/teapot")).status).toBe(418);
    expect((await send(app, "/nowhere/at/all")).status).toBe(404);

    // The middleware created its Redis client from the env bindings on the first request.
    expect(registry.hasRedis).toBe(true);
    const json = await registry.getMetricsAsJSON();
    const get = { method: "GET", status: "200", ok: "true", route: "/users/:id" };
    expect(sampleValue(json, "http_requests_total", get)).toBe(3);
    expect(
      sampleValue(json, "http_requests_total", { method: "POST", route: "/orders", status: "201" }),
    ).toBe(1);
    expect(
      sampleValue(json, "http_requests_total", { route: "/boom", status: "500", ok: "false" }),
    ).toBe(1);
    expect(sampleValue(json, "http_requests_total", { route: "/teapot", status: "418" })).toBe(1);
    // An unmatched path is labelled with the pattern that saw it, never the raw path.
    const routes = json
      .find((f) => f.name === "http_requests_total")!
      .values.map((v) => v.labels.route);
    expect(routes).not.toContain("/nowhere/at/all");
    expect(routes).not.toContain("/users/1");
    expect(sampleValue(json, "http_requests_total", { status: "404", route: "/*" })).toBe(1);

    const duration = "http_request_duration_seconds";
    expect(sampleValue(json, duration, get, `${duration}_count`)).toBe(3);
    expect(sampleValue(json, duration, { ...get, le: "+Inf" }, `${duration}_bucket`)).toBe(3);
    expect(sampleValue(json, duration, { ...get, le: "10" }, `${duration}_bucket`)).toBe(3);
    const sum = sampleValue(json, duration, get, `${duration}_sum`)!;
    expect(sum).toBeGreaterThanOrEqual(0);
    expect(sum).toBeLessThan(3);
  });

  it("serves /metrics in the negotiated format", async () => {
    const { app } = makeApp();
    await send(app, "/users/7");
    const text = await send(app, "/metrics");
    expect(text.status).toBe(200);
    expect(text.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(text.body).toContain("# TYPE http_requests_total counter");
    expect(text.body).toMatch(
      /^http_requests_total\{method="GET",route="\/users\/:id",status="200",ok="true"\} 1$/m,
    );
    expect(text.body).toMatch(/^http_request_duration_seconds_bucket\{le="0\.005",.*\} \d+$/m);

    const om = await send(app, "/metrics", {
      headers: { Accept: "application/openmetrics-text;version=1.0.0,text/plain;q=0.5" },
    });
    expect(om.headers.get("content-type")).toBe(
      "application/openmetrics-text; version=1.0.0; charset=utf-8",
    );
    expect(om.body.trimEnd().endsWith("# EOF")).toBe(true);
  });

  it("requires the bearer token on /metrics when one is configured", async () => {
    const { app } = makeApp({ token: (c) => (c.env as { TOKEN?: string }).TOKEN ?? "s3cret" });
    expect((await send(app, "/metrics")).status).toBe(401);
    const wrong = await send(app, "/metrics", { headers: { Authorization: "Bearer s3cre" } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const basic = await send(app, "/metrics", { headers: { Authorization: "Basic s3cret" } });
    expect(basic.status).toBe(401);
    const right = await send(app, "/metrics", { headers: { Authorization: "Bearer s3cret" } });
    expect(right.status).toBe(200);
    expect(right.body).toContain("http_requests_total");
  });

  it("keeps custom metrics, customLabels, prefix and disabled like @hono/prometheus", async () => {
    const registry = new Registry({ prefix: uniquePrefix() });
    const orders = new Counter({ name: "orders_total", help: "Orders", registers: [registry] });
    const { app } = makeApp({
      registry,
      prefix: "shop_",
      metricOptions: {
        requestDuration: { disabled: true },
        requestsTotal: { customLabels: { tenant: (c) => c.req.header("x-tenant") ?? "none" } },
      },
    });
    app.get("/buy", (c) => {
      orders.inc();
      return c.text("ok");
    });
    await send(app, "/buy", { headers: { "x-tenant": "acme" } });
    const json = await registry.getMetricsAsJSON();
    expect(json.map((f) => f.name).sort()).toEqual(["orders_total", "shop_http_requests_total"]);
    expect(sampleValue(json, "orders_total", {})).toBe(1);
    expect(sampleValue(json, "shop_http_requests_total", { route: "/buy", tenant: "acme" })).toBe(
      1,
    );
  });

  it("answers 503 when Redis cannot be read, and the handler never sees a Redis failure", async () => {
    const errors: unknown[] = [];
    const registry = new Registry({ prefix: uniquePrefix(), onError: (e) => errors.push(e) });
    const { Redis } = await import("@upstash/redis");
    registry.setRedis(
      new Redis({ url: bindings.UPSTASH_REDIS_REST_URL, token: "wrong-token", retry: false }),
    );
    const { app } = makeApp({ registry, onError: (e) => errors.push(e) });
    const page = await send(app, "/users/1");
    expect(page.status).toBe(200);
    const scrape = await send(app, "/metrics");
    expect(scrape.status).toBe(503);
    expect(scrape.body).toMatch(/unavailable/i);
    expect(errors.length).toBeGreaterThanOrEqual(2); // the failed flushes and the failed scrape
  });
});
