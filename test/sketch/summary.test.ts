// Summary quantiles end to end: Summary.observe → one flush request → sketch hashes in a real
// redis-server behind the local Upstash server → one scrape → exposition checked by promtool.
import { describe, expect, it } from "vitest";
import { Registry, Summary } from "../../src/index.ts";
import { type ParsedFamily, parseChecked, sampleValue } from "../helpers/exposition.ts";
import { directRedis, newClient, recordingServer, uniquePrefix } from "../helpers/stack.ts";
import { exactQuantile, lognormal, mulberry32, pareto, relativeError } from "./prng.ts";

const SEED = 20261125;
const QS = [0.5, 0.9, 0.99, 0.999];
const ALPHA = 0.01;

const direct = directRedis();

/** Every stored sketch (one per series and time slice) of a registry prefix, read directly. */
async function storedSketches(prefix: string): Promise<{ field: string; tokens: string[] }[]> {
  const live = await direct.hgetall(`{${prefix}}:live`);
  return Object.entries(live)
    .filter(([field]) => field.startsWith("q"))
    .map(([field, value]) => ({ field, tokens: value.split(" ").slice(1) }));
}

function quantileOf(
  families: ParsedFamily[],
  name: string,
  labels: Record<string, string>,
  q: number,
) {
  return sampleValue(families, name, { ...labels, quantile: String(q) });
}

describe("Summary quantiles across instances", () => {
  it("100 instances × 200,000 values: every scraped quantile within α of the exact one", async () => {
    const prefix = uniquePrefix("summary-accuracy");
    const instances = 100;
    const n = 200_000;
    const config = {
      name: "latency_seconds",
      help: "Latency",
      labelNames: ["dist"] as const,
      percentiles: QS,
    };
    const registries = Array.from({ length: instances }, () => {
      const registry = new Registry({ redis: newClient(), prefix });
      return { registry, summary: new Summary({ ...config, registers: [registry] }) };
    });
    const samples = {
      lognormal: lognormal(SEED, Math.log(0.05), 1),
      pareto: pareto(SEED + 1, 0.01, 1.5),
    };
    const all: Record<string, Float64Array> = {};
    for (const [dist, next] of Object.entries(samples)) {
      const values = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        values[j] = next();
        registries[j % instances]!.summary.observe({ dist }, values[j]!);
      }
      all[dist] = values.sort();
    }
    await Promise.all(registries.map(({ registry }) => registry.flush()));
    for (const { registry } of registries) expect(registry.stats.failedFlushes).toBe(0);

    // A scraper that observed nothing itself, as a dedicated /metrics Worker would be.
    const scraper = new Registry({ redis: newClient(), prefix });
    new Summary({ ...config, registers: [scraper] });
    const families = parseChecked(await scraper.metrics());
    const report: string[] = [];
    for (const [dist, sorted] of Object.entries(all)) {
      expect(sampleValue(families, "latency_seconds_count", { dist })).toBe(n);
      const sum = sorted.reduce((s, v) => s + v, 0);
      expect(sampleValue(families, "latency_seconds_sum", { dist })).toBeCloseTo(sum, 6);
      for (const q of QS) {
        const exact = exactQuantile(sorted, q);
        const scraped = quantileOf(families, "latency_seconds", { dist }, q)!;
        const error = relativeError(scraped, exact);
        report.push(
          `${dist} q=${q}: exact ${exact.toPrecision(6)} scraped ${scraped.toPrecision(6)} rel.err ${error.toExponential(2)}`,
        );
        expect(error, `${dist} q=${q}`).toBeLessThanOrEqual(ALPHA * (1 + 1e-9));
      }
    }
    console.log(report.join("\n"));
  });

  it("forgets values older than maxAgeSeconds; _sum/_count stay all-time; old slices are pruned", async () => {
    const prefix = uniquePrefix("summary-window");
    const registry = new Registry({ redis: newClient(), prefix });
    const config = {
      name: "w",
      help: "w",
      percentiles: [0.5, 0.99],
      maxAgeSeconds: 2,
      ageBuckets: 2,
    };
    const summary = new Summary({ ...config, registers: [registry] });
    const scrape = async () => parseChecked(await registry.metrics());

    for (let j = 0; j < 100; j++) summary.observe(1000);
    await registry.flush();
    let families = await scrape();
    expect(relativeError(quantileOf(families, "w", {}, 0.5)!, 1000)).toBeLessThanOrEqual(ALPHA);

    // Written in slice c, read while the current slice is ≤ c + 1: gone within 2 s.
    await sleep(2_100);
    for (let j = 0; j < 10; j++) summary.observe(1);
    await registry.flush();
    families = await scrape();
    expect(relativeError(quantileOf(families, "w", {}, 0.5)!, 1)).toBeLessThanOrEqual(ALPHA);
    expect(relativeError(quantileOf(families, "w", {}, 0.99)!, 1)).toBeLessThanOrEqual(ALPHA);
    expect(sampleValue(families, "w_count")).toBe(110);
    expect(sampleValue(families, "w_sum")).toBe(100_010);

    await sleep(2_100);
    families = await scrape();
    // An empty window reads 0, as prom-client's.
    expect(quantileOf(families, "w", {}, 0.5)).toBe(0);
    expect(quantileOf(families, "w", {}, 0.99)).toBe(0);
    expect(sampleValue(families, "w_count")).toBe(110);

    // A slice is stored until the end of the last window that reads it; the scrape after that
    // deletes it (no key carries a TTL): nothing is left behind.
    expect(await storedSketches(prefix)).toEqual([]);
  });

  it("renders 0 quantiles for an empty summary (as prom-client), and drops a removed series", async () => {
    const prefix = uniquePrefix("summary-empty");
    const registry = new Registry({ redis: newClient(), prefix });
    const plain = new Summary({
      name: "plain",
      help: "p",
      percentiles: [0.5],
      registers: [registry],
    });
    const labelled = new Summary({
      name: "lab",
      help: "l",
      labelNames: ["k"],
      registers: [registry],
    });
    let families = parseChecked(await registry.metrics());
    expect(quantileOf(families, "plain", {}, 0.5)).toBe(0);
    expect(sampleValue(families, "plain_count")).toBe(0);
    labelled.observe({ k: "a" }, 1);
    labelled.observe({ k: "b" }, 2);
    plain.observe(3);
    await registry.flush();
    families = parseChecked(await registry.metrics());
    expect(quantileOf(families, "lab", { k: "b" }, 0.5)).toBeCloseTo(2, 1);
    labelled.remove({ k: "b" });
    await registry.flush();
    families = parseChecked(await registry.metrics());
    expect(quantileOf(families, "lab", { k: "b" }, 0.5)).toBeUndefined();
    expect(quantileOf(families, "lab", { k: "a" }, 0.5)).toBeCloseTo(1, 1);
    plain.reset();
    await registry.flush();
    families = parseChecked(await registry.metrics());
    expect(quantileOf(families, "plain", {}, 0.5)).toBe(0);
    const left = await storedSketches(prefix);
    expect(left.filter((s) => s.field.startsWith("qplain["))).toEqual([]);
    expect(left.filter((s) => s.field.startsWith('qlab["b"]'))).toEqual([]);
  });
});

