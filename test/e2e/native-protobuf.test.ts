// A real Prometheus (Debian's 2.42, --enable-feature=native-histograms) scrapes the protobuf
// exposition of encodeProtobuf from a tiny HTTP server. It must ask for protobuf first (and
// prefersProtobuf must say so), ingest every metric type with the values encoded, and read the
// native histogram back with bucket boundaries equal to upperBound() for every one of the 256
// buckets of an octave at schema 8: the fraction table is Prometheus' own, bit for bit.
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prefersProtobuf } from "../../src/exposition/accept-protobuf.ts";
import { encodeProtobuf, PROTOBUF_CONTENT_TYPE } from "../../src/exposition/protobuf.ts";
import {
  DEFAULT_ZERO_THRESHOLD,
  decodePacked,
  NativeAccumulator,
  upperBound,
} from "../../src/native/index.ts";
import type { MetricFamily, NativeBuckets } from "../../src/types.ts";
import { freePort } from "../../tools/local-upstash/redis-server.ts";
import { mergePacked } from "../native/merge-model.ts";
import { type PrometheusServer, startPrometheus } from "./prometheus-server.ts";

const positive = Array.from({ length: 256 }, (_, k) => [k + 1, k + 1] as [number, number]);
const native: NativeBuckets = {
  schema: 8,
  zeroThreshold: DEFAULT_ZERO_THRESHOLD,
  zeroCount: 3,
  positive,
  negative: [
    [0, 5],
    [10, 2],
  ],
};
const NATIVE_COUNT = (256 * 257) / 2 + 5 + 2 + 3;

// Observations of two instances (schemas 5 and 3), merged as Redis would merge them (merge.ts
// is held to the Lua in test/native/lua.test.ts), read back and exposed.
const observed: number[] = [];
let stored: string | undefined;
for (const [k, schema] of [5, 3].entries()) {
  const acc = new NativeAccumulator(schema, DEFAULT_ZERO_THRESHOLD, 160);
  let sum = 0;
  for (let i = 0; i < 500; i++) {
    const v = 10 ** (((i * 7919 + k * 104729) % 1000) / 250 - 3); // 1 ms … 10 s, log-uniform
    acc.observe(v);
    observed.push(v);
    sum += v;
  }
  stored = mergePacked(stored, acc.encode(sum), 160);
}
const merged = decodePacked(stored!);

const families: MetricFamily[] = [
  {
    name: "observed_seconds",
    help: "Merged from two instances",
    type: "histogram",
    labelNames: [],
    samples: [
      { suffix: "_sum", values: [], value: merged.sum },
      { suffix: "_count", values: [], value: merged.count, native: merged },
    ],
  },
  {
    name: "native_test_seconds",
    help: "A native histogram",
    type: "histogram",
    labelNames: ["route"],
    samples: [
      { suffix: "_bucket", values: ["/x"], extra: ["le", "1"], value: 10 },
      { suffix: "_bucket", values: ["/x"], extra: ["le", "+Inf"], value: NATIVE_COUNT },
      { suffix: "_sum", values: ["/x"], value: 12345.5 },
      { suffix: "_count", values: ["/x"], value: NATIVE_COUNT, native },
    ],
  },
  {
    name: "requests_total",
    help: "Requests",
    type: "counter",
    labelNames: ["method"],
    samples: [{ suffix: "", values: ["GET"], value: 42 }],
  },
  {
    name: "queue_depth",
    help: "Depth",
    type: "gauge",
    labelNames: [],
    samples: [{ suffix: "", values: [], extra: ["instance_id", "i-1"], value: -2.5 }],
  },
  {
    name: "latency",
    help: "Latency",
    type: "summary",
    labelNames: [],
    samples: [
      { suffix: "", values: [], extra: ["quantile", "0.5"], value: 0.125 },
      { suffix: "_sum", values: [], value: 10 },
      { suffix: "_count", values: [], value: 80 },
    ],
  },
  {
    name: "size_bytes",
    help: "Size",
    type: "histogram",
    labelNames: [],
    samples: [
      { suffix: "_bucket", values: [], extra: ["le", "100"], value: 2 },
      { suffix: "_bucket", values: [], extra: ["le", "+Inf"], value: 5 },
      { suffix: "_sum", values: [], value: 900 },
      { suffix: "_count", values: [], value: 5 },
    ],
  },
];

/** What Prometheus 2.42 sends with native histograms on (also in test/exposition). */
const PROMETHEUS_2_42_NATIVE_ACCEPT =
  "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

let server: Server | undefined;
let prom: PrometheusServer | undefined;
const accepts: string[] = [];

