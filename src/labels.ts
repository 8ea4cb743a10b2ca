// A series is named by its label values in labelNames order, encoded as a JSON array. The same
// string is the in-memory batch key and the Redis hash field, so a flush re-encodes nothing.
// Missing labels are stored as "" — Prometheus treats an empty label value as an absent label.

import type { LabelValues } from "./types.ts";

export const NO_LABELS_KEY = "[]";

export class LabelSet<T extends string> {
  readonly metric: string;
  readonly names: readonly T[];
  private readonly known: ReadonlySet<string>;

  constructor(metric: string, names: readonly T[]) {
    this.metric = metric;
    this.names = names;
    this.known = new Set(names);
  }

  keyOf(labels: LabelValues<T>): string {
    const names = this.names;
    // Same text as JSON.stringify(values), built without the intermediate array: this runs on
    // every labelled inc/observe/set.
    let key = "[";
    let given = 0;
    for (let i = 0; i < names.length; i++) {
      const v = labels[names[i]!];
      if (i > 0) key += ",";
      if (v === undefined) {
        key += '""';
      } else {
        given++;
        key += jsonString(typeof v === "string" ? v : checkValue(this.metric, v));
      }
    }
    // Unknown label names: counting keys is cheaper than looking each one up, and only a
    // mismatch needs the lookups (which also forgive keys explicitly set to undefined).
    let count = 0;
    for (const _ in labels) count++;
    if (count !== given) {
      for (const name in labels) {
        if (!this.known.has(name)) {
          throw new Error(
            `Added label "${name}" is not included in initial labelset for ${this.metric}`,
          );
        }
      }
    }
    return key + "]";
  }

  keyOfPositional(values: readonly unknown[]): string {
    if (values.length !== this.names.length) {
      throw new Error(
        `Invalid number of label values for ${this.metric}: expected ${this.names.length}, got ${values.length}`,
      );
    }
    return values.length === 0
      ? NO_LABELS_KEY
      : JSON.stringify(values.map((v) => wellFormed(checkValue(this.metric, v))));
  }

  /** labels("a", "b") or labels({ x: "a" }) — prom-client accepts both. */
  keyOfArgs(args: readonly unknown[]): string {
    const first = args[0];
    if (args.length === 1 && typeof first === "object" && first !== null) {
      return this.keyOf(first as LabelValues<T>);
    }
    return this.keyOfPositional(args);
  }
}

/** JSON text of a string; the scan (faster than a regex here) skips JSON.stringify for plain text. */
function jsonString(v: string): string {
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

function checkValue(metric: string, v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
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
