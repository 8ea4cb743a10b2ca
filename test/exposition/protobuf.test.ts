// encodeProtobuf decoded by a real protobuf decoder (protobufjs with the io.prometheus.client
// schema in metrics.proto): every metric type must come back exactly as it was given, native
// buckets included (spans and deltas rebuilt into [index, count] lists here, independently).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { negotiateScrapeFormat, prefersProtobuf } from "../../src/exposition/accept-protobuf.ts";
import { encodeProtobuf, PROTOBUF_CONTENT_TYPE } from "../../src/exposition/protobuf.ts";
import type { MetricFamily, NativeBuckets } from "../../src/types.ts";
import { decodeFamilies, rebuildBuckets, type Span } from "../helpers/protobuf.ts";

const decode = (bytes: Uint8Array) => decodeFamilies(bytes);

/** Spans and deltas back to non-empty [index, count] buckets, every delta used. */
function rebuild(spans: Span[] = [], deltas: number[] = []): [number, number][] {
  const { buckets, deltasRead } = rebuildBuckets(spans, deltas);
  expect(deltasRead).toBe(deltas.length);
  return buckets;
}

const label = (name: string, value: string) => ({ name, value });

describe("encodeProtobuf", () => {
  it("encodes counters and gauges with their labels, default labels and extra labels", () => {
    const families: MetricFamily[] = [
      {
        name: "requests_total",
        help: "Requests — with ünïcode\nand a newline",
        type: "counter",
        labelNames: ["method", "route"],
        samples: [
          { suffix: "", values: ["GET", "/a"], value: 3 },
          { suffix: "", values: ["POST", ""], value: 1e300 },
        ],
      },
      {
        name: "queue_depth",
        help: "Depth",
        type: "gauge",
        labelNames: [],
        samples: [
          { suffix: "", values: [], extra: ["instance_id", "i-1"], value: -2.5 },
          { suffix: "", values: [], extra: ["instance_id", "i-2"], value: 0 },
        ],
      },
    ];
    expect(decode(encodeProtobuf(families, { service: "api", method: "ignored" }))).toEqual([
      {
        name: "requests_total",
        help: "Requests — with ünïcode\nand a newline",
        type: "COUNTER",
        metric: [
          {
            label: [label("method", "GET"), label("route", "/a"), label("service", "api")],
            counter: { value: 3 },
          },
          { label: [label("method", "POST"), label("service", "api")], counter: { value: 1e300 } },
        ],
      },
      {
        name: "queue_depth",
        help: "Depth",
        type: "GAUGE",
        metric: [
          {
            // The gauge has no label "method": the default label applies to it.
            label: [
              label("service", "api"),
              label("method", "ignored"),
              label("instance_id", "i-1"),
            ],
            gauge: { value: -2.5 },
          },
          {
            label: [
              label("service", "api"),
              label("method", "ignored"),
              label("instance_id", "i-2"),
            ],
            gauge: { value: 0 },
          },
        ],
      },
    ]);
  });

  it("encodes a summary per series: quantiles, sum and count", () => {
    const families: MetricFamily[] = [
      {
        name: "latency",
        help: "Latency",
        type: "summary",
        labelNames: ["route"],
        samples: [
          { suffix: "", values: ["/a"], extra: ["quantile", "0.5"], value: 0.12 },
          { suffix: "", values: ["/a"], extra: ["quantile", "0.99"], value: 0.9 },
          { suffix: "_sum", values: ["/a"], value: 12.5 },
          { suffix: "_count", values: ["/a"], value: 100 },
          { suffix: "", values: ["/b"], extra: ["quantile", "0.5"], value: Number.NaN },
          { suffix: "_sum", values: ["/b"], value: 0 },
          { suffix: "_count", values: ["/b"], value: 0 },
        ],
      },
    ];
    expect(decode(encodeProtobuf(families))).toEqual([
      {
        name: "latency",
        help: "Latency",
        type: "SUMMARY",
        metric: [
          {
            label: [label("route", "/a")],
            summary: {
              sampleCount: 100,
              sampleSum: 12.5,
              quantile: [
                { quantile: 0.5, value: 0.12 },
                { quantile: 0.99, value: 0.9 },
              ],
            },
          },
          {
            label: [label("route", "/b")],
            summary: { sampleCount: 0, sampleSum: 0, quantile: [{ quantile: 0.5, value: NaN }] },
          },
        ],
      },
    ]);
  });

  it("encodes classic buckets cumulatively, the +Inf one left to the count", () => {
    const families: MetricFamily[] = [
      {
        name: "size",
        help: "Size",
        type: "histogram",
        labelNames: [],
        samples: [
          { suffix: "_bucket", values: [], extra: ["le", "0.5"], value: 1 },
          { suffix: "_bucket", values: [], extra: ["le", "1"], value: 3 },
          { suffix: "_bucket", values: [], extra: ["le", "+Inf"], value: 2 ** 40 },
          { suffix: "_sum", values: [], value: 7.25 },
          { suffix: "_count", values: [], value: 2 ** 40 },
        ],
      },
    ];
    expect(decode(encodeProtobuf(families))).toEqual([
      {
        name: "size",
        help: "Size",
        type: "HISTOGRAM",
        metric: [
          {
            histogram: {
              sampleCount: 2 ** 40,
              sampleSum: 7.25,
              bucket: [
                { cumulativeCount: 1, upperBound: 0.5 },
                { cumulativeCount: 3, upperBound: 1 },
              ],
            },
          },
        ],
      },
    ]);
  });

  it("encodes native buckets as spans and deltas: gaps, negative side, zero bucket", () => {
    const native: NativeBuckets = {
      schema: 3,
      zeroThreshold: 2.938735877055719e-39,
      zeroCount: 4,
      // Gaps of 1 and 2 empty buckets are filled; 3 and more start a new span.
      positive: [
        [-5, 2],
        [-4, 7],
        [-2, 1],
        [1, 5],
        [5, 5],
        [40, 2 ** 40],
        [41, 1],
      ],
      negative: [
        [0, 3],
        [100, 1],
      ],
    };
    const families: MetricFamily[] = [
      {
        name: "duration_seconds",
        help: "Duration",
        type: "histogram",
        labelNames: ["route"],
        samples: [
          { suffix: "_bucket", values: ["/x"], extra: ["le", "1"], value: 10 },
          { suffix: "_bucket", values: ["/x"], extra: ["le", "+Inf"], value: 2 ** 40 + 28 },
          { suffix: "_sum", values: ["/x"], value: 1234.5 },
          { suffix: "_count", values: ["/x"], value: 2 ** 40 + 28, native },
        ],
      },
    ];
    const [family] = decode(encodeProtobuf(families)) as {
      metric: { histogram: Record<string, unknown> }[];
    }[];
    const h = family!.metric[0]!.histogram;
    expect(h).toMatchObject({
      sampleCount: 2 ** 40 + 28,
      sampleSum: 1234.5,
      bucket: [{ cumulativeCount: 10, upperBound: 1 }],
      schema: 3,
      zeroThreshold: 2.938735877055719e-39,
      zeroCount: 4,
      positiveSpan: [
        { offset: -5, length: 7 }, // -5, -4, (-3), -2, (-1, 0), 1: small gaps filled
        { offset: 3, length: 1 }, // 5
        { offset: 34, length: 2 }, // 40, 41
      ],
      positiveDelta: [2, 5, -7, 1, -1, 0, 5, 0, 2 ** 40 - 5, 1 - 2 ** 40],
      negativeSpan: [
        { offset: 0, length: 1 },
        { offset: 99, length: 1 },
      ],
      negativeDelta: [3, -2],
    });
    expect(rebuild(h.positiveSpan as Span[], h.positiveDelta as number[])).toEqual(native.positive);
    expect(rebuild(h.negativeSpan as Span[], h.negativeDelta as number[])).toEqual(native.negative);
  });

  it("marks an empty native histogram with a no-op span when its zero threshold is 0", () => {
    const native: NativeBuckets = {
      schema: 0,
      zeroThreshold: 0,
      zeroCount: 0,
      positive: [],
      negative: [],
    };
    const families: MetricFamily[] = [
      {
        name: "empty",
        help: "Empty",
        type: "histogram",
        labelNames: [],
        samples: [
          { suffix: "_sum", values: [], value: 0 },
          { suffix: "_count", values: [], value: 0, native },
        ],
      },
    ];
    const [family] = decode(encodeProtobuf(families)) as { metric: { histogram: unknown }[] }[];
    expect(family!.metric[0]!.histogram).toEqual({
      sampleCount: 0,
      sampleSum: 0,
      schema: 0,
      zeroThreshold: 0,
      zeroCount: 0,
      positiveSpan: [{ offset: 0, length: 0 }],
    });
  });

  it("writes a non-integer count as sample_count_float", () => {
    const families: MetricFamily[] = [
      {
        name: "odd",
        help: "Odd",
        type: "histogram",
        labelNames: [],
        samples: [
          { suffix: "_bucket", values: [], extra: ["le", "1"], value: 0.5 },
          { suffix: "_sum", values: [], value: 1 },
          { suffix: "_count", values: [], value: 1.5 },
        ],
      },
    ];
    const [family] = decode(encodeProtobuf(families)) as { metric: { histogram: unknown }[] }[];
    expect(family!.metric[0]!.histogram).toEqual({
      sampleCountFloat: 1.5,
      sampleSum: 1,
      bucket: [{ cumulativeCountFloat: 0.5, upperBound: 1 }],
    });
  });

  it("round-trips any native buckets through spans and deltas", () => {
    const side = fc
      .uniqueArray(fc.integer({ min: -3000, max: 3000 }), { maxLength: 60 })
      .chain((indices) =>
        fc.tuple(
          fc.constant(indices.sort((a, b) => a - b)),
          fc.array(fc.integer({ min: 1, max: 2 ** 52 }), {
            minLength: indices.length,
            maxLength: indices.length,
          }),
        ),
      )
      .map(([indices, counts]) => indices.map((i, k) => [i, counts[k]!] as [number, number]));
    fc.assert(
      fc.property(
        fc.integer({ min: -4, max: 8 }),
        fc.constantFrom(0, 2.938735877055719e-39, 0.001),
        fc.integer({ min: 0, max: 2 ** 52 }),
        side,
        side,
        (schema, zeroThreshold, zeroCount, positive, negative) => {
          const native: NativeBuckets = { schema, zeroThreshold, zeroCount, positive, negative };
          const families: MetricFamily[] = [
            {
              name: "h",
              help: "H",
              type: "histogram",
              labelNames: ["a"],
              samples: Array.from({ length: 3 }, (_, k) => ({
                suffix: "_count",
                values: [`v${k}`],
                value: k,
                native,
              })),
            },
          ];
          const [family] = decode(encodeProtobuf(families)) as {
            metric: { histogram: Record<string, unknown> }[];
          }[];
          expect(family!.metric).toHaveLength(3);
          for (const m of family!.metric) {
            const h = m.histogram;
            expect(h.schema ?? 0).toBe(schema);
            expect(h.zeroThreshold ?? 0).toBe(zeroThreshold);
            expect(h.zeroCount ?? 0).toBe(zeroCount);
            expect(rebuild(h.positiveSpan as Span[], h.positiveDelta as number[])).toEqual(
              positive,
            );
            expect(rebuild(h.negativeSpan as Span[], h.negativeDelta as number[])).toEqual(
              negative,
            );
          }
        },
      ),
      { seed: 20261204, numRuns: 300 },
    );
  });

  it("frames many families, with lengths past one varint byte", () => {
    const families: MetricFamily[] = Array.from({ length: 5 }, (_, f) => ({
      name: `m${f}`,
      help: "x".repeat(f * 100),
      type: "counter",
      labelNames: ["i"],
      samples: Array.from({ length: f * 50 }, (_, i) => ({
        suffix: "",
        values: [String(i)],
        value: i,
      })),
    }));
    const decoded = decode(encodeProtobuf(families)) as { name: string; metric?: unknown[] }[];
    expect(decoded.map((d) => [d.name, d.metric?.length ?? 0])).toEqual(
      families.map((f) => [f.name, f.samples.length]),
    );
  });
});

