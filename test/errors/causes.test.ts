// Issue 21: every misconfiguration a user meets first gives one error naming its cause and the
// fix (the variable to set), with a `code` a program can tell apart, never the script text;
// the default reporter prints a cause once, then a count.

import { createServer as createHttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { Redis } from "@upstash/redis";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { prometheus } from "../../src/adapters/hono.ts";
import { Counter, PrometheusUpstashError, Registry } from "../../src/index.ts";
import { startUpstashServer, type UpstashServer } from "../../tools/local-upstash/index.ts";
import { directRedis, sharedStack, uniquePrefix } from "../helpers/stack.ts";

/** A registry with one counter incremented, whose onError collects what it is told. */
function setup(redis: Redis | undefined, options: { timeoutMs?: number } = {}) {
  const errors: unknown[] = [];
  const registry = new Registry({
    ...(redis ? { redis } : {}),
    prefix: uniquePrefix("errors"),
    onError: (e) => errors.push(e),
    retries: 2,
    backoffMs: 10,
    ...options,
  });
  new Counter({ name: "jobs_total", help: "Jobs", registers: [registry] }).inc();
  return { registry, errors };
}

/** What metrics() rejects with, and how long it took. */
async function scrapeError(registry: Registry): Promise<{ error: unknown; ms: number }> {
  const start = Date.now();
  const error = await registry.metrics().then(
    () => "no error",
    (e: unknown) => e,
  );
  return { error, ms: Date.now() - start };
}

function expectCause(error: unknown, code: string, names: RegExp): void {
  expect(error).toBeInstanceOf(PrometheusUpstashError);
  const e = error as PrometheusUpstashError;
  expect(e.code).toBe(code);
  expect(e.message).toMatch(names);
  // Never our script (or the command @upstash/redis appends), and short enough to read.
  expect(e.message).not.toMatch(/#!lua|command was|redis\.call/);
  expect(e.message.length).toBeLessThan(600);
}

/** @upstash/redis warns about a missing URL or token on its own: not what this test reads. */
function quietClient(config: { url?: string; token?: string }): Redis {
  const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
  try {
    return new Redis(config as { url: string; token: string });
  } finally {
    warn.mockRestore();
  }
}

describe("errors name their cause and the fix", () => {
  it("UPSTASH_ variables unset: missing_credentials at once, naming both variables", async () => {
    const { registry, errors } = setup(quietClient({}));
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const { error, ms } = await scrapeError(registry);
    expectCause(error, "missing_credentials", /UPSTASH_REDIS_REST_URL.*UPSTASH_REDIS_REST_TOKEN/);
    expect(ms).toBeLessThan(1000); // not a timeout after seconds of the client's retries
    await registry.flush();
    warn.mockRestore();
    expect(errors).toHaveLength(1);
    expectCause(errors[0], "missing_credentials", /UPSTASH_REDIS_REST_URL/);
    expect(registry.stats.retries).toBe(0); // no retry cures a missing variable
  });

  it("only the token unset: says which one is missing", async () => {
    const { registry } = setup(quietClient({ url: sharedStack().url }));
    const { error } = await scrapeError(registry);
    expectCause(error, "missing_credentials", /no UPSTASH_REDIS_REST_TOKEN in/);
  });

  it("a wrong token: unauthorized, naming UPSTASH_REDIS_REST_TOKEN, without the script", async () => {
    const { registry, errors } = setup(new Redis({ url: sharedStack().url, token: "wrong" }));
    const { error } = await scrapeError(registry);
    expectCause(error, "unauthorized", /UPSTASH_REDIS_REST_TOKEN/);
    await registry.flush();
    expect(errors).toHaveLength(1);
    expectCause(errors[0], "unauthorized", /flush failed.*UPSTASH_REDIS_REST_TOKEN/);
    expect(registry.stats.retries).toBe(0);
  });

  describe("a host that never answers", () => {
    let silent: Server;
    const held: Socket[] = [];
    let url = "";
    beforeAll(async () => {
      silent = createServer((socket) => held.push(socket));
      await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
      url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    });
    afterAll(() => {
      for (const s of held) s.destroy();
      silent.close();
    });

    it("is unreachable, naming UPSTASH_REDIS_REST_URL", async () => {
      const { registry, errors } = setup(new Redis({ url, token: "t" }), { timeoutMs: 300 });
      expectCause((await scrapeError(registry)).error, "unreachable", /UPSTASH_REDIS_REST_URL/);
      await registry.flush();
      expectCause(errors[0], "unreachable", /flush failed.*UPSTASH_REDIS_REST_URL/);
    });
  });

  describe("a URL that is not an Upstash REST endpoint", () => {
    const web = createHttpServer((_, res) => {
      res.writeHead(404, { "Content-Type": "text/html" }).end("<html><h1>Not Found</h1></html>");
    });
    beforeAll(() => new Promise<void>((r) => web.listen(0, "127.0.0.1", r)));
    afterAll(() => new Promise<void>((r) => web.close(() => r())));

    it("is not_upstash, naming UPSTASH_REDIS_REST_URL", async () => {
      const url = `http://127.0.0.1:${(web.address() as { port: number }).port}`;
      const { registry } = setup(new Redis({ url, token: "t" }));
      expectCause((await scrapeError(registry)).error, "not_upstash", /UPSTASH_REDIS_REST_URL/);
    });
  });

  describe("Redis refusing scripts", () => {
    // A Redis user that may do everything but run scripts, behind a REST server of its own
    // (as a read-only or restricted token is on Upstash).
    const admin = directRedis();
    const user = `noscripts-${process.pid}`;
    let server: UpstashServer;
    beforeAll(async () => {
      await admin.call("ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all", "-@scripting");
      const direct = new URL(sharedStack().redisUrl);
      direct.username = user;
      direct.password = "pw";
      server = await startUpstashServer({ redisUrl: direct.toString() });
    });
    afterAll(async () => {
      await server?.stop();
      await admin.call("ACL", "DELUSER", user);
    });

    it("is scripts_refused, naming the token to change", async () => {
      const { registry, errors } = setup(new Redis({ url: server.url, token: server.token }));
      const { error } = await scrapeError(registry);
      expectCause(error, "scripts_refused", /Lua script.*UPSTASH_REDIS_REST_TOKEN/);
      await registry.flush();
      expectCause(errors[0], "scripts_refused", /UPSTASH_REDIS_REST_TOKEN/);
      expect(registry.stats.retries).toBe(0);
    });
  });

  it("a client of another kind is used as it is (nothing to look into)", async () => {
    const real = new Redis({ url: sharedStack().url, token: sharedStack().token });
    // Anything with eval and evalsha: the registry's RedisClient type.
    const other = {
      eval: real.eval.bind(real) as Redis["eval"],
      evalsha: real.evalsha.bind(real) as Redis["evalsha"],
    };
    const { registry, errors } = setup(other as unknown as Redis);
    await registry.flush();
    expect(errors).toEqual([]);
    expect(await registry.metrics()).toContain("jobs_total 1\n");
  });

  it("invalid metric and label names say which name", () => {
    const registers: Registry[] = [];
    expect(() => new Counter({ name: "http-requests", help: "h", registers })).toThrow(
      /Invalid metric name "http-requests"/,
    );
    expect(
      () => new Counter({ name: "ok_total", help: "h", labelNames: ["status-code"], registers }),
    ).toThrow(/Invalid label name "status-code" of metric ok_total/);
    expect(
      () => new Counter({ name: "ok_total", help: "h", labelNames: ["__x"], registers }),
    ).toThrow(/Invalid label name "__x"/);
  });
});

describe("the default reporter", () => {
  it("prints a cause once, then a count", async () => {
    const logged: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
      logged.push(args.map(String).join(" "));
    });
    try {
      const registry = new Registry({
        redis: new Redis({ url: sharedStack().url, token: "wrong" }),
        prefix: uniquePrefix("errors-once"),
      });
      const jobs = new Counter({ name: "jobs_total", help: "Jobs", registers: [registry] });
      for (let i = 0; i < 10; i++) {
        jobs.inc();
        await registry.flush();
      }
      expect(logged).toHaveLength(2);
      expect(logged[0]).toMatch(/Redis refused the token.*UPSTASH_REDIS_REST_TOKEN/);
      expect(logged[1]).toMatch(/10 errors so far.*unauthorized/);
    } finally {
      spy.mockRestore();
    }
  });

  it("a Worker without bindings: /metrics answers 503 and the log names both variables", async () => {
    const logged: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
      logged.push(args.map(String).join(" "));
    });
    try {
      const { registerMetrics, printMetrics } = prometheus({
        registry: new Registry({ prefix: uniquePrefix("errors-hono") }),
      });
      const app = new Hono();
      app.use("*", registerMetrics);
      app.get("/metrics", printMetrics);
      // The Worker's env holds no UPSTASH_ bindings (and the test process's are not looked at
      // when c.env is the Worker's).
      const saved = { ...process.env };
      delete process.env.UPSTASH_REDIS_REST_URL;
      delete process.env.UPSTASH_REDIS_REST_TOKEN;
      const response = await app.request("/metrics", {}, {});
      Object.assign(process.env, saved);
      expect(response.status).toBe(503);
      expect(logged.join("\n")).toMatch(/UPSTASH_REDIS_REST_URL.*UPSTASH_REDIS_REST_TOKEN/);
    } finally {
      spy.mockRestore();
    }
  });
});
