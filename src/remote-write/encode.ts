// Pushed series as remote write 1.0 WriteRequest messages (prometheus/prompb remote.proto and
// types.proto; field numbers noted beside each write), split into requests of at most
// `maxBytes` uncompressed (a single series larger than that goes alone). Each family's
// metadata (TYPE and HELP) rides in the request that carries its first series.
import type { NativeBuckets } from "../types.ts";
import type { NativeHistogram, PushFamily, PushSeries } from "./series.ts";
import { varintSize, Writer, zigzag } from "./writer.ts";

/** MetricMetadata.MetricType */
const METADATA_TYPE: Record<string, number> = { counter: 1, gauge: 2, histogram: 3, summary: 5 };

export interface EncodedRequest {
  body: Uint8Array<ArrayBuffer>;
  /** Float samples and native histograms it carries. */
  samples: number;
  histograms: number;
}

export function encodeWriteRequests(
  families: readonly PushFamily[],
  timestamp: number,
  maxBytes: number,
  metadata: boolean,
): EncodedRequest[] {
  const requests: EncodedRequest[] = [];
  const request = new Writer();
  const entry = new Writer();
  const body = new Writer();
  const scratch = new Writer();
  let samples = 0;
  let histograms = 0;
  const close = () => {
    if (request.pos === 0) return;
    requests.push({ body: request.finish(), samples, histograms });
    request.reset();
    samples = 0;
    histograms = 0;
  };
  for (const f of families) {
    let first = metadata;
    for (const s of f.series) {
      entry.reset();
      if (first) {
        // WriteRequest.metadata = 3: MetricMetadata { type = 1; metric_family_name = 2; help = 4 }
        scratch.reset();
        scratch.uint(1, METADATA_TYPE[f.type] ?? 0);
        scratch.string(2, f.name);
        if (f.help) scratch.string(4, f.help);
        entry.bytes(3, scratch.view());
        first = false;
      }
      body.reset();
      timeSeries(body, scratch, s, timestamp);
      entry.bytes(1, body.view()); // WriteRequest.timeseries = 1
      if (request.pos > 0 && request.pos + entry.pos > maxBytes) close();
      request.raw(entry.view());
      if (s.histogram) histograms++;
      else samples++;
    }
  }
  close();
  return requests;
}

/** TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; repeated Histogram histograms = 4; } */
function timeSeries(w: Writer, scratch: Writer, s: PushSeries, timestamp: number): void {
  for (const [name, value] of s.labels) {
    // Label { string name = 1; string value = 2; }: its length needs the UTF-8 lengths first.
    const n = utf8Length(name);
    const v = utf8Length(value);
    w.key(1, 2);
    w.varint(2 + varintSize(n) + n + varintSize(v) + v);
    w.string(1, name);
    w.string(2, value);
  }
  if (s.histogram === undefined) {
    // Sample { double value = 1; int64 timestamp = 2; }
    w.key(2, 2);
    w.varint(9 + 1 + varintSize(timestamp));
    w.double(1, s.value);
    w.uint(2, timestamp);
    return;
  }
  scratch.reset();
  histogram(scratch, s.histogram, timestamp);
  w.bytes(4, scratch.view());
}

/**
 * Histogram { uint64 count_int = 1; double sum = 3; sint32 schema = 4; double zero_threshold = 5;
 * uint64 zero_count_int = 6; negative_spans = 8; negative_deltas = 9; positive_spans = 11;
 * positive_deltas = 12; int64 timestamp = 15; } (reset_hint left UNKNOWN: Prometheus detects
 * resets itself).
 */
function histogram(w: Writer, h: NativeHistogram, timestamp: number): void {
  w.uint(1, h.count);
  w.double(3, h.sum);
  w.sint(4, h.schema);
  w.double(5, h.zeroThreshold);
  w.uint(6, h.zeroCount);
  side(w, 8, h.negative);
  side(w, 11, h.positive);
  w.uint(15, timestamp);
}

/**
 * Spans (BucketSpan { sint32 offset = 1; uint32 length = 2; }) and packed deltas of one side,
 * deltas in the field after the spans'. Gaps of up to two empty buckets are filled, as
 * client_golang does.
 */
function side(w: Writer, spanField: number, buckets: NativeBuckets["positive"]): void {
  if (buckets.length === 0) return;
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
    w.key(spanField, 2);
    w.varint(1 + varintSize(zigzag(offset)) + 1 + varintSize(length));
    w.sint(1, offset);
    w.uint(2, length);
  }
  let size = 0;
  for (const d of deltas) size += varintSize(zigzag(d));
  w.key(spanField + 1, 2);
  w.varint(size);
  for (const d of deltas) w.varint(zigzag(d));
}

function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        n += 2; // a surrogate pair: 4 bytes for 2 code units
        i++;
      } else n += 2; // a lone surrogate becomes U+FFFD (3 bytes)
    } else n += 2;
  }
  return n;
}
