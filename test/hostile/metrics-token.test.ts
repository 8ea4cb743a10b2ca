// Issue 13, item 9: a token option that yields nothing (a secret that is not set) answers 500
// with a clear message and tells onError; the values are never served. No token option at all
// (or null, on purpose) is an open endpoint.
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { type PrometheusOptions, prometheus } from "../../src/adapters/hono.ts";
import { metricsHandler } from "../../src/adapters/vercel.ts";
import { Counter, Registry } from "../../src/index.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

async function registryWithValue(): Promise<Registry> {
  const registry = new Registry({ redis: newClient(), prefix: uniquePrefix("token") });
  new Counter({ name: "secret_value_total", help: "h", registers: [registry] }).inc(42);
  await registry.flush();
  return registry;
}

interface Scrape {
  status: number;
  body: string;
  errors: unknown[];
}

async function scrapeHono(
  token: PrometheusOptions["token"] | "absent",
  auth?: string,
): Promise<Scrape> {
  const registry = await registryWithValue();
  const errors: unknown[] = [];
  const options: PrometheusOptions = { registry, onError: (e) => errors.push(e) };
  if (token !== "absent") options.token = token;
  const { printMetrics } = prometheus(options);
  const app = new Hono();
  app.get("/metrics", printMetrics);
  const res = await app.request("/metrics", auth ? { headers: { Authorization: auth } } : {});
  return { status: res.status, body: await res.text(), errors };
}

describe("hono printMetrics", () => {
  const empty: [string, PrometheusOptions["token"]][] = [
    ["a function returning undefined", (): undefined => undefined],
    ["a function returning an empty string", (): string => ""],
    ["an empty string", ""],
    ["undefined, given explicitly", undefined],
  ];
  it.each(empty)("token %s: 500, onError told, no values", async (_, token) => {
    const { status, body, errors } = await scrapeHono(token);
    expect(status).toBe(500);
    expect(body).toMatch(/misconfigured/);
    expect(body).not.toContain("secret_value_total");
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/token option that yields no token/);
  });

  it("no token option, or null: open", async () => {
    for (const token of ["absent", null, () => null] as const) {
      const { status, body } = await scrapeHono(token);
      expect(status).toBe(200);
      expect(body).toContain("secret_value_total 42");
    }
  });

  it("a token: 401 without it, the values with it", async () => {
    expect((await scrapeHono(() => "s3cret")).status).toBe(401);
    const ok = await scrapeHono(() => "s3cret", "Bearer s3cret");
    expect(ok.status).toBe(200);
    expect(ok.body).toContain("secret_value_total 42");
  });
});

describe("metricsHandler (vercel) and metricsResponse", () => {
  it("token: process.env of a secret not set → 500, no values", async () => {
    const registry = await registryWithValue();
    const errors: unknown[] = [];
    const handler = metricsHandler(registry, {
      token: process.env.SURELY_NOT_SET_METRICS_TOKEN,
      onError: (e) => errors.push(e),
    });
    const res = await handler(new Request("http://x/metrics"));
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain("secret_value_total");
    expect(errors).toHaveLength(1);
  });

  it("no token option: open", async () => {
    const res = await metricsHandler(await registryWithValue())(new Request("http://x/metrics"));
    expect(res.status).toBe(200);
  });
});
