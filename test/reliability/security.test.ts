// Security: registries with different prefixes never touch each other's keys; the Upstash
// token never shows in errors, logs or expositions, whatever fails; label values cannot add
// lines to an exposition; the local Upstash server refuses wrong tokens alike.

import { Redis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { metricsResponse } from "../../src/adapters/metrics-endpoint.ts";
import { Counter, Gauge, Histogram, Registry } from "../../src/index.ts";
import { FAULT_MODES, type FaultProxy, startFaultProxy } from "../../tools/fault-proxy/proxy.ts";
import { startUpstashServer } from "../../tools/local-upstash/server.ts";
import { parseChecked, promtoolCheck } from "../helpers/exposition.ts";
import { newClient, sharedStack, uniquePrefix } from "../helpers/stack.ts";

const OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";

describe("key prefix isolation", () => {
  let redis: IORedis;
  beforeAll(() => {
    redis = new IORedis(sharedStack().redisUrl, { lazyConnect: false });
  });
  afterAll(() => redis.quit());

  function define(registry: Registry) {
    return {
      c: new Counter({ name: "c_total", help: "h", labelNames: ["k"], registers: [registry] }),
      g: new Gauge({ name: "g", help: "h", registers: [registry] }),
      h: new Histogram({ name: "h", help: "h", registers: [registry] }),
    };
  }

  it("two registries whose prefixes share a beginning keep separate values and keys", async () => {
    const base = uniquePrefix("iso");
    const a = new Registry({ redis: newClient(), prefix: base });
    const b = new Registry({ redis: newClient(), prefix: `${base}b` });
    const ma = define(a);
    const mb = define(b);
    ma.c.inc({ k: "x" }, 1);
    ma.g.set(1);
    ma.h.observe(0.1);
    mb.c.inc({ k: "x" }, 10);
    mb.g.set(10);
    await Promise.all([a.flush(), b.flush()]);
    expect(await a.metrics()).toContain('c_total{k="x"} 1\n');
    expect(await b.metrics()).toContain('c_total{k="x"} 10\n');

    const keysOf = async (prefix: string) => {
      const found: string[] = [];
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `*${prefix}*`, "COUNT", 1000);
        cursor = next;
        found.push(...keys);
      } while (cursor !== "0");
      return found;
    };
    const all = await keysOf(base);
    expect(all.length).toBeGreaterThan(0);
    for (const key of all) {
      expect(key.startsWith(`{${base}}:`) || key.startsWith(`{${base}b}:`), key).toBe(true);
    }
    // Resetting one registry's metrics leaves the other's alone.
    a.resetMetrics();
    await a.flush();
    expect(await b.metrics()).toContain('c_total{k="x"} 10\n');
    expect(await a.metrics()).not.toContain('c_total{k="x"}');
  });
});

describe("the token never leaks", () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy({ target: sharedStack().url, delayMs: 200 });
  });
  afterAll(() => proxy.stop());

  /** Every string an error carries: message, stack, causes, own properties. */
  function textOf(value: unknown, seen = new Set<unknown>()): string {
    if (value === null || value === undefined || seen.has(value)) return "";
    seen.add(value);
    if (typeof value !== "object") return String(value);
    const parts: string[] = [];
    if (value instanceof Error) parts.push(value.message, value.stack ?? "");
    for (const key of Object.getOwnPropertyNames(value)) {
      parts.push(textOf((value as Record<string, unknown>)[key], seen));
    }
    return parts.join("\n");
  }

  it("in flush errors, console output, scrape errors and expositions, for every failure", async () => {
    const secret = sharedStack().token;
    const wrongSecret = "wrong-SECRET-token-9f8e7d";
    const logged: string[] = [];
    const spies = (["error", "warn", "log", "info", "debug"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logged.push(args.map((a) => textOf(a)).join(" "));
      }),
    );
    const errors: unknown[] = [];
    try {
      const scenarios: { name: string; token: string; setup: () => Promise<void> | void }[] = [
        ...FAULT_MODES.map((mode) => ({
          name: mode,
          token: secret,
          setup: () => proxy.setFaults({ [mode]: 1 }),
        })),
        { name: "redisDown", token: secret, setup: () => proxy.setDown("redisDown") },
        { name: "refused", token: secret, setup: () => proxy.setDown("refuse") },
        { name: "wrong token (401)", token: wrongSecret, setup: () => proxy.setDown(false) },
      ];
      for (const s of scenarios) {
        proxy.setFaults({});
        await proxy.setDown(false);
        await s.setup();
        const prefix = uniquePrefix("leak");
        // onError left to its default (console.error) in one registry, collected in another.
        for (const onError of [undefined, (e: unknown) => errors.push(e)]) {
          const registry = new Registry({
            redis: new Redis({ url: proxy.url, token: s.token, retry: { retries: 0 } }),
            prefix,
            timeoutMs: 100,
            retries: 0,
            ...(onError ? { onError } : {}),
          });
          new Counter({ name: "c_total", help: "h", registers: [registry] }).inc();
          await registry.flush();
          const scrape = await registry.metrics().catch((e: unknown) => e);
          errors.push(scrape);
          const res = await metricsResponse(registry, new Request("http://x/metrics"));
          logged.push(await res.text());
        }
      }
      await proxy.setDown(false);
      proxy.setFaults({});
      // An exposition that carries failure self-metrics.
      const healthy = new Registry({ redis: newClient(), prefix: uniquePrefix("leak-ok") });
      new Counter({ name: "c_total", help: "h", registers: [healthy] }).inc();
      await healthy.flush();
      logged.push(await healthy.metrics(), await healthy.metrics(OPENMETRICS));
    } finally {
      for (const spy of spies) spy.mockRestore();
      await proxy.setDown(false);
      proxy.setFaults({});
    }
    const everything = [...logged, ...errors.map((e) => textOf(e))].join("\n");
    expect(errors.length).toBeGreaterThan(10);
    expect(logged.some((l) => /flush failed/.test(l))).toBe(true);
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain("wrong-SECRET");
  });
});

