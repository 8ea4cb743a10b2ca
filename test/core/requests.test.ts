// Cost model: one HTTP request (one billed command) per non-empty flush, none for an empty one,
// one per scrape — whatever the number of updates, series, metrics and instances.
import { describe, expect, it } from "vitest";
import { Counter, Gauge, Histogram, Registry, Summary } from "../../src/index.ts";
import { parseChecked, sampleValue } from "../helpers/exposition.ts";
import { recordingServer, uniquePrefix } from "../helpers/stack.ts";

const server = recordingServer();

/** Requests and billed commands made while `fn` runs. */
async function cost(fn: () => Promise<unknown>): Promise<{ requests: number; commands: number }> {
  const mine = await server.during(fn);
  return { requests: mine.length, commands: mine.reduce((n, r) => n + r.commands.length, 0) };
}

function setup(instances: number) {
  const prefix = uniquePrefix("requests");
  return Array.from({ length: instances }, () => {
    const redis = server.client();
    const registry = new Registry({ redis, prefix });
    return {
      registry,
      counter: new Counter({
        name: "c_total",
        help: "c",
        labelNames: ["k"],
        registers: [registry],
      }),
      histogram: new Histogram({ name: "h", help: "h", labelNames: ["k"], registers: [registry] }),
      gauge: new Gauge({ name: "g", help: "g", labelNames: ["k"], registers: [registry] }),
      summary: new Summary({ name: "s", help: "s", labelNames: ["k"], registers: [registry] }),
    };
  });
}

describe("requests per flush and per scrape", () => {
  it("sends nothing for an empty flush", async () => {
    const [a] = setup(1);
    expect(await cost(() => a!.registry.flush())).toEqual({ requests: 0, commands: 0 });
  });

  it("sends one request with one command per flush, whatever the number of updates", async () => {
    const [a] = setup(1);
    for (const updates of [1, 1000, 20_000]) {
      for (let i = 0; i < updates; i++) {
        const k = String(i % 100);
        a!.counter.inc({ k });
        a!.histogram.observe({ k }, i / 1000);
        a!.gauge.set({ k }, i);
        a!.summary.observe({ k }, i);
      }
      expect(await cost(() => a!.registry.flush())).toEqual({ requests: 1, commands: 1 });
    }
    const text = await a!.registry.metrics();
    expect(sampleValue(parseChecked(text), "c_total", { k: "7" })).toBe(10 + 200); // 1,000 updates give k=7 ten, 20,000 give it 200
  });

  it("scrapes in one request whatever the number of series and instances", async () => {
    const instances = setup(20);
    for (const [n, x] of instances.entries()) {
      for (let i = 0; i < 50; i++) {
        x.counter.inc({ k: `${n}-${i}` });
        x.gauge.set({ k: String(i) }, n);
        x.histogram.observe({ k: String(i) }, n);
      }
    }
    await Promise.all(instances.map((x) => x.registry.flush()));
    const text = { value: "" };
    expect(
      await cost(async () => {
        text.value = await instances[0]!.registry.metrics();
      }),
    ).toEqual({ requests: 1, commands: 1 });
    const families = parseChecked(text.value);
    expect(families.find((f) => f.name === "c_total")!.samples).toHaveLength(20 * 50);
    // 20 live instances set g{k="3"} to 0..19: the default aggregate is the sum.
    expect(sampleValue(families, "g", { k: "3" })).toBe((19 * 20) / 2);
  });

  it("coalesces 1,000 increments of one series into one delta", async () => {
    const [a] = setup(1);
    for (let i = 0; i < 1000; i++) a!.counter.inc({ k: "x" });
    const [request] = await server.during(() => a!.registry.flush());
    const args = request!.commands[0]!.map(String);
    // [eval, script, "2", 2 keys, client ms, writer, series bound, "b", seq, then one op: add "1000" to it]
    expect(args.slice(8)).toEqual(["b", "1", "a", 'cc_total["x"]', "1000"]);
  });

  it("makes one follow-up request for all calls made while a flush is under way", async () => {
    const [a] = setup(1);
    a!.counter.inc({ k: "a" });
    const spent = await cost(async () => {
      const first = a!.registry.flush();
      const followers: Promise<void>[] = [];
      for (let i = 0; i < 10; i++) {
        a!.counter.inc({ k: "a" });
        followers.push(a!.registry.flush());
      }
      await Promise.all([first, ...followers]);
    });
    expect(spent.requests).toBe(2);
    expect(sampleValue(parseChecked(await a!.registry.metrics()), "c_total", { k: "a" })).toBe(11);
  });

  it("lets the default registry get its client later (register.setRedis)", async () => {
    const { register } = await import("../../src/index.ts");
    const c = new Counter({ name: `late_${Date.now()}_total`, help: "late" });
    c.inc();
    await expect(register.flush()).rejects.toThrow(/no Redis client/);
    register.setRedis(server.client());
    c.inc(2);
    expect(await cost(() => register.flush())).toEqual({ requests: 1, commands: 1 });
    expect(await register.metrics()).toContain(`${c.name} 2\n`);
    register.removeSingleMetric(c.name);
  });
});
