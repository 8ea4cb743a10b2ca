// The Prometheus protobuf exposition format: length-delimited io.prometheus.client.MetricFamily
// messages (metrics.proto), the only format that carries native histograms. A hand-written
// varint / length-delimited writer instead of a protobuf library, to keep every Worker small.
// Field numbers are metrics.proto's, noted beside each write.

import type { MetricFamily, NativeBuckets, Sample } from "../types.ts";

export const PROTOBUF_CONTENT_TYPE =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/** MetricType enum values. */
const TYPE = { counter: 0, gauge: 1, summary: 2, histogram: 4 } as const;

const utf8 = new TextEncoder();
const float64 = new DataView(new ArrayBuffer(8));
const float64Bytes = new Uint8Array(float64.buffer);

/**
 * Appends protobuf fields to one growing byte buffer. Integers up to 2^53 (arithmetic, not
 * 32-bit ops). A nested message is written in place after a one-byte length, moved up when its
 * length needs more bytes: no buffer per message.
 */
class Writer {
  out = new Uint8Array(1024);
  at = 0;

  #room(n: number): void {
    if (this.at + n <= this.out.length) return;
    const next = new Uint8Array(Math.max(this.out.length * 2, this.at + n));
    next.set(this.out.subarray(0, this.at));
    this.out = next;
  }

  #varint(v: number): void {
    this.#room(8);
    for (; v > 127; v = Math.floor(v / 128)) this.out[this.at++] = (v % 128) | 128;
    this.out[this.at++] = v;
  }

  /** uint32/uint64/enum (wire type 0). */
  uint(field: number, v: number): void {
    this.#varint(field * 8);
    this.#varint(v);
  }

  /** sint32/sint64: zigzag. */
  sint(field: number, v: number): void {
    this.uint(field, v < 0 ? -2 * v - 1 : 2 * v);
  }

  /** double (wire type 1, little-endian). */
  double(field: number, v: number): void {
    this.#varint(field * 8 + 1);
    this.#room(8);
    float64.setFloat64(0, v, true);
    this.out.set(float64Bytes, this.at);
    this.at += 8;
  }

  /**
   * Length-delimited (wire type 2): the field's key, then `write`'s bytes behind their length;
   * field 0 writes the length and bytes alone (a frame of the delimited stream).
   */
  message(field: number, write: (w: Writer) => void): void {
    if (field) this.#varint(field * 8 + 2);
    this.#room(1);
    const start = ++this.at; // one byte kept for the length
    write(this);
    const length = this.at - start;
    let size = 1;
    for (let v = length; v > 127; v = Math.floor(v / 128)) size++;
    if (size > 1) {
      this.#room(size - 1);
      this.out.copyWithin(start + size - 1, start, this.at);
      this.at += size - 1;
    }
    let at = start - 1;
    let v = length;
    for (; v > 127; v = Math.floor(v / 128)) this.out[at++] = (v % 128) | 128;
    this.out[at] = v;
  }

  string(field: number, s: string): void {
    this.message(field, (w) => {
      w.#room(s.length * 3);
      w.at += utf8.encodeInto(s, w.out.subarray(w.at)).written;
    });
  }
}

/** A count: uint64 when it is one, else the message's `_float` double field. */
function count(w: Writer, field: number, floatField: number, v: number): void {
  if (Number.isSafeInteger(v) && v >= 0) w.uint(field, v);
  else w.double(floatField, v);
}

/** BucketSpan { sint32 offset = 1; uint32 length = 2; } */
function span(w: Writer, field: number, offset: number, length: number): void {
  w.message(field, (s) => {
    s.sint(1, offset);
    s.uint(2, length);
  });
}

/**
 * Prometheus' spans and count deltas of one side of native buckets ([index, count] pairs in
 * index order), pushed onto `spans` and `deltas`; gaps of up to two empty buckets are filled,
 * as client_golang does.
 */
export function spansAndDeltas(
  buckets: NativeBuckets["positive"],
  spans: [offset: number, length: number][],
  deltas: number[],
): void {
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
}

/** One side's spans and deltas. */
function side(w: Writer, spanField: number, buckets: NativeBuckets["positive"]): void {
  const spans: [number, number][] = [];
  const deltas: number[] = [];
  spansAndDeltas(buckets, spans, deltas);
  for (const [offset, length] of spans) span(w, spanField, offset, length);
  for (const d of deltas) w.sint(spanField + 1, d); // *_delta is the field after *_span
}

