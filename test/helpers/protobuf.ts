// The Prometheus protobuf exposition read back by a real decoder: protobufjs with the
// io.prometheus.client schema (test/exposition/metrics.proto), for tests that check what
// encodeProtobuf and the /metrics endpoint send.
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

const root = protobuf.loadSync(
  fileURLToPath(new URL("../exposition/metrics.proto", import.meta.url)),
);
const MetricFamilyType = root.lookupType("io.prometheus.client.MetricFamily");

/** The delimited stream as plain objects (uint64/sint64 as numbers, enums by name). */
export function decodeFamilies(
  bytes: Uint8Array,
  options: { arrays?: boolean } = {},
): Record<string, unknown>[] {
  const reader = protobuf.Reader.create(bytes);
  const out: Record<string, unknown>[] = [];
  while (reader.pos < reader.len) {
    const message = MetricFamilyType.decodeDelimited(reader);
    out.push(
      MetricFamilyType.toObject(message, {
        longs: Number,
        enums: String,
        arrays: options.arrays ?? false,
      }),
    );
  }
  return out;
}

export interface Span {
  offset?: number;
  length?: number;
}

/** Spans and deltas back to non-empty [index, count] buckets; also how many deltas were read. */
export function rebuildBuckets(
  spans: Span[] = [],
  deltas: number[] = [],
): { buckets: [number, number][]; deltasRead: number } {
  const buckets: [number, number][] = [];
  let index = 0;
  let count = 0;
  let d = 0;
  for (const span of spans) {
    index += span.offset ?? 0;
    for (let k = 0; k < (span.length ?? 0); k++) {
      count += deltas[d++]!;
      if (count !== 0) buckets.push([index, count]);
      index++;
    }
  }
  return { buckets, deltasRead: d };
}
