// The Grafana dashboard in dashboards/ must stay true: every query parses as PromQL (promtool),
// and every metric it reads is one the Hono middleware (or the library itself) really exposes.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { prometheus } from "../../src/adapters/hono.ts";
import { Registry } from "../../src/index.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

interface Panel {
  title: string;
  targets: { expr: string }[];
}
const dashboard = JSON.parse(
  readFileSync(new URL("../../dashboards/hono-prometheus-upstash.json", import.meta.url), "utf8"),
) as { panels: Panel[] };
const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
// Grafana's variables, replaced the way Grafana would before sending the query.
const concrete = (expr: string) =>
  expr.replaceAll("$__rate_interval", "1m").replaceAll("$job", ".*");

describe("Grafana dashboard", () => {
  it("has only PromQL that promtool accepts", () => {
    expect(exprs.length).toBeGreaterThan(5);
    const dir = mkdtempSync(join(tmpdir(), "dashboard-"));
    try {
      const rules = exprs.map(
        (e, i) => `      - record: dashboard:q${i}\n        expr: ${JSON.stringify(concrete(e))}`,
      );
      const file = join(dir, "rules.yml");
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join("\n")}\n`);
      const run = spawnSync("promtool", ["check", "rules", file], { encoding: "utf8" });
      expect(run.status, run.stdout + run.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads only metrics the Hono middleware exposes", async () => {
    const registry = new Registry({ redis: newClient(), prefix: uniquePrefix("dashboard") });
    const { registerMetrics, printMetrics } = prometheus({ registry });
    const app = new Hono();
    app.use("*", registerMetrics);
    app.get("/users/:id", (c) => c.text("ok"));
    app.get("/metrics", printMetrics);
    await app.request("/users/1");
    await registry.flush();
    const text = await (await app.request("/metrics")).text();
    const exposed = new Set(
      [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
        type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!],
      ),
    );
    const used = new Set(
      exprs.flatMap((e) =>
        [...e.matchAll(/\b([a-z_:]+_(?:total|bucket|sum|count))\b/g)].map((m) => m[1]!),
      ),
    );
    for (const metric of used) {
      if (metric.startsWith("prometheus_upstash_")) continue; // self-metrics: shown once written
      expect(exposed, `dashboard reads ${metric}`).toContain(metric);
    }
    expect(used.size).toBeGreaterThanOrEqual(2);
  });
});