/** One series of a histogram or summary, gathered from its flat samples. */
interface Series {
  labels: Sample;
  /** [le or quantile, value] */
  points: [number, number][];
  sum: number;
  count: number;
  native?: NativeBuckets | undefined;
}

function gather(samples: readonly Sample[]): Series[] {
  const series = new Map<string, Series>();
  let one: Series | undefined;
  for (const s of samples) {
    // A series' samples usually follow each other sharing one values array: no key to build.
    if (one?.labels.values !== s.values) {
      const key = JSON.stringify(s.values);
      one = series.get(key);
      if (!one) {
        one = { labels: s, points: [], sum: 0, count: 0 };
        series.set(key, one);
      }
    }
    if (s.suffix === "_sum") one.sum = s.value;
    else if (s.suffix === "_count") {
      one.count = s.value;
      one.native = s.native;
    } else if (s.extra) {
      // le / quantile as rendered: "+Inf" is Infinity (Number("+Inf") is NaN).
      one.points.push([s.extra[1] === "+Inf" ? Infinity : Number(s.extra[1]), s.value]);
    }
  }
  return [...series.values()];
}

/** Histogram fields 5–13: schema, zero bucket, spans and deltas of both sides. */
function native(h: Writer, n: NativeBuckets): void {
  h.sint(5, n.schema);
  h.double(6, n.zeroThreshold);
  h.uint(7, n.zeroCount);
  side(h, 9, n.negative);
  side(h, 12, n.positive);
  // Nothing observed and no zero bucket: a no-op span still marks it native (metrics.proto).
  if (!n.zeroThreshold && !n.zeroCount && !n.positive.length && !n.negative.length) {
    span(h, 12, 0, 0);
  }
}

/**
 * The families as a delimited protobuf stream (each MetricFamily preceded by its length),
 * with the same label handling as render(): empty values left out, default labels added
 * where the family does not have them.
 */
export function encodeProtobuf(
  families: readonly MetricFamily[],
  defaultLabels: Readonly<Record<string, string>> = {},
): Uint8Array<ArrayBuffer> {
  const out = new Writer();
  for (const f of families) {
    const own = Object.entries(defaultLabels).filter(([n]) => !f.labelNames.includes(n as never));
    // Metric: repeated LabelPair label = 1 { name = 1; value = 2; }
    const labels = (m: Writer, s: Sample, extra: boolean) => {
      const pairs = [...f.labelNames.map((n, i) => [n, s.values[i]]), ...own];
      if (extra && s.extra) pairs.push([...s.extra]);
      for (const [name, value] of pairs) {
        if (value) {
          m.message(1, (l) => {
            l.string(1, name!);
            l.string(2, value);
          });
        }
      }
    };
    // A frame: the MetricFamily message behind its length (a field key would be 0x0a).
    out.message(0, (family) => {
      family.string(1, f.name);
      family.string(2, f.help);
      // Anything else (a custom metric's own type) goes out as UNTYPED = 3.
      family.uint(3, TYPE[f.type as keyof typeof TYPE] ?? 3);
      if (f.type === "counter" || f.type === "gauge") {
        for (const s of f.samples) {
          family.message(4, (m) => {
            labels(m, s, true);
            // Metric.counter = 3, Metric.gauge = 2: { double value = 1; }
            m.message(f.type === "counter" ? 3 : 2, (v) => v.double(1, s.value));
          });
        }
      } else {
        for (const s of gather(f.samples)) {
          family.message(4, (m) => {
            labels(m, s.labels, false);
            if (f.type === "summary") {
              // Summary (Metric field 4): sample_count = 1, sample_sum = 2, quantile = 3.
              m.message(4, (v) => {
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
            // Histogram (Metric field 7): sample_count = 1 (or _float = 4), sample_sum = 2,
            // bucket = 3 { cumulative_count = 1 (or _float = 4), upper_bound = 2 }.
            m.message(7, (h) => {
              count(h, 1, 4, s.count);
              h.double(2, s.sum);
              // The +Inf bucket is implied by the count (metrics.proto), as client_golang leaves it.
              for (const [le, cumulative] of s.points) {
                if (le === Infinity) continue;
                h.message(3, (b) => {
                  count(b, 1, 4, cumulative);
                  b.double(2, le);
                });
              }
              if (s.native) native(h, s.native);
            });
          });
        }
      }
    });
  }
  return out.out.slice(0, out.at);
}
