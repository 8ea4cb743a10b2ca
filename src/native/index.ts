// Prometheus native histograms whose buckets merge across every instance: the schema mapping,
// the hot-path accumulator, the packed per-series encoding (merged in Redis: store/lua/native.lua).
export { NativeAccumulator } from "./accumulator.ts";
export {
  DEFAULT_NATIVE_MAX_BUCKETS,
  DEFAULT_NATIVE_SCHEMA,
  type NativeConfig,
  type NativeHistogramOptions,
  resolveNativeOptions,
} from "./options.ts";
export { decodePacked, type NativeHistogram } from "./packed.ts";
export * from "./schema.ts";
