// The Prometheus protobuf exposition format: length-delimited io.prometheus.client.MetricFamily
// messages (metrics.proto), the only format that carries native histograms. A hand-written
// varint / length-delimited writer instead of a protobuf library, to keep every Worker small.

import type { MetricFamily, NativeBuckets, Sample } from "../types.ts";

export const PROTOBUF_CONTENT_TYPE =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

// Field numbers of metrics.proto, by message.
const METRIC_TYPE = { counter: 0, gauge: 1, summary: 2, histogram: 4 } as const;
const FAMILY = { name: 1, help: 2, type: 3, metric: 4 };
const METRIC = { label: 1, gauge: 2, counter: 3, summary: 4, histogram: 7 };
const HISTOGRAM = {
  count: 1,
  sum: 2,
  bucket: 3,
  countFloat: 4,
  schema: 5,
  zeroThreshold: 6,
  zeroCount: 7,
  negativeSpan: 9,
  negativeDelta: 10,
  positiveSpan: 12,
  positiveDelta: 13,
};

const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;
const utf8 = new TextEncoder();
const float64 = new DataView(new ArrayBuffer(8));

/** Appends protobuf fields to a byte array. Integers up to 2^53 (arithmetic, not 32-bit ops). */
class Writer {
  readonly out: number[] = [];

  varint(v: number): void {
    while (v > 127) {
      this.out.push((v % 128) | 128);
      v = Math.floor(v / 128);
    }
    this.out.push(v);
  }

  uint(field: number, v: number): void {
    this.varint(field * 8 + VARINT);
    this.varint(v);
  }

  /** sint32/sint64: zigzag. */
  sint(field: number, v: number): void {
    this.uint(field, v >= 0 ? 2 * v : -2 * v - 1);
  }

  double(field: number, v: number): void {
    this.varint(field * 8 + FIXED64);
    float64.setFloat64(0, v, true);
    for (let i = 0; i < 8; i++) this.out.push(float64.getUint8(i));
  }

  /** A length-delimited field; field 0 writes the length and bytes alone (a stream frame). */
  bytes(field: number, bytes: ArrayLike<number>): void {
    if (field > 0) this.varint(field * 8 + BYTES);
    this.varint(bytes.length);
    for (let i = 0; i < bytes.length; i++) this.out.push(bytes[i]!);
  }

  string(field: number, s: string): void {
    this.bytes(field, utf8.encode(s));
  }

  message(field: number, write: (w: Writer) => void): void {
    const inner = new Writer();
    write(inner);
    this.bytes(field, inner.out);
  }
}

/** A count: uint64 when it is one, else the message's `_float` field. */
function count(w: Writer, field: number, floatField: number, v: number): void {
  if (Number.isSafeInteger(v) && v >= 0) w.uint(field, v);
  else w.double(floatField, v);
}

/** Spans and deltas of one side; gaps of up to two empty buckets are filled (client_golang). */
function side(
  w: Writer,
  spanField: number,
  deltaField: number,
  buckets: NativeBuckets["positive"],
) {
  const spans: [offset: number, length: number][] = [];
  const deltas: number[] = [];
  let next = 0;
  let previous = 0;
  for (const [index, n] of buckets) {
    const gap = index - next;
    if (spans.length === 0 || gap > 2) spans.push([gap, 0]);
    else {
      for (let g = 0; g < gap; g++) {
        deltas.push(-previous);
        previous = 0;
      }
      spans[spans.length - 1]![1] += gap;
    }
    deltas.push(n - previous);
    previous = n;
    spans[spans.length - 1]![1]++;
    next = index + 1;
  }
  for (const [offset, length] of spans) {
    w.message(spanField, (s) => {
      s.sint(1, offset);
      s.uint(2, length);
    });
  }
  for (const d of deltas) w.sint(deltaField, d);
}

