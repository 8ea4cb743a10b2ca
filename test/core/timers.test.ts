import { describe, expect, it } from "vitest";
import { Gauge, Histogram, Registry, Summary } from "../../src/index.ts";
import { parseChecked, sampleValue } from "../helpers/exposition.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("timers", () => {
  it("record the seconds elapsed, with start and end labels merged, for every type", async () => {
    const registry = new Registry({ redis: newClient(), prefix: uniquePrefix("timers") });
    const opts = { help: "t", labelNames: ["route", "status"], registers: [registry] };
    const h = new Histogram({ name: "h_seconds", buckets: [0.01, 10], ...opts });
    const s = new Summary({ name: "s_seconds", ...opts });
    const g = new Gauge({ name: "g_seconds", ...opts });
    const ends = [
      h.startTimer({ route: "/a" }),
      s.startTimer({ route: "/a" }),
      g.startTimer({ route: "/a" }),
    ];
    const children = [
      h.labels("/b", "200").startTimer(),
      s.labels("/b", "200").startTimer(),
      g.labels("/b", "200").startTimer(),
    ];
    await sleep(30);
    for (const end of ends) expect(end({ status: "500" })).toBeGreaterThanOrEqual(0.025);
    for (const end of children) expect(end()).toBeGreaterThanOrEqual(0.025);
    await registry.flush();
    const families = parseChecked(await registry.metrics());
    for (const labels of [
      { route: "/a", status: "500" },
      { route: "/b", status: "200" },
    ]) {
      expect(sampleValue(families, "h_seconds_bucket", { ...labels, le: "0.01" })).toBe(0);
      expect(sampleValue(families, "h_seconds_bucket", { ...labels, le: "10" })).toBe(1);
      expect(sampleValue(families, "s_seconds_count", labels)).toBe(1);
      expect(sampleValue(families, "g_seconds", labels)).toBeGreaterThanOrEqual(0.025);
    }
  });
});
