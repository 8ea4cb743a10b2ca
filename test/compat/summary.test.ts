// Summary against prom-client 15.1.3: the cases of prom-client's summaryTest, run on both. The
// shapes, labels, _sum and _count must be the same; quantile values are estimates of different
// sketches (README): ours is within relativeAccuracy of the exact quantile (the element of rank
// ⌊q·(n−1)⌋), prom-client's t-digest interpolates between neighbours. So quantile values are
// compared with the exact ones here, and masked when comparing with prom-client.
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE } from "../../src/index.ts";
import {
  type ContentType,
  caught,
  differential,
  getOf,
  maskQuantiles,
  ourSide,
  type Side,
  textOf,
} from "./harness.ts";

interface Value {
  value: number;
  labels: Record<string, unknown>;
  metricName?: string;
}

/** Quantile values replaced by a marker, after checking ours against the exact quantiles. */
function masked<T>(metric: T, side: Side, exact?: (labels: Record<string, unknown>) => number[]) {
  const copy = structuredClone(metric) as { values: Value[] };
  for (const v of copy.values) {
    if (v.labels.quantile === undefined) continue;
    if (side.name === "ours" && exact !== undefined) {
      const sorted = exact(v.labels).sort((a, b) => a - b);
      const q = v.labels.quantile as number;
      const want = sorted.length === 0 ? 0 : sorted[Math.floor(q * (sorted.length - 1))]!;
      expect(Math.abs(v.value - want), `q${q} = ${v.value}, exact ${want}`).toBeLessThanOrEqual(
        0.01 * Math.abs(want),
      );
    }
    v.value = -1;
  }
  return copy as T;
}