describe("content negotiation", () => {
  const PROTOBUF =
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";

  it("picks protobuf when the scraper lists it at the highest q", () => {
    for (const accept of [
      // Prometheus 2.42 with --enable-feature=native-histograms (seen in test/e2e).
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
      `${PROTOBUF};q=0.8,application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1`,
      PROTOBUF,
      `${PROTOBUF.toUpperCase()}, text/plain`,
      'application/vnd.google.protobuf; proto="io.prometheus.client.MetricFamily"; encoding="delimited"',
    ]) {
      expect(prefersProtobuf(accept), accept).toBe(true);
      expect(negotiateScrapeFormat(accept)).toBe(PROTOBUF_CONTENT_TYPE);
    }
  });

  it("defers to text and OpenMetrics otherwise", () => {
    const prometheus3 =
      "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
    for (const accept of [
      undefined,
      null,
      "",
      "*/*",
      prometheus3,
      `${PROTOBUF};q=0.4,application/openmetrics-text;version=1.0.0;q=0.5`,
      `${PROTOBUF};q=0`,
      "application/vnd.google.protobuf",
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text",
    ]) {
      expect(prefersProtobuf(accept), String(accept)).toBe(false);
    }
    expect(negotiateScrapeFormat(prometheus3)).toMatch(/^application\/openmetrics-text/);
    expect(negotiateScrapeFormat(undefined)).toMatch(/^text\/plain/);
  });
});
