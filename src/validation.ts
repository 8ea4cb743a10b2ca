// Every check that turns bad input into a clear error lives here, so metrics stay small.

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function validateMetricName(name: unknown): asserts name is string {
  if (typeof name !== "string" || !METRIC_NAME.test(name)) {
    throw new Error(`Invalid metric name: ${JSON.stringify(name)} (must match ${METRIC_NAME})`);
  }
}

export function validateHelp(name: string, help: unknown): asserts help is string {
  if (typeof help !== "string" || help.length === 0) {
    throw new Error(`Missing mandatory help parameter for metric ${name}`);
  }
}

/** Checks label names at definition time; `reserved` names belong to the metric type. */
export function validateLabelNames(
  metric: string,
  names: unknown,
  reserved: readonly string[] = [],
): readonly string[] {
  if (names === undefined) return [];
  if (!Array.isArray(names)) throw new Error(`labelNames of ${metric} must be an array`);
  const seen = new Set<string>();
  for (const name of names) {
    if (typeof name !== "string" || !LABEL_NAME.test(name) || name.startsWith("__")) {
      throw new Error(`Invalid label name ${JSON.stringify(name)} for metric ${metric}`);
    }
    if (reserved.includes(name)) {
      throw new Error(`Label name ${JSON.stringify(name)} is reserved for metric ${metric}`);
    }
    if (seen.has(name)) throw new Error(`Duplicate label name "${name}" for metric ${metric}`);
    seen.add(name);
  }
  return Object.freeze([...names]);
}

export function validateFinite(metric: string, value: number, what = "value"): void {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TypeError(`${what} of ${metric} must be a finite number, got ${String(value)}`);
  }
}

export function validateBuckets(metric: string, buckets: unknown): number[] {
  if (!Array.isArray(buckets) || buckets.length === 0) {
    throw new Error(`buckets of ${metric} must be a non-empty array of numbers`);
  }
  const out: number[] = [];
  for (const b of buckets) {
    if (typeof b !== "number" || Number.isNaN(b) || b === Number.NEGATIVE_INFINITY) {
      throw new Error(`Invalid bucket ${String(b)} for histogram ${metric}`);
    }
    const prev = out[out.length - 1];
    if (prev !== undefined && b <= prev) {
      throw new Error(`buckets of ${metric} must be strictly increasing (${prev} then ${b})`);
    }
    out.push(b);
  }
  // +Inf is always added by the histogram itself.
  if (out[out.length - 1] === Number.POSITIVE_INFINITY) out.pop();
  return out;
}

export function validatePercentiles(metric: string, percentiles: unknown): number[] {
  if (!Array.isArray(percentiles) || percentiles.length === 0) {
    throw new Error(`percentiles of ${metric} must be a non-empty array`);
  }
  const out = [...percentiles].map((p) => {
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
      throw new Error(`Invalid percentile ${String(p)} for summary ${metric} (must be in [0, 1])`);
    }
    return p;
  });
  out.sort((a, b) => a - b);
  if (out.some((p, i) => i > 0 && p === out[i - 1])) {
    throw new Error(`Duplicate percentiles for summary ${metric}`);
  }
  return out;
}

export function validatePositiveInteger(metric: string, what: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    throw new Error(`${what} of ${metric} must be a positive integer, got ${String(v)}`);
  }
  return v;
}
