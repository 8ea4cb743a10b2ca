// A mergeable relative-error quantile sketch (DDSketch's log mapping) whose buckets are plain
// counters in a Redis hash: the engine behind Summary quantiles.
export { SketchAccumulator } from "./accumulator.ts";
export { collapseLowest, DEFAULT_BUCKET_CAP } from "./collapse.ts";
export { SketchCounts } from "./counts.ts";
export * from "./fields.ts";
export { DEFAULT_RELATIVE_ACCURACY, LogMapping } from "./mapping.ts";