function native(w: Writer, n: NativeBuckets): void {
  w.sint(HISTOGRAM.schema, n.schema);
  w.double(HISTOGRAM.zeroThreshold, n.zeroThreshold);
  w.uint(HISTOGRAM.zeroCount, n.zeroCount);
  side(w, HISTOGRAM.negativeSpan, HISTOGRAM.negativeDelta, n.negative);
  side(w, HISTOGRAM.positiveSpan, HISTOGRAM.positiveDelta, n.positive);
  // A native histogram with nothing in it must still look native: a no-op span (metrics.proto).
  if (n.zeroThreshold === 0 && n.zeroCount === 0 && !n.positive.length && !n.negative.length) {
    w.message(HISTOGRAM.positiveSpan, (s) => {
      s.sint(1, 0);
      s.uint(2, 0);
    });
  }
}

/** One series of a histogram or summary, gathered from its flat samples. */
interface Series {
  labels: Sample;
  /** [le or quantile, value] */
  points: [number, number][];
  sum: number;
  count: number;
  native?: NativeBuckets;
}

function gather(samples: readonly Sample[]): Series[] {
  const series = new Map<string, Series>();
  for (const s of samples) {
    const key = JSON.stringify(s.values);
    let one = series.get(key);
    if (!one) {
      one = { labels: s, points: [], sum: 0, count: 0 };
      series.set(key, one);
    }
    if (s.suffix === "_sum") one.sum = s.value;
    else if (s.suffix === "_count") {
      one.count = s.value;
      if (s.native) one.native = s.native;
    } else if (s.extra) {
      // le / quantile as rendered: "+Inf" is Infinity (Number("+Inf") is NaN).
      const at = s.extra[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(s.extra[1]);
      one.points.push([at, s.value]);
    }
  }
  return [...series.values()];
}

/**
 * The families as a delimited protobuf stream (each MetricFamily preceded by its length),
 * with the same label handling as render(): empty values left out, default labels added
 * where the family does not have them.
 */
export function encodeProtobuf(
  families: readonly MetricFamily[],
  defaultLabels: Readonly<Record<string, string>> = {},
): Uint8Array {
  const out = new Writer();
  for (const f of families) {
    const own = Object.entries(defaultLabels).filter(([n]) => !f.labelNames.includes(n as never));
    const labels = (w: Writer, s: Sample, extra: boolean) => {
      const pairs: [string, string][] = f.labelNames.map((n, i) => [n, s.values[i] ?? ""]);
      pairs.push(...own);
      if (extra && s.extra) pairs.push([s.extra[0], s.extra[1]]);
      for (const [name, value] of pairs) {
        if (!value) continue;
        w.message(METRIC.label, (l) => {
          l.string(1, name);
          l.string(2, value);
        });
      }
    };
    const family = new Writer();
    family.string(FAMILY.name, f.name);
    family.string(FAMILY.help, f.help);
    family.uint(FAMILY.type, METRIC_TYPE[f.type]);
    if (f.type === "counter" || f.type === "gauge") {
      for (const s of f.samples) {
        family.message(FAMILY.metric, (m) => {
          labels(m, s, true);
          m.message(f.type === "counter" ? METRIC.counter : METRIC.gauge, (v) =>
            v.double(1, s.value),
          );
        });
      }
    } else {
      for (const s of gather(f.samples)) {
        family.message(FAMILY.metric, (m) => {
          labels(m, s.labels, false);
          if (f.type === "summary") {
            m.message(METRIC.summary, (v) => {
              v.uint(1, Math.max(0, Math.round(s.count)));
              v.double(2, s.sum);
              for (const [q, value] of s.points) {
                v.message(3, (p) => {
                  p.double(1, q);
                  p.double(2, value);
                });
              }
            });
            return;
          }
          m.message(METRIC.histogram, (h) => {
            count(h, HISTOGRAM.count, HISTOGRAM.countFloat, s.count);
            h.double(HISTOGRAM.sum, s.sum);
            // The +Inf bucket is implied by the count (metrics.proto), as client_golang leaves it.
            for (const [le, cumulative] of s.points) {
              if (le === Number.POSITIVE_INFINITY) continue;
              h.message(HISTOGRAM.bucket, (b) => {
                count(b, 1, 4, cumulative);
                b.double(2, le);
              });
            }
            if (s.native) native(h, s.native);
          });
        });
      }
    }
    out.bytes(0, family.out);
  }
  return Uint8Array.from(out.out);
}