beforeAll(async () => {
  const body = encodeProtobuf(families);
  server = createServer((req, res) => {
    accepts.push(req.headers.accept ?? "");
    if (!prefersProtobuf(req.headers.accept)) {
      res.writeHead(406).end();
      return;
    }
    res.writeHead(200, { "Content-Type": PROTOBUF_CONTENT_TYPE }).end(body);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", resolve));
  prom = await startPrometheus({
    targets: [`127.0.0.1:${port}`],
    scrapeInterval: "1s",
    flags: ["--enable-feature=native-histograms"],
  });
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
}, 30_000);

/** Polls until `read` gives a non-empty result or the time is up. */
async function eventually<T>(read: () => Promise<T[]>, timeoutMs = 20_000): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await read();
    if (result.length > 0 || Date.now() > deadline) return result;
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("Prometheus 2.42 scraping the protobuf exposition", () => {
  it("asks for protobuf first and ingests the native histogram with Prometheus' boundaries", async () => {
    const [sample] = await eventually(() =>
      prom!.queryHistograms('native_test_seconds{route="/x"}'),
    );
    expect(accepts.length).toBeGreaterThan(0);
    expect(accepts.every((a) => prefersProtobuf(a))).toBe(true);
    expect(accepts[0]).toBe(PROMETHEUS_2_42_NATIVE_ACCEPT);
    const h = sample!.histogram[1];
    expect(Number(h.count)).toBe(NATIVE_COUNT);
    expect(Number(h.sum)).toBe(12345.5);
    const buckets = h.buckets!.map(([rule, lower, upper, n]) => [
      rule,
      Number(lower),
      Number(upper),
      Number(n),
    ]);
    // Negative buckets first (most negative first), then the zero bucket, then positive ones.
    expect(buckets.slice(0, 3)).toEqual([
      [1, -upperBound(10, 8), -upperBound(9, 8), 2],
      [1, -upperBound(0, 8), -upperBound(-1, 8), 5],
      [3, -DEFAULT_ZERO_THRESHOLD, DEFAULT_ZERO_THRESHOLD, 3],
    ]);
    expect(buckets.slice(3)).toEqual(
      positive.map(([i, n]) => [0, upperBound(i - 1, 8), upperBound(i, 8), n]),
    );
    // 2.42 keeps only the native part of a histogram that has one: no classic series.
    expect(await prom!.query("native_test_seconds_bucket")).toEqual([]);
    expect(await prom!.query("native_test_seconds_count")).toEqual([]);
  }, 40_000);

  it("answers histogram_quantile over merged instances within the schema's relative error", async () => {
    expect(merged.schema).toBeLessThanOrEqual(3);
    const sorted = [...observed].sort((a, b) => a - b);
    const error = 2 ** (2 ** -merged.schema) - 1; // a bucket's width relative to its bounds
    for (const q of [0.5, 0.9, 0.99]) {
      const [r] = await eventually(() => prom!.query(`histogram_quantile(${q}, observed_seconds)`));
      const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
      expect(Math.abs(Number(r!.value[1]) - exact) / exact).toBeLessThanOrEqual(error);
    }
    const [count] = await eventually(() => prom!.query("histogram_count(observed_seconds)"));
    expect(Number(count!.value[1])).toBe(1000);
  }, 40_000);

  it("ingests counters, gauges, summaries and classic histograms with the values encoded", async () => {
    const value = async (q: string) => {
      const r = await eventually(() => prom!.query(q));
      return r.map((s) => [s.metric, Number(s.value[1])]);
    };
    expect(await value('requests_total{method="GET"}')).toEqual([
      [expect.objectContaining({ method: "GET" }), 42],
    ]);
    expect(await value("queue_depth")).toEqual([
      [expect.objectContaining({ instance_id: "i-1" }), -2.5],
    ]);
    expect(await value('latency{quantile="0.5"}')).toEqual([[expect.anything(), 0.125]]);
    expect(await value("latency_count")).toEqual([[expect.anything(), 80]]);
    // Prometheus 2.x writes an integer bound of a protobuf bucket as "100.0" (OpenMetrics
    // style), where the text format gave le="100"; Prometheus 3 normalises both to "100.0".
    expect(await value('size_bytes_bucket{le="100.0"}')).toEqual([[expect.anything(), 2]]);
    expect(await value('size_bytes_bucket{le="+Inf"}')).toEqual([[expect.anything(), 5]]);
    expect(await value("histogram_count(native_test_seconds)")).toEqual([
      [expect.anything(), NATIVE_COUNT],
    ]);
  }, 40_000);
});
