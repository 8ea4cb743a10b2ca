// A series is named by its label values in labelNames order, encoded as a JSON array. The same
// string is the in-memory batch key and the Redis hash field, so a flush re-encodes nothing.
// Missing labels are stored as "" — Prometheus treats an empty label value as an absent label.

import type { LabelValues } from "./types.ts";
import { unknownLabel, wrongLabelCount } from "./validation.ts";

export const NO_LABELS_KEY = "[]";

export class LabelSet<T extends string> {
  readonly metric: string;
  readonly names: readonly T[];
  readonly #known: ReadonlySet<string>;

  constructor(metric: string, names: readonly T[]) {
    this.metric = metric;
    this.names = names;
    this.#known = new Set(names);
  }

  keyOf(labels: LabelValues<T>): string {
    this.checkNames(labels);
    const names = this.names;
    // Same text as JSON.stringify(values), built without the intermediate array.
    let key = "[";
    for (let i = 0; i < names.length; i++) {
      if (i > 0) key += ",";
      key += jsonString(labelValue(this.metric, labels[names[i]!]));
    }
    return `${key}]`;
  }

  /** Throws prom-client's error when `labels` names a label outside labelNames. */
  checkNames(labels: object): void {
    for (const name in labels) {
      if (!this.#known.has(name)) throw unknownLabel(name, this.names);
    }
  }

  /** The label values of prom-client's positional form, checked for their number. */
  positional(values: readonly unknown[]): readonly unknown[] {
    if (values.length !== this.names.length) throw wrongLabelCount(values, this.names);
    return values;
  }

  keyOfPositional(values: readonly unknown[]): string {
    this.positional(values);
    let key = "[";
    for (let i = 0; i < values.length; i++) {
      if (i > 0) key += ",";
      key += jsonString(labelValue(this.metric, values[i]));
    }
    return `${key}]`;
  }

  /** labels("a", "b") or labels({ x: "a" }) — prom-client accepts both. */
  keyOfArgs(args: readonly unknown[]): string {
    const first = args[0];
    if (typeof first === "object" && first !== null) return this.keyOf(first as LabelValues<T>);
    return this.keyOfPositional(args);
  }
}

/** JSON text of a string; the scan (faster than a regex here) skips JSON.stringify for plain text. */
export function jsonString(v: string): string {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    // What JSON.stringify escapes: controls, quote, backslash, (lone) surrogates.
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) {
      return JSON.stringify(wellFormed(v));
    }
  }
  return `"${v}"`;
}

/**
 * A lone surrogate becomes U+FFFD, as it does in the UTF-8 of a scrape: two label values that
 * differ only there would otherwise be two series that a scraper reads as one.
 */
function wellFormed(v: string): string {
  return v.replace(
    /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    "\ufffd",
  );
}

/**
 * A label value as stored: text as given, numbers and booleans as JS writes them, null as
 * "null" (prom-client renders it so), a missing one (undefined) as "". Objects are refused:
 * prom-client would render "[object Object]", which is never what was meant.
 */
export function labelValue(metric: string, v: unknown): string {
  if (typeof v === "string") return v;
  if (v === undefined) return "";
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint" || v === null) {
    return String(v);
  }
  throw new TypeError(`Label value of ${metric} must be a string or number, got ${typeof v}`);
}

/** Inverse of the key encoding; tolerant of keys written by an older label schema. */
export function valuesOfKey(key: string, width: number): string[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(key);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== width) return undefined;
  return parsed.map(String);
}
