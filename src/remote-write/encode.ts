// The registry's families as remote write 1.0 WriteRequest messages (prometheus/prompb
// remote.proto and types.proto; field numbers noted beside each write), split into requests
// of at most `maxBytes` uncompressed (a single series larger than that goes alone). Each
// family's metadata (TYPE and HELP) rides in the request that carries its first series.
// Written straight from the families, without an object per series: a push of 10k series
// must cost a Worker little CPU (bench/remote-write.ts).
//
// With `native`, a histogram series that has native buckets becomes one native histogram (as
// Prometheus 2.42 stores it when it scrapes with native histograms on) instead of its classic
// _bucket/_sum/_count series.
import { spansAndDeltas } from "../exposition/protobuf.ts";
import type { MetricFamily, NativeBuckets, Sample } from "../types.ts";
import { type Plan, planFor, slotValue, type Target } from "./labels.ts";
import { varintSize, Writer, zigzag } from "./writer.ts";

/** MetricMetadata.MetricType */
const METADATA_TYPE: Record<string, number> = { counter: 1, gauge: 2, histogram: 3, summary: 5 };

export interface EncodeOptions {
  target: Target;
  defaultLabels: Readonly<Record<string, string>>;
  native: boolean;
  /** The samples' timestamp (ms). */
  timestamp: number;
  /** Largest uncompressed request. */
  maxBytes: number;
  metadata: boolean;
}

export interface EncodedRequest {
  body: Uint8Array<ArrayBuffer>;
  /** Float samples and native histograms it carries. */
  samples: number;
  histograms: number;
}

export interface Encoded {
  requests: EncodedRequest[];
  /** Series left out because an earlier one had the same labels. */
  duplicates: number;
}

export function encodeWriteRequests(
  families: readonly MetricFamily[],
  options: EncodeOptions,
): Encoded {
  const requests: EncodedRequest[] = [];
  const request = new Writer();
  const entry = new Writer();
  const body = new Writer();
  const scratch = new Writer();
  const seen = new Set<string>();
  const defaults = Object.entries(options.defaultLabels).filter(([, v]) => v !== "");
  let duplicates = 0;
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
    let first = options.metadata;
    const plans = new Map<string | undefined, Plan>();
    const natives = options.native && f.type === "histogram" ? nativeSeries(f) : undefined;
    for (const s of f.samples) {
      let native: NativeHistogram | undefined;
      if (natives !== undefined) {
        native = natives.get(JSON.stringify(s.values));
        if (native !== undefined && s.suffix !== "_count") continue; // sent as the native one
      }
      const extraName = native === undefined ? s.extra?.[0] : undefined;
      let plan = plans.get(extraName);
      if (plan === undefined) {
        plan = planFor(f, extraName, defaults, options.target);
        plans.set(extraName, plan);
      }
      const name = native === undefined ? (s.name ?? f.name + s.suffix) : f.name;

      body.reset();
      if (!labels(body, plan, s, name, seen)) {
        duplicates++;
        continue;
      }
      if (native === undefined) {
        // TimeSeries.samples = 2: Sample { double value = 1; int64 timestamp = 2; }
        body.key(2, 2);
        body.varint(9 + 1 + varintSize(options.timestamp));
        body.double(1, s.value);
        body.uint(2, options.timestamp);
      } else {
        scratch.reset();
        histogram(scratch, native, options.timestamp);
        body.bytes(4, scratch.view()); // TimeSeries.histograms = 4
      }

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
      entry.bytes(1, body.view()); // WriteRequest.timeseries = 1
      if (request.pos > 0 && request.pos + entry.pos > options.maxBytes) close();
      request.raw(entry.view());
      if (native === undefined) samples++;
      else histograms++;
    }
  }
  close();
  return { requests, duplicates };
}

/**
 * TimeSeries.labels = 1 (Label { string name = 1; string value = 2; }) in the plan's order;
 * false (nothing to send) when a series with the same labels was written before.
 */
function labels(w: Writer, plan: Plan, s: Sample, name: string, seen: Set<string>): boolean {
  let key = plan.fixedKey;
  for (const slot of plan.slots) {
    if (slot.encoded !== undefined) {
      w.raw(slot.encoded);
      continue;
    }
    const value = slotValue(slot, s, name);
    if (!value) continue;
    key += `${slot.name}\u0000${value}\u0001`;
    w.pair(1, slot.name, value);
  }
  if (seen.has(key)) return false;
  seen.add(key);
  return true;
}

interface NativeHistogram extends NativeBuckets {
  count: number;
  sum: number;
}

/** Series (by label values) of a histogram family that carry native buckets, with count and sum. */
function nativeSeries(f: MetricFamily): Map<string, NativeHistogram> {
  const sums = new Map<string, number>();
  for (const s of f.samples) if (s.suffix === "_sum") sums.set(JSON.stringify(s.values), s.value);
  const natives = new Map<string, NativeHistogram>();
  for (const s of f.samples) {
    // Remote write 1.0's integer histograms: counts must be whole (they always are here).
    if (s.suffix !== "_count" || s.native === undefined || !Number.isSafeInteger(s.value)) continue;
    const key = JSON.stringify(s.values);
    natives.set(key, { ...s.native, count: s.value, sum: sums.get(key) ?? 0 });
  }
  return natives;
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
  const spans: [number, number][] = [];
  const deltas: number[] = [];
  spansAndDeltas(buckets, spans, deltas);
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
