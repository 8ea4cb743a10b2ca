// prometheus-upstash/hono against @hono/prometheus 1.0.3 (with prom-client 15.1.3):
//  - the code examples of @hono/prometheus's README, read from the installed package and run
//    with only their imports changed (plus the `app` one snippet assumes);
//  - the cases of @hono/prometheus's own test suite, run on both middlewares, same results;
//  - the adapter defects of issue 12 (item 11, and item 6's customLabels returning null).
// Everything here uses a Redis of its own: the README examples use the default key prefix.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { prometheus as honoPrometheus } from "@hono/prometheus";
import { Redis } from "@upstash/redis";
import { Hono } from "hono";
import * as promClient from "prom-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { prometheus } from "../../src/adapters/hono.ts";
import { Counter, Registry } from "../../src/index.ts";
import { type LocalStack, startLocalStack } from "../../tools/local-upstash/index.ts";
import { inSeriesOrderText } from "./harness.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");

let stack: LocalStack;
let redis: Redis;
const savedEnv = { ...process.env };

beforeAll(async () => {
  stack = await startLocalStack();
  redis = new Redis({ url: stack.url, token: stack.token });
  // Outside Workers the middleware reads the Upstash variables from process.env (item 11).
  process.env["UPSTASH_REDIS_REST_URL"] = stack.url;
  process.env["UPSTASH_REDIS_REST_TOKEN"] = stack.token;
});

afterAll(async () => {
  process.env = savedEnv;
  await stack?.stop();
});

beforeEach(async () => {
  await redis.flushdb();
});

/** The ```ts blocks of @hono/prometheus's README, as published in the installed package. */
function readmeExamples(): string[] {
  const readme = readFileSync(join(root, "node_modules/@hono/prometheus/README.md"), "utf8");
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** The README's sample output (the fenced block without a language). */
function readmeOutput(): string {
  const readme = readFileSync(join(root, "node_modules/@hono/prometheus/README.md"), "utf8");
  return /returns the string representation of the metrics:\n\n```\n([\s\S]*?)```/.exec(
    readme,
  )![1]!;
}

/**
 * Writes one example with its imports pointed at this library and imports it. A snippet that
 * uses `app` and `prometheus` without defining them gets the two lines it assumes.
 */
async function runExample(index: number, code: string): Promise<{ default: Hono }> {
  let source = code
    .replaceAll("'@hono/prometheus'", JSON.stringify(join(root, "src/adapters/hono.ts")))
    .replaceAll("'prom-client'", JSON.stringify(join(root, "src/index.ts")));
  if (!/^import /m.test(code)) {
    source =
      `import { prometheus } from ${JSON.stringify(join(root, "src/adapters/hono.ts"))}\n` +
      `import { Hono } from 'hono'\nconst app = new Hono()\n${source}\nexport default app\n`;
  }
  const dir = join(here, ".readme");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `example-${index}.ts`);
  writeFileSync(file, source);
  return (await import(file)) as { default: Hono };
}

/**
 * Polls `read` until `done` holds: outside Workers the middleware flushes in the background,
 * a request within the default 5 s flush interval of the last write by the next write.
 */