describe.each([
  ["text", PROMETHEUS_CONTENT_TYPE],
  ["OpenMetrics", OPENMETRICS_CONTENT_TYPE],
] as [string, ContentType][])("Summary like prom-client (%s registry)", (_, contentType) => {
  const same = async <R>(scenario: Parameters<typeof differential<R>>[0]) => {
    const { ours, prom } = await differential(scenario, contentType);
    expect(ours).toEqual(prom);
    return ours;
  };

  it("has prom-client's percentiles, shapes, _sum and _count; 0s count", async () => {
    await same(async (side) => {
      const { lib, registers, sync } = side;
      const s = new lib.Summary({ name: "summary_test", help: "test", ...registers });
      const observed = [100, 100, 100, 50, 50, 0];
      for (const v of observed) s.observe(v);
      await sync();
      return masked(await getOf(s), side, () => [...observed]);
    });
  });

  it("uses the percentiles configured", async () => {
    await same(async (side) => {
      const { lib, registers, sync, registry } = side;
      const s = new lib.Summary({
        name: "summary_test",
        help: "test",
        percentiles: [0.5, 0.9],
        ...registers,
      });
      const observed = [100, 100, 100, 50, 50];
      for (const v of observed) s.observe(v);
      await sync();
      return {
        get: masked(await getOf(s), side, () => [...observed]),
        text: maskQuantiles(await textOf(registry)),
      };
    });
  });

  it("reads 0 everywhere when empty, and after reset()", async () => {
    await same(async ({ lib, registers, sync, registry }) => {
      const s = new lib.Summary({
        name: "summary_test",
        help: "test",
        percentiles: [0.5],
        ...registers,
      });
      const seen = [await getOf(s), await textOf(registry)];
      s.observe(100);
      await sync();
      s.reset();
      await sync();
      seen.push(await getOf(s), await textOf(registry));
      return seen;
    });
  });

  it("records per label set, by position and object, and times with labels before and after", async () => {
    await same(async (side) => {
      const { lib, registers, sync, registry } = side;
      const s = new lib.Summary({
        name: "summary_test",
        help: "help",
        labelNames: ["method", "endpoint"],
        percentiles: [0.9],
        ...registers,
      });
      s.observe({ method: "GET", endpoint: "/test" }, 50);
      s.observe({ method: "GET", endpoint: "/test" }, 100);
      s.labels("POST", "/test").observe(20);
      s.labels({ method: "POST", endpoint: "/test" }).observe(10);
      const start = { method: "PUT" };
      const seconds = [
        s.startTimer(start)({ endpoint: "/timer" }),
        s.labels("DELETE", "/x").startTimer()(),
      ];
      expect(seconds.every((t) => t >= 0 && t < 5)).toBe(true);
      expect(start).toEqual({ method: "PUT" });
      await sync();
      const get = (await getOf(s)) as { values: Value[] };
      // Timer sums differ between runs.
      for (const v of get.values) {
        if (v.labels.endpoint === "/timer" || v.labels.endpoint === "/x") v.value = 0;
      }
      const text = maskQuantiles(await textOf(registry)).replace(
        /^(summary_test_sum\{[^}]*(?:timer|\/x)"\}) \S+$/gm,
        "$1 <t>",
      );
      return { get: masked(get, side), text };
    });
  });

  it("checks labels with prom-client's errors", async () => {
    const errors = await same(({ lib, registers }) => {
      const s = new lib.Summary({
        name: "foobar",
        help: "Foo Bar",
        labelNames: ["foo"],
        ...registers,
      });
      const two = new lib.Summary({
        name: "two",
        help: "t",
        labelNames: ["method", "endpoint"],
        ...registers,
      });
      return [
        caught(() => s.observe({ foo: "bar", baz: "qaz" } as never, 10)),
        caught(() => two.labels("GET").observe(1)),
        caught(() => two.remove("GET")),
        caught(
          () => new lib.Summary({ name: "q", help: "q", labelNames: ["quantile"], registers: [] }),
        ),
      ];
    });
    expect(errors[0]).toEqual({
      error: "Error",
      message: `Added label "baz" is not included in initial labelset: [ 'foo' ]`,
    });
    expect(errors[3]).toEqual({ error: "Error", message: "quantile is a reserved label keyword" });
  });

  it("removes label sets, timer ones included", async () => {
    await same(async (side) => {
      const { lib, registers, sync } = side;
      const s = new lib.Summary({
        name: "summary_test",
        help: "help",
        labelNames: ["method", "endpoint"],
        percentiles: [0.9],
        ...registers,
      });
      s.observe({ method: "GET", endpoint: "/test" }, 1);
      s.observe({ method: "POST", endpoint: "/test" }, 2);
      s.startTimer({ method: "PUT" })({ endpoint: "/t" });
      await sync();
      s.remove("POST", "/test");
      s.remove({ method: "PUT", endpoint: "/t" });
      await sync();
      const seen = [masked(await getOf(s), side)];
      s.remove("GET", "/test");
      await sync();
      seen.push(masked(await getOf(s), side));
      return seen;
    });
  });

  it("forgets the window after maxAgeSeconds (quantiles 0, counts kept), or prunes the series", async () => {
    await same(async ({ lib, registers, sync }) => {
      const kept = new lib.Summary({
        name: "kept",
        help: "k",
        percentiles: [0.5],
        maxAgeSeconds: 1,
        ageBuckets: 1,
        ...registers,
      });
      const pruned = new lib.Summary({
        name: "pruned",
        help: "p",
        labelNames: ["k"],
        percentiles: [0.5],
        maxAgeSeconds: 1,
        ageBuckets: 1,
        pruneAgedBuckets: true,
        ...registers,
      });
      kept.observe(100);
      pruned.observe({ k: "a" }, 100);
      await sync();
      await sleep(2_100);
      return [await getOf(kept), await getOf(pruned)];
    });
  });
});

// Differences by design (README).
describe("Summary: differences from prom-client", () => {
  it("reset() deletes labelled series for every instance (prom-client keeps them at 0)", async () => {
    const { lib, registers, sync } = ourSide();
    const s = new lib.Summary({ name: "d", help: "d", labelNames: ["k"], ...registers });
    s.observe({ k: "a" }, 1);
    await sync();
    s.reset();
    await sync();
    expect((await s.get()).values).toEqual([]);
  });
});
