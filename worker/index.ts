// The example Worker: a small shop API instrumented with prometheus-upstash. Every isolate
// records into memory and writes to Redis at most once per 5 s (the Hono middleware's default
// flush interval), each request's ctx.waitUntil lasting until its data is written; /metrics
// serves the global values that all isolates added up in Redis.
//
// Bindings: UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (secrets in production, vars
// under `npm start`), and optionally METRICS_TOKEN to require `Authorization: Bearer …`.
//
// Push instead of scrape: with REMOTE_WRITE_URL set, the Cron Trigger in wrangler.toml (every
// minute) pushes the global values to that remote write endpoint (scheduled() below); see
// docs/remote-write.md for Grafana Cloud, Mimir, VictoriaMetrics and Prometheus.
import { Redis } from "@upstash/redis";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { prometheus } from "../src/adapters/hono.ts";
import { Counter, exponentialBuckets, Gauge, Histogram, Registry, Summary } from "../src/index.ts";
import { type PushOptions, pushMetrics } from "../src/remote-write/index.ts";

export interface Env {
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
  METRICS_TOKEN?: string;
  /** The receiver's remote write url (a secret: `wrangler secret put REMOTE_WRITE_URL`). */
  REMOTE_WRITE_URL?: string;
  /** Basic auth (Grafana Cloud: the instance id and an access token) … */
  REMOTE_WRITE_USERNAME?: string;
  REMOTE_WRITE_PASSWORD?: string;
  /** … or a bearer token. */
  REMOTE_WRITE_TOKEN?: string;
  /** The job and instance labels of the pushed series (defaults: this Worker's name, "global"). */
  REMOTE_WRITE_JOB?: string;
  REMOTE_WRITE_INSTANCE?: string;
  /** "true": histograms with native buckets go as native histograms. */
  REMOTE_WRITE_NATIVE?: string;
}

// One registry per isolate; its Redis client is made from the bindings on the first request.
export const registry = new Registry();

const inFlight = new Gauge({
  name: "example_requests_in_flight",
  help: "Requests being served right now, summed over all live isolates",
  aggregate: "sum",
  registers: [registry],
});
const payloadBytes = new Summary({
  name: "example_request_payload_bytes",
  help: "Size of request bodies received by POST /orders",
  percentiles: [0.5, 0.9, 0.99],
  registers: [registry],
});
const ordersTotal = new Counter({
  name: "example_orders_total",
  help: "Orders placed, by outcome",
  labelNames: ["outcome"],
  registers: [registry],
});
const orderItems = new Histogram({
  name: "example_order_items",
  help: "Items per accepted order",
  buckets: exponentialBuckets(1, 2, 6),
  registers: [registry],
});

const { registerMetrics, printMetrics } = prometheus({
  registry,
  // Open when METRICS_TOKEN is not set, on purpose (null); `(c) => c.env.METRICS_TOKEN` alone
  // would answer 500 until the secret is set.
  token: (c) => (c.env as Env).METRICS_TOKEN ?? null,
});

const app = new Hono<{ Bindings: Env }>();

// Server-Timing "app": the whole request, timed around the metrics middleware, so a client can
// see how long the request took by the Worker's clock (the duration the middleware records lies
// between /slow's "sleep" and this; test/e2e/native-histograms-workers.test.ts relies on it).
app.use("*", async (c, next) => {
  const start = performance.now();
  await next();
  c.res.headers.append("Server-Timing", `app;dur=${performance.now() - start}`);
});
app.use("*", registerMetrics);
// Inside registerMetrics, so the decrement is in the flush that registerMetrics schedules.
app.use("*", async (_c, next) => {
  inFlight.inc();
  try {
    await next();
  } finally {
    inFlight.dec();
  }
});

app.get("/", (c) =>
  c.text(
    [
      "prometheus-upstash example Worker",
      "",
      "GET  /users/:id                  a user (ids 1-100)",
      "GET  /users/:id/orders/:orderId  one of their orders",
      'POST /orders                     {"items": n} places an order',
      "GET  /slow?ms=300                answers after a delay (max 5000 ms)",
      "GET  /error                      throws (a 500)",
      "GET  /metrics                    Prometheus exposition of every isolate's values",
      "",
    ].join("\n"),
  ),
);

app.get("/users/:id", (c) => {
  const id = Number(c.req.param("id"));
  if (!Number.isInteger(id) || id < 1 || id > 100) throw new HTTPException(404);
  return c.json({ id, name: `user ${id}` });
});

app.get("/users/:id/orders/:orderId", (c) =>
  c.json({ user: c.req.param("id"), order: c.req.param("orderId"), status: "shipped" }),
);

app.post("/orders", async (c) => {
  const body = await c.req.text();
  payloadBytes.observe(new TextEncoder().encode(body).byteLength);
  let items: unknown;
  try {
    items = (JSON.parse(body) as { items?: unknown }).items;
  } catch {
    items = undefined;
  }
  if (typeof items !== "number" || !Number.isInteger(items) || items < 1) {
    ordersTotal.inc({ outcome: "rejected" });
    return c.json({ error: 'expected {"items": <positive integer>}' }, 400);
  }
  ordersTotal.inc({ outcome: "accepted" });
  orderItems.observe(items);
  return c.json({ accepted: true, items }, 201);
});

app.get("/slow", async (c) => {
  const ms = Math.min(Math.max(Number(c.req.query("ms") ?? 300) || 0, 0), 5000);
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  // How long the sleep took by the clock the middleware times requests with.
  c.header("Server-Timing", `sleep;dur=${performance.now() - start}`);
  return c.text(`slept ${ms} ms\n`);
});

app.get("/error", () => {
  throw new Error("this route always fails");
});

app.get("/metrics", printMetrics);

app.onError((err, c) => {
  if (err instanceof HTTPException) return err.getResponse();
  console.error(err);
  return c.text("Internal Server Error\n", 500);
});

/** What the Cron Trigger runs: this isolate's pending writes, then one push of the global values. */
async function scheduled(
  _controller: unknown,
  env: Env,
  ctx: { waitUntil(promise: Promise<unknown>): void },
): Promise<void> {
  if (!env.REMOTE_WRITE_URL) return; // scraping only: nothing to push
  const options: PushOptions = {
    url: env.REMOTE_WRITE_URL,
    // This isolate may have served no request yet: the registry then has no client.
    redis: new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN }),
    job: env.REMOTE_WRITE_JOB ?? "prometheus-upstash-example",
    instance: env.REMOTE_WRITE_INSTANCE ?? "global",
    native: env.REMOTE_WRITE_NATIVE === "true",
  };
  if (env.REMOTE_WRITE_USERNAME !== undefined) {
    options.basicAuth = {
      username: env.REMOTE_WRITE_USERNAME,
      password: env.REMOTE_WRITE_PASSWORD ?? "",
    };
  } else if (env.REMOTE_WRITE_TOKEN !== undefined) {
    options.bearerToken = env.REMOTE_WRITE_TOKEN;
  }
  // A failed push rejects: an error with the receiver's answer in the Worker's logs. The next
  // minute's push sends fresh values anyway.
  ctx.waitUntil(
    (registry.hasRedis ? registry.flush() : Promise.resolve()).then(() =>
      pushMetrics(registry, options),
    ),
  );
}

export default { fetch: app.fetch, scheduled };
