import { describe, expect, it } from "vitest";
import { Counter, Gauge, Histogram, Registry, Summary } from "../../src/index.ts";
import { parseChecked } from "../helpers/exposition.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

describe("smoke", () => {
  it("flushes and scrapes", async () => {
    const registry = new Registry({ redis: newClient(), prefix: uniquePrefix("smoke") });
    const c = new Counter({
      name: "hits_total",
      help: "Hits",
      labelNames: ["route"],
      registers: [registry],
    });
    const g = new Gauge({ name: "inflight", help: "In flight", registers: [registry] });
    const h = new Histogram({
      name: "lat",
      help: "Latency",
      labelNames: ["m"],
      registers: [registry],
    });
    const s = new Summary({ name: "size", help: "Size", registers: [registry] });
    c.inc({ route: "/" });
    c.labels("/x").inc(2.5);
    g.set(3);
    h.observe({ m: "GET" }, 0.2);
    h.observe({ m: "GET" }, 20);
    s.observe(5);
    await registry.flush();
    expect(registry.stats.failedFlushes).toBe(0);
    const text = await registry.metrics();
    console.log(text);
    const fam = parseChecked(text);
    expect(fam.length).toBe(4);
  });
});