describe("Summary sketch in Redis: bounded memory and flush size", () => {
  const server = recordingServer();

  function registryOn(prefix: string): Registry {
    return new Registry({ redis: server.client(), prefix });
  }

  it("keeps a million distinct magnitudes under the bucket cap in Redis", async () => {
    const prefix = uniquePrefix("summary-cap");
    const registry = registryOn(prefix);
    const summary = new Summary({
      name: "wide",
      help: "w",
      percentiles: [0.99, 0.999],
      registers: [registry],
    });
    const uniform = mulberry32(SEED);
    const n = 1_000_000;
    const values = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      // Uniform in the exponent over 2^±1000 (53 random bits: all distinct): ~70,000 buckets.
      values[j] = 2 ** (2000 * (uniform() + uniform() / 2 ** 32) - 1000);
      summary.observe(values[j]!);
      if ((j + 1) % 10_000 === 0) await registry.flush();
    }
    expect(registry.stats.failedFlushes).toBe(0);
    const sketches = await storedSketches(prefix);
    expect(sketches.length).toBeGreaterThan(0);
    const lines: string[] = [];
    for (const { field, tokens } of sketches) {
      expect(tokens.length).toBeLessThanOrEqual(summary.maxBuckets + 1); // + the floor "fp:…"
      lines.push(`${field}: ${tokens.length} buckets`);
    }
    lines.push(`live hash MEMORY USAGE ${await direct.memory("USAGE", `{${prefix}}:live`)} B`);
    const families = parseChecked(await registry.metrics());
    const sorted = values.sort();
    for (const q of [0.99, 0.999]) {
      expect(
        relativeError(quantileOf(families, "wide", {}, q)!, exactQuantile(sorted, q)),
      ).toBeLessThanOrEqual(ALPHA * (1 + 1e-9));
    }
    expect(sampleValue(families, "wide_count")).toBe(n);
    console.log(`capped series (1e6 distinct magnitudes):\n${lines.join("\n")}`);
  });

  it("flushes a burst of 1,000 observations as one request; memory of a realistic series", async () => {
    const prefix = uniquePrefix("summary-burst");
    const registry = registryOn(prefix);
    const summary = new Summary({
      name: "http_request_duration_seconds",
      help: "Latency",
      labelNames: ["route"],
      registers: [registry],
    });
    const next = lognormal(SEED, Math.log(0.05), 1);
    // The first flush of an isolate sends the script source (EVAL); later ones its SHA.
    summary.observe({ route: "/warm-up" }, 1);
    await registry.flush();
    for (let j = 0; j < 1_000; j++) summary.observe({ route: "/api/items" }, next());
    const requests = await server.during(() => registry.flush());
    expect(requests.length).toBe(1);
    expect(requests[0]!.commands.length).toBe(1);
    expect(String(requests[0]!.commands[0]![0]).toLowerCase()).toBe("evalsha");
    const bodyBytes = JSON.stringify(requests[0]!.commands).length;
    const args = requests[0]!.commands[0]!.map(String);
    const bucketFields = args[args.indexOf("q") + 5]!.split(" ").length;

    // Then 199,000 more, as a busy series holds in one window.
    for (let j = 0; j < 199_000; j++) summary.observe({ route: "/api/items" }, next());
    await registry.flush();
    const sketches = await storedSketches(prefix);
    const sketchFields = sketches.reduce((n, s) => n + s.tokens.length, 0);
    const liveBytes = await direct.memory("USAGE", `{${prefix}}:live`);
    console.log(
      `burst of 1,000 observations: 1 request, body ${bodyBytes} B (${bucketFields} sketch ` +
        `buckets)\nrealistic series (200,000 lognormal values, ${sketches.length} slice(s)): ` +
        `${sketchFields} buckets, live hash MEMORY USAGE ${liveBytes} B`,
    );
    expect(bodyBytes).toBeLessThan(4_000);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