async function until<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  for (let i = 0; ; i++) {
    const v = await read();
    if (done(v) || i > 400) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the code examples of @hono/prometheus's README, with only the import changed", () => {
  const examples = readmeExamples();

  it("finds the three examples", () => {
    expect(examples).toHaveLength(3);
    expect(examples.every((e) => e.includes("prometheus("))).toBe(true);
  });

  it("Usage: serves the README's exposition at /metrics", async () => {
    const { default: app } = await runExample(0, examples[0]!);
    for (let i = 0; i < 2; i++) expect((await app.request("/")).status).toBe(200);
    const line = 'http_requests_total{method="GET",route="/",status="200",ok="true"} 2';
    const text = await until(
      async () => (await app.request("/metrics")).text(),
      (t) => t.includes(line),
    );
    // The README's sample, for route "/" (it also shows a route its code does not define),
    // with the timings masked: the same lines in the same order, labels in the same order.
    const mask = (t: string) =>
      t
        .split("\n")
        .filter((l) => l.startsWith("#") || l.includes('route="/"'))
        .map((l) => (/_bucket|_sum/.test(l) ? l.replace(/ \S+$/, " <t>") : l))
        .join("\n");
    expect(mask(text)).toBe(mask(readmeOutput()));
  });

  it("customLabels: content_type from the response — null on a 204 — counts every request", async () => {
    const { default: app } = await runExample(1, examples[1]!);
    app.get("/", (c) => c.text("foo"));
    app.get("/empty", (c) => c.body(null, 204));
    await app.request("/");
    await app.request("/empty");
    const reader = new Registry({ redis });
    const total = new Counter({
      name: "http_requests_total",
      help: "Total number of HTTP requests",
      labelNames: ["method", "status", "ok", "route", "content_type"],
      registers: [reader],
    });
    const { values } = await until(
      () => total.get(),
      (v) => v.values.length === 2,
    );
    const byRoute = Object.fromEntries(values.map((v) => [v.labels.route, v]));
    expect(byRoute["/"]!.labels.content_type).toBe("text/plain;charset=UTF-8");
    // @hono/prometheus hands null to prom-client, which renders "null": so do we.
    expect(byRoute["/empty"]!.labels.content_type).toBe("null");
    expect(values.map((v) => v.value)).toEqual([1, 1]);
  });

  it("Adding custom metrics: the custom counter shows at /metrics with the request metrics", async () => {
    const { default: app } = await runExample(2, examples[2]!);
    await app.request("/");
    const text = await until(
      async () => (await app.request("/metrics")).text(),
      (t) => /^custom_counter 1$/m.test(t) && t.includes('route="/",status="200"'),
    );
    expect(text).toMatch(/^custom_counter 1$/m);
    expect(text).toContain('http_requests_total{method="GET",route="/",status="200",ok="true"} 1');
  });
});

/** One app per middleware, as @hono/prometheus's tests build it. */
function apps(options: { prefix?: string; metricOptions?: object } = {}) {
  const theirsRegistry = new promClient.Registry();
  const theirs = honoPrometheus({ registry: theirsRegistry, ...(options as object) });
  const oursRegistry = new Registry({ redis, prefix: `hono-${crypto.randomUUID()}` });
  const ours = prometheus({ registry: oursRegistry, ...(options as object) });
  const build = (mw: { registerMetrics: never; printMetrics: never }) => {
    const app = new Hono();
    app.use("*", mw.registerMetrics);
    app.get("/", (c) => c.text("hello"));
    app.get("/user/:id", (c) => c.text(c.req.param("id")));
    app.get("/metrics", mw.printMetrics);
    return app;
  };
  return {
    theirs: { app: build(theirs as never), registry: theirsRegistry as unknown as Registry },
    ours: { app: build(ours as never), registry: oursRegistry },
  };
}

/** Sends the same requests to both apps; ours flushes before anything is read. */
async function both(pair: ReturnType<typeof apps>, ...paths: string[]) {
  for (const side of [pair.theirs, pair.ours]) {
    for (const path of paths) await side.app.request(`http://localhost${path}`);
  }
  await pair.ours.registry.flush();
}

describe("@hono/prometheus's test suite, on both middlewares", () => {
  it("prefix: adds the prefix to the metric names", async () => {
    const pair = apps({ prefix: "myprefix_" });
    expect(await pair.ours.registry.metrics()).toBe(await pair.theirs.registry.metrics());
  });

  it("customLabels: adds custom labels to metrics", async () => {
    const pair = apps({
      metricOptions: {
        requestsTotal: {
          customLabels: {
            id: (c: { req: { query(k: string): string | undefined } }) =>
              c.req.query("id") ?? "unknown",
            contentType: (c: { res: Response }) => c.res.headers.get("content-type") ?? "unknown",
          },
        },
      },
    });
    await both(pair, "/?id=123");
    const single = (r: Registry) => r.getSingleMetricAsString("http_requests_total");
    expect(await single(pair.ours.registry)).toBe(await single(pair.theirs.registry));
  });

  it.each([
    ["successful responses", "/"],
    ["errors", "/notfound"],
  ])("increments http_requests_total with the same labels on %s", async (_, path) => {
    const pair = apps();
    await both(pair, path);
    const values = async (r: Registry) =>
      (await r.getSingleMetric("http_requests_total")!.get()).values;
    expect(await values(pair.ours.registry)).toEqual(await values(pair.theirs.registry));
  });

  it.each([
    ["successful responses", "/", "200"],
    ["errors", "/notfound", "404"],
  ])(
    "updates http_request_duration_seconds with the same labels on %s",
    async (_, path, status) => {
      const pair = apps();
      await both(pair, path, "/user/1", "/user/2");
      const count = async (r: Registry) => {
        const { values = [] } = await r.getSingleMetric("http_request_duration_seconds")!.get();
        return values
          .filter((v) => v.metricName === "http_request_duration_seconds_count")
          .map((v) => [v.labels, v.value])
          .filter(([labels]) => (labels as Record<string, string>).status === status);
      };
      expect(await count(pair.ours.registry)).toEqual(await count(pair.theirs.registry));
    },
  );

  it("returns the metrics in the Prometheus text format on /metrics", async () => {
    const pair = apps({ metricOptions: { requestDuration: { disabled: true } } });
    await both(pair, "/");
    const body = async (app: Hono) => (await app.request("http://localhost/metrics")).text();
    expect(await body(pair.ours.app)).toBe(await body(pair.theirs.app));
  });

  it("renders the whole exposition alike, histogram included (timings masked)", async () => {
    const pair = apps();
    await both(pair, "/", "/user/1", "/user/2", "/nope");
    const mask = (t: string) =>
      inSeriesOrderText(t).replace(
        /^(http_request_duration_seconds_(?:bucket|sum)\S*) \S+$/gm,
        "$1 <t>",
      );
    expect(mask(await pair.ours.registry.metrics())).toBe(
      mask(await pair.theirs.registry.metrics()),
    );
  });
});

