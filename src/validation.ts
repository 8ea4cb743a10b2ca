// Every check that turns bad input into a clear error lives here, so metrics stay small. Where
// prom-client has a message for the same mistake, this is its exact text (apps and their tests
// match on it); the checks prom-client does not make have messages of our own.

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** prom-client's validateMetricName: true when `name` is a valid metric name. */
export function validateMetricName(name: unknown): boolean {
  return typeof name === "string" && METRIC_NAME.test(name);
}

/** prom-client's validateLabelName: true when every name is a valid label name. */
export function validateLabelName(names: readonly unknown[] = []): boolean {
  return names.every((n) => typeof n === "string" && LABEL_NAME.test(n));
}

/** The checks of prom-client's Metric constructor, in its order and with its messages. */
export function validateMetricConfig(config: unknown): asserts config is {
  name: string;
  help: string;
  labelNames?: readonly string[];
  collect?: unknown;
} {
  if (typeof config !== "object" || config === null) {
    throw new TypeError("constructor expected a config object");
  }
  const { name, help, labelNames, collect } = config as Record<string, unknown>;
  if (!help) throw new Error("Missing mandatory help parameter");
  if (typeof help !== "string") throw new TypeError(`help of ${String(name)} must be a string`);
  if (!name) throw new Error("Missing mandatory name parameter");
  if (!validateMetricName(name)) {
    throw new Error(
      `Invalid metric name ${JSON.stringify(name)}: letters, digits, _ and :, not starting with a digit`,
    );
  }
  if (labelNames !== undefined && !Array.isArray(labelNames)) {
    throw new TypeError(`labelNames of ${name as string} must be an array`);
  }
  const badLabel = (labelNames ?? []).find((n) => !validateLabelName([n]));
  if (badLabel !== undefined) {
    throw new Error(
      `Invalid label name ${JSON.stringify(badLabel)} of metric ${name}: letters, digits and _, not starting with a digit`,
    );
  }
  if (collect !== undefined && typeof collect !== "function") {
    throw new Error('Optional "collect" parameter must be a function');
  }
}

/**
 * Checks label names beyond prom-client's pattern: `__` names belong to Prometheus, duplicates
 * would make two series look alike, and `reserved` names belong to the metric type (le,
 * quantile) with prom-client's message.
 */
export function validateLabelNames(
  metric: string,
  names: readonly string[] | undefined,
  reserved: readonly string[] = [],
): readonly string[] {
  if (names === undefined) return [];
  const seen = new Set<string>();
  for (const name of names) {
    if (reserved.includes(name)) throw new Error(`${name} is a reserved label keyword`);
    if (name.startsWith("__")) {
      throw new Error(
        `Invalid label name ${JSON.stringify(name)} of metric ${metric}: names starting with __ belong to Prometheus`,
      );
    }
    if (seen.has(name)) throw new Error(`Duplicate label name "${name}" for metric ${metric}`);
    seen.add(name);
  }
  return Object.freeze([...names]);
}

/** prom-client's error for a value that is not a number (or, for sums, not finite). */
export function invalidValue(value: unknown, what: "Value" | "Delta" = "Value"): TypeError {
  return new TypeError(`${what} is not a valid number: ${formatArgument(value)}`);
}

/** prom-client's message for a label name outside labelNames. */
export function unknownLabel(name: string, known: readonly string[]): Error {
  return new Error(
    `Added label "${name}" is not included in initial labelset: ${inspectNames(known)}`,
  );
}

/** prom-client's message for labels given by position in the wrong number. */
export function wrongLabelCount(args: readonly unknown[], names: readonly string[]): Error {
  return new Error(
    `Invalid number of arguments (${args.length}): "${args.join(", ")}" for label names ` +
      `(${names.length}): "${names.join(", ")}".`,
  );
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

/**
 * A value as Node's util.format prints a lone argument (prom-client's messages use it): strings
 * as they are, other primitives as JS writes them, objects and arrays as util.inspect does on
 * one line (nested two levels deep). Without node:util, which src/ may not import.
 */
export function formatArgument(value: unknown, depth = 0): string {
  switch (typeof value) {
    case "string":
      return depth > 0 ? `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'` : value;
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `${value}n`;
    case "boolean":
    case "undefined":
      return String(value);
    case "symbol":
      return value.toString();
    case "function":
      return value.name ? `[Function: ${value.name}]` : "[Function (anonymous)]";
    default:
      break;
  }
  if (value === null) return "null";
  if (depth > 2) return Array.isArray(value) ? "[Array]" : "[Object]";
  const items = Array.isArray(value)
    ? value.map((v) => formatArgument(v, depth + 1))
    : Object.entries(value as object).map(
        ([k, v]) => `${propertyName(k)}: ${formatArgument(v, depth + 1)}`,
      );
  const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  return items.length === 0 ? open + close : `${open} ${items.join(", ")} ${close}`;
}

function propertyName(key: string): string {
  return /^[a-zA-Z_$][a-zA-Z0-9_$]*$/.test(key) ? key : `'${key}'`;
}

/**
 * util.inspect of an array of label names, as in prom-client's "not included in initial
 * labelset" message: on one line when it fits in Node's 80 columns (up to six names); longer
 * lists one name per line (Node lays out seven or more short names in columns instead).
 */
export function inspectNames(names: readonly string[]): string {
  if (names.length === 0) return "[]";
  const items = names.map((n) => `'${n}'`);
  const width = items.reduce((n, s) => n + s.length, 0) + 2 * items.length + 11;
  if (items.length <= 6 && width <= 80) return `[ ${items.join(", ")} ]`;
  return `[\n  ${items.join(",\n  ")}\n]`;
}
