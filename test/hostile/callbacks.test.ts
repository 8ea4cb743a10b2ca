// Issue 13, item 4: a throwing callback never escapes. A plain Node process (no test runner to
// swallow an unhandled rejection) whose onError throws must run to its end and exit 0; the
// throws are counted in stats.callbackErrors. Then the same inside the adapters.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { prometheus } from "../../src/adapters/hono.ts";
import { metricsHandler } from "../../src/adapters/vercel.ts";
import { Counter, Registry } from "../../src/index.ts";
import { newClient, sharedStack, uniquePrefix } from "../helpers/stack.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHILD = fileURLToPath(new URL("./fixtures/throwing-on-error.ts", import.meta.url));

/**
 * Runs the child program against the repository at `root`: this one, or the checkout named by
 * HOSTILE_ROOT (how the failure before the fix was shown: exit 1 in both scenarios).
 */
function runChild(scenario: string, root = process.env.HOSTILE_ROOT ?? ROOT) {
  const { url, token } = sharedStack();
  const run = spawnSync(process.execPath, [CHILD, root, scenario], {
    cwd: ROOT,
    env: { ...process.env, UPSTASH_URL: url, UPSTASH_TOKEN: token },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const throwing = () => {
  throw new Error("the user's onError throws");
};

describe("a throwing onError in a plain Node process", () => {
  it.each(["flush-rejects", "late-settle"])("%s: the process exits 0", (scenario) => {
    const run = runChild(scenario);
    expect(run.stderr).not.toMatch(/onError throws/);
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout.trim().split("\n").pop()!) as {
      onErrorCalls: number;
      callbackErrors: number;
    };
    expect(out.onErrorCalls).toBeGreaterThan(0);
    expect(out.callbackErrors).toBe(out.onErrorCalls);
  });
});

describe("throwing callbacks in the adapters", () => {
  it("hono: onError and a token function that throw give a 500 on /metrics, never a rejection", async () => {
    const registry = new Registry({ prefix: uniquePrefix("cb") }); // no Redis: flush rejects
    const { registerMetrics, printMetrics } = prometheus({
      registry,
      onError: throwing,
      token: () => {
        throw new Error("token lookup failed");
      },
      waitUntil: () => {
        throw new Error("waitUntil throws");
      },
      metricOptions: { requestsTotal: { customLabels: { bad: throwing } } },
    });
    const app = new Hono();
    app.use("*", registerMetrics);
    app.get("/", (c) => c.text("ok"));
    app.get("/metrics", printMetrics);
    expect((await app.request("/")).status).toBe(200);
    const res = await app.request("/metrics");
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain("http_requests_total");
    expect(registry.stats.callbackErrors).toBeGreaterThanOrEqual(2);
  });

  it("hono: a scrape failing with a throwing onError answers 503", async () => {
    const registry = new Registry({
      redis: newClient({ url: "http://127.0.0.1:9", retry: { retries: 0 } }),
      prefix: uniquePrefix("cb"),
    });
    const { printMetrics } = prometheus({ registry, onError: throwing });
    const app = new Hono();
    app.get("/metrics", printMetrics);
    expect((await app.request("/metrics")).status).toBe(503);
    expect(registry.stats.callbackErrors).toBe(1);
  });

  it("vercel metricsHandler: a throwing onError still answers 503", async () => {
    const registry = new Registry({
      redis: newClient({ url: "http://127.0.0.1:9", retry: { retries: 0 } }),
      prefix: uniquePrefix("cb"),
    });
    new Counter({ name: "x_total", help: "h", registers: [registry] });
    const res = await metricsHandler(registry, { onError: throwing })(
      new Request("http://x/metrics"),
    );
    expect(res.status).toBe(503);
  });

  it("an async onError that rejects is counted too", async () => {
    const registry = new Registry({
      prefix: uniquePrefix("cb"),
      onError: async () => {
        throw new Error("rejects");
      },
    });
    new Counter({ name: "x_total", help: "h", registers: [registry] }).inc();
    // No Redis: a configuration error, the one case flush() rejects; onError is not involved.
    await expect(registry.flush()).rejects.toThrow(/no Redis client/);
    registry.setRedis(newClient({ url: "http://127.0.0.1:9", retry: { retries: 0 } }));
    new Counter({ name: "y_total", help: "h", registers: [registry] }).inc();
    await registry.flush();
    await new Promise((r) => setTimeout(r, 10));
    expect(registry.stats.callbackErrors).toBeGreaterThan(0);
  });
});