describe("issue 12, item 11: adapter options as @hono/prometheus has them", () => {
  it("metricOptions.*.registers: the standard metrics join those registries too", async () => {
    const registry = new Registry({ redis, prefix: "item11-main" });
    // A metric's registries share one prefix (issue 20).
    const extra = new Registry({ redis, prefix: "item11-main" });
    const { registerMetrics } = prometheus({
      registry,
      metricOptions: {
        requestsTotal: { registers: [extra] },
        requestDuration: { registers: [extra] },
      },
    });
    const app = new Hono();
    app.use("*", registerMetrics);
    app.get("/", (c) => c.text("hi"));
    await app.request("/");
    await registry.flush();
    await extra.flush();
    for (const r of [registry, extra]) {
      expect(await r.metrics()).toContain(
        'http_requests_total{method="GET",route="/",status="200",ok="true"} 1',
      );
    }
  });

  it("a custom label named like a standard one overrides it", async () => {
    const registry = new Registry({ redis, prefix: "item11-override" });
    const { registerMetrics } = prometheus({
      registry,
      metricOptions: { requestsTotal: { customLabels: { route: () => "/custom" } } },
    });
    const app = new Hono();
    app.use("*", registerMetrics);
    app.get("/", (c) => c.text("hi"));
    await app.request("/");
    await registry.flush();
    expect(await registry.metrics()).toContain(
      'http_requests_total{method="GET",route="/custom",status="200",ok="true"} 1',
    );
  });

  it("outside Workers the Redis client comes from process.env", async () => {
    const { registerMetrics, printMetrics, registry } = prometheus({
      registry: new Registry({ prefix: "item11-env" }),
    });
    const app = new Hono();
    app.use("*", registerMetrics);
    app.get("/", (c) => c.text("hi"));
    app.get("/metrics", printMetrics);
    await app.request("/");
    expect(registry.hasRedis).toBe(true);
    await registry.flush();
    const res = await app.request("/metrics");
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('route="/",status="200",ok="true"} 1');
  });

  it("a label function that throws or returns a non-string never loses the request", async () => {
    const errors: unknown[] = [];
    const registry = new Registry({ redis, prefix: "item11-labels" });
    const { registerMetrics } = prometheus({
      registry,
      onError: (e) => errors.push(e),
      metricOptions: {
        requestsTotal: {
          customLabels: {
            boom: () => {
              throw new Error("label failed");
            },
            size: () => 42,
            missing: () => undefined,
          },
        },
      },
    });
    const app = new Hono();
    app.use("*", registerMetrics);
    app.get("/", (c) => c.text("hi"));
    await app.request("/");
    await registry.flush();
    expect(errors).toHaveLength(1);
    expect(await registry.metrics()).toContain(
      'http_requests_total{method="GET",route="/",status="200",ok="true",size="42"} 1',
    );
  });

  it("collectDefaultMetrics: true is accepted", () => {
    expect(() =>
      prometheus({ registry: new Registry({ prefix: "item11-cdm" }), collectDefaultMetrics: true }),
    ).not.toThrow();
  });
});
