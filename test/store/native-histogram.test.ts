// Native histograms through the whole path: Histogram({ native }) in several registries → one
// flush each → the write script's native merge in a real redis-server → one read → the protobuf
// exposition, decoded with protobufjs and the io.prometheus.client schema.
import { describe, expect, it } from "vitest";
import { Histogram, Registry } from "../../src/index.ts";
import { DEFAULT_ZERO_THRESHOLD, NativeAccumulator } from "../../src/native/index.ts";
import { parseChecked } from "../helpers/exposition.ts";
import { decodeFamilies, rebuildBuckets, type Span } from "../helpers/protobuf.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";
import { bucketsOf } from "../native/merge-model.ts";

interface DecodedHistogram {
  sampleCount?: number;
  sampleSum?: number;
  schema?: number;
  zeroThreshold?: number;
  zeroCount?: number;
  positiveSpan?: Span[];
  positiveDelta?: number[];
  negativeSpan?: Span[];
  negativeDelta?: number[];
  bucket?: unknown[];
}

const rebuild = (spans?: Span[], deltas?: number[]) => rebuildBuckets(spans, deltas).buckets;

async function histogramOf(registry: Registry, name: string): Promise<DecodedHistogram> {
  const family = decodeFamilies(await registry.metricsProtobuf(), { arrays: true }).find(
    (f) => f.name === name,
  ) as {
    metric: { histogram: DecodedHistogram }[];
  };
  return family.metric[0]!.histogram;
}

const values = (n: number, seed: number) =>
  Array.from(
    { length: n },
    (_, i) => 10 ** ((((i + seed) * 7919) % 1000) / 250 - 3) * (i % 7 === 0 ? -1 : 1),
  );

describe("native histograms in Redis", () => {
  it("two instances add into one native histogram, exactly what one accumulator of all values holds", async () => {
    const prefix = uniquePrefix("native");
    const config = { name: "lat", help: "l", native: { schema: 3, maxBuckets: 1000 } };
    const registries = [0, 1].map(() => new Registry({ redis: newClient(), prefix }));
    const histograms = registries.map((r) => new Histogram({ ...config, registers: [r] }));
    const model = new NativeAccumulator(3, DEFAULT_ZERO_THRESHOLD, 1000);
    let sum = 0;
    for (const [k, h] of histograms.entries()) {
      for (const v of [...values(300, k * 1000), 0]) {
        h.observe(v);
        model.observe(v);
        sum += v;
      }
    }
    // Several flushes each: the merge in Redis is what adds them up.
    for (const r of registries) await r.flush();
    histograms[0]!.observe(0.5);
    model.observe(0.5);
    sum += 0.5;
    await registries[0]!.flush();

    const got = await histogramOf(registries[1]!, "lat");
    const expected = bucketsOf(model);
    expect(got.schema).toBe(3);
    expect(got.zeroCount).toBe(model.zeroCount);
    expect(got.zeroThreshold).toBe(DEFAULT_ZERO_THRESHOLD);
    expect(rebuild(got.positiveSpan, got.positiveDelta)).toEqual(expected.positive);
    expect(rebuild(got.negativeSpan, got.negativeDelta)).toEqual(expected.negative);
    expect(got.sampleCount).toBe(603);
    expect(got.sampleSum).toBeCloseTo(sum, 9);
    // The classic buckets are still there beside them.
    expect(got.bucket!.length).toBeGreaterThan(0);
  });

  it("Redis keeps at most maxBuckets: past it the schema goes down, no observation is lost", async () => {
    const prefix = uniquePrefix("native-cap");
    const config = { name: "wide", help: "w", native: { schema: 5, maxBuckets: 12 } };
    const registries = [0, 1, 2].map(() => new Registry({ redis: newClient(), prefix }));
    const histograms = registries.map((r) => new Histogram({ ...config, registers: [r] }));
    // Each instance stays within 12 buckets at schema 5; together they span far more.
    histograms.forEach((h, k) => {
      for (let i = 0; i < 10; i++) h.observe(2 ** (k * 4 + i / 32));
    });
    for (const r of registries) await r.flush();
    const got = await histogramOf(registries[0]!, "wide");
    const buckets = rebuild(got.positiveSpan, got.positiveDelta);
    expect(buckets.length).toBeLessThanOrEqual(12);
    expect(got.schema!).toBeLessThan(5);
    expect(buckets.reduce((n, [, c]) => n + c, 0)).toBe(30);
    expect(got.sampleCount).toBe(30);
  });

  it("text and OpenMetrics scrapes of a native histogram are the classic ones, unchanged", async () => {
    const prefix = uniquePrefix("native-text");
    const withNative = new Registry({ redis: newClient(), prefix });
    const without = new Registry({ redis: newClient(), prefix: uniquePrefix("classic-text") });
    const a = new Histogram({ name: "h", help: "h", native: true, registers: [withNative] });
    const b = new Histogram({ name: "h", help: "h", registers: [without] });
    for (const v of [0.001, 0.2, 3, 40]) {
      a.observe(v);
      b.observe(v);
    }
    await withNative.flush();
    await without.flush();
    for (const type of [Registry.PROMETHEUS_CONTENT_TYPE, Registry.OPENMETRICS_CONTENT_TYPE]) {
      const text = await withNative.metrics(type);
      expect(text).toBe(await without.metrics(type));
      parseChecked(text);
    }
  });
});