describe("label values cannot inject lines", () => {
  const attacks = [
    'x"} 1\nevil_total 666\n',
    "x\n# EOF\n",
    '\\"} evil 1 #',
    "x\r\nevil_total 1",
    "\u2028evil\u2029",
  ];
  for (const format of ["text", "openmetrics"] as const) {
    it(`${format}: one series per label value, values intact`, async () => {
      const registry = new Registry({ redis: newClient(), prefix: uniquePrefix("inject") });
      const c = new Counter({
        name: "c_total",
        help: 'help "\n# TYPE evil counter',
        labelNames: ["v"],
        registers: [registry],
      });
      for (const a of attacks) c.inc({ v: a });
      await registry.flush();
      // All values come back intact from Redis…
      const json = await registry.getMetricsAsJSON();
      expect(json[0]!.values.map((v) => v.labels.v).sort()).toEqual([...attacks].sort());
      if (format === "text") {
        const all = await registry.metrics();
        promtoolCheck(all);
        expect(all.match(/^c_total\{/gm)).toHaveLength(attacks.length);
      }
      // …and the strict parser (which reads lines with `.`, so no raw CR or U+2028/9 — valid
      // in the format, see bad-input.test.ts) finds exactly one series per value.
      const safe = attacks.filter((a) => !/[\r\u2028\u2029]/.test(a));
      for (const a of attacks) if (!safe.includes(a)) c.remove(a);
      await registry.flush();
      const text = await registry.metrics(format === "openmetrics" ? OPENMETRICS : undefined);
      const families = parseChecked(text);
      expect(families.map((f) => f.name)).toEqual(
        ["c"].map((n) => (format === "openmetrics" ? n : `${n}_total`)),
      );
      const samples = families[0]!.samples.filter((s) => s.name === "c_total");
      expect(samples.map((s) => s.labels.v).sort()).toEqual([...safe].sort());
      expect(text).not.toMatch(/^evil/m);
      expect(text.split("\n").filter((l) => l.startsWith("# EOF"))).toHaveLength(
        format === "openmetrics" ? 1 : 0,
      );
    });
  }
});

describe("the local Upstash server and tokens", () => {
  it("answers 401 alike to every wrong token: empty, prefix, longer, other case, no scheme", async () => {
    const token = "Local-Token-0123456789abcdef";
    const server = await startUpstashServer({ redisUrl: sharedStack().redisUrl, token });
    try {
      const wrong = ["", token.slice(0, -1), `${token}x`, token.toLowerCase(), "x".repeat(5000)];
      const bodies = new Set<string>();
      for (const header of [...wrong.map((t) => `Bearer ${t}`), token, `Basic ${token}`]) {
        const res = await fetch(`${server.url}/`, {
          method: "POST",
          headers: { authorization: header, "content-type": "application/json" },
          body: '["ping"]',
        });
        expect(res.status, header.slice(0, 40)).toBe(401);
        bodies.add(await res.text());
      }
      expect(bodies.size).toBe(1);
      expect([...bodies][0]).not.toContain(token);
    } finally {
      await server.stop();
    }
  });

  it("refuses to listen beyond loopback unless asked", async () => {
    await expect(
      startUpstashServer({ redisUrl: sharedStack().redisUrl, host: "0.0.0.0" }),
    ).rejects.toThrow(/allowRemote/);
  });
});
