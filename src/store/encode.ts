// Turns what metrics drain (batch.ts) into the write script's argument list (scripts.ts), cut
// into parts that each fit in one request. Each part becomes one batch with its own sequence
// number; normally everything fits in one. A part knows how many metric calls it stands for, so
// a part that is finally dropped — or a field Redis refuses — is counted exactly.
import { type BatchWriter, type Drainable, type GaugeRecord, num } from "../batch.ts";
import { MAX_REQUEST_FIELDS } from "./constants.ts";
import {
  F_COUNTER,
  F_GAUGE,
  F_HISTOGRAM,
  F_LAYOUT,
  F_NATIVE,
  F_SLICE,
  F_SUMMARY,
  OP_ADD,
  OP_DELETE,
  OP_GAUGE,
  OP_NATIVE,
  OP_RESET,
  OP_RESET_LIVE,
  OP_SET,
  OP_SKETCH,
  SEP_LAYOUT,
} from "./schema.ts";

/** One batch ready to send: its ops (without the "b" header), bytes, and what they carry. */
export interface Part {
  args: string[];
  /** Bytes its args add to a request body (JSON strings and commas). */
  bytes: number;
  /** Metric calls it stands for. */
  updates: number;
  /** Metric calls behind each field Redis may refuse (a sum that would not be finite). */
  refusable: Map<string, number>;
}

/** Room for the script call itself (EVALSHA, sha, keys, client time, writer, "b", seq). */
export const REQUEST_OVERHEAD_BYTES = 256;

function emptyPart(): Part {
  return { args: [], bytes: 0, updates: 0, refusable: new Map() };
}

export class BatchEncoder implements BatchWriter {
  readonly parts: Part[] = [];
  #current = emptyPart();
  /** Histograms whose bucket layout the current part already declares. */
  #declared = new Set<string>();
  readonly #instance: string;
  readonly #maxBytes: number;

  /** `maxBytes`: most bytes of one part; an op larger than that goes alone in its part. */
  constructor(instance: string, maxBytes: number) {
    this.#instance = instance;
    this.#maxBytes = maxBytes;
  }

  counter(name: string, key: string, delta: number, updates: number): void {
    this.#add(`${F_COUNTER}${name}${key}`, num(delta), updates);
  }

  histogram(
    name: string,
    bounds: readonly number[],
    key: string,
    sum: number,
    counts: readonly number[],
    updates: number,
  ): void {
    const { id, text } = layoutOf(bounds);
    let delta = num(sum);
    for (const c of counts) delta += ` ${num(c)}`;
    const field = `${F_HISTOGRAM}${name}${SEP_LAYOUT}${id}${key}`;
    const op = [OP_ADD, field, delta];
    const decl = `${F_LAYOUT}${name}${SEP_LAYOUT}${id}`;
    // Every part that holds series of a layout declares it: any part may be the one that lands.
    const declOp = [OP_SET, decl, text];
    const declBytes = this.#declared.has(decl) ? 0 : argsBytes(declOp);
    if (this.#current.bytes + declBytes + argsBytes(op) > this.#maxBytes) this.#close();
    if (!this.#declared.has(decl)) {
      this.#op(declOp, 0);
      this.#declared.add(decl);
    }
    this.#op(op, updates, field);
  }

  native(name: string, key: string, maxBuckets: number, packed: string, updates: number): void {
    const field = `${F_NATIVE}${name}${key}`;
    this.#op([OP_NATIVE, field, num(maxBuckets), packed], updates, field);
  }

  summary(name: string, key: string, count: number, sum: number, updates: number): void {
    this.#add(`${F_SUMMARY}${name}${key}`, `${num(count)} ${num(sum)}`, updates);
  }

  sketch(name: string, key: string, sliceMs: number, slices: number, cap: number, tokens: string) {
    this.#op(
      [OP_SKETCH, `${F_SLICE}${name}${key}`, num(sliceMs), num(slices), num(cap), tokens],
      0,
    );
  }

  gauge(
    name: string,
    expireMs: number,
    records: Iterable<GaugeRecord>,
    updates: number,
    instance?: string,
  ): void {
    let body = "";
    for (const [key, value, at] of records) {
      body += `${body ? "\r" : ""}${num(value)}${at === undefined ? "" : `@${num(at)}`} ${key}`;
    }
    this.#op(
      [
        OP_GAUGE,
        `${F_GAUGE}${name}${SEP_LAYOUT}${instance ?? this.#instance}`,
        num(expireMs),
        body,
      ],
      updates,
    );
  }

  remove(
    type: "counter" | "histogram" | "summary",
    name: string,
    bounds: readonly number[] | undefined,
    key: string,
  ): void {
    if (type === "counter") this.#op([OP_DELETE, `${F_COUNTER}${name}${key}`], 0);
    else if (type === "histogram") {
      this.#op(
        [OP_DELETE, `${F_HISTOGRAM}${name}${SEP_LAYOUT}${layoutOf(bounds ?? []).id}${key}`],
        0,
      );
      this.#op([OP_DELETE, `${F_NATIVE}${name}${key}`], 0);
    } else {
      this.#op([OP_DELETE, `${F_SUMMARY}${name}${key}`], 0);
      this.#op([OP_RESET_LIVE, `${F_SLICE}${name}${key}${SEP_LAYOUT}`], 0);
    }
  }

  reset(type: "counter" | "histogram" | "summary", name: string): void {
    if (type === "counter") this.#op([OP_RESET, `${F_COUNTER}${name}[`], 0);
    else if (type === "histogram") {
      this.#op([OP_RESET, `${F_HISTOGRAM}${name}${SEP_LAYOUT}`], 0);
      this.#op([OP_RESET, `${F_LAYOUT}${name}${SEP_LAYOUT}`], 0);
      this.#op([OP_RESET, `${F_NATIVE}${name}[`], 0);
    } else {
      this.#op([OP_RESET, `${F_SUMMARY}${name}[`], 0);
      this.#op([OP_RESET_LIVE, `${F_SLICE}${name}[`], 0);
    }
  }

  /** Closes the last part; `parts` is complete afterwards. */
  finish(): Part[] {
    this.#close();
    return this.parts;
  }

  #add(field: string, delta: string, updates: number): void {
    this.#op([OP_ADD, field, delta], updates, field);
  }

  #op(args: string[], updates: number, refusable?: string): void {
    const bytes = argsBytes(args);
    const full =
      this.#current.bytes + bytes > this.#maxBytes ||
      (refusable !== undefined && this.#current.refusable.size >= MAX_REQUEST_FIELDS);
    if (this.#current.args.length > 0 && full) this.#close();
    const part = this.#current;
    for (const a of args) part.args.push(a);
    part.bytes += bytes;
    part.updates += updates;
    if (refusable !== undefined) part.refusable.set(refusable, updates);
  }

  #close(): void {
    if (this.#current.args.length > 0) this.parts.push(this.#current);
    this.#current = emptyPart();
    this.#declared = new Set();
  }
}

/** Whether a request of parts carrying `fields` series fields has room for `part` too. */
export function roomFor(fields: number, part: Part): boolean {
  return fields + part.refusable.size <= MAX_REQUEST_FIELDS;
}

/** Drains every source into request-sized parts, in drain order. */
export function drainAll(
  sources: Iterable<Drainable>,
  instance: string,
  nowMs: number,
  maxBytes: number,
): Part[] {
  const encoder = new BatchEncoder(instance, maxBytes);
  for (const source of sources) source.drain(encoder, nowMs);
  return encoder.finish();
}

/** Bytes a list of strings adds to a JSON array: each as a JSON string, plus a comma. */
function argsBytes(args: readonly string[]): number {
  let n = 0;
  for (const a of args) n += jsonStringBytes(a) + 1;
  return n;
}

/** UTF-8 length of JSON.stringify(s), without building it. */
export function jsonStringBytes(s: string): number {
  let n = 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) n += 2;
    else if (c < 0x20)
      n += c === 0x0a || c === 0x0d || c === 0x09 || c === 0x08 || c === 0x0c ? 2 : 6;
    else if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 6; // a lone surrogate is escaped as \\uXXXX
    } else if (c >= 0xd800 && c <= 0xdfff) n += 6;
    else n += 3;
  }
  return n;
}

const layouts = new WeakMap<readonly number[], { id: string; text: string }>();

/**
 * A bucket layout: its bounds as text, and a short stable name of them (FNV-1a of that text),
 * part of each series field.
 */
export function layoutOf(bounds: readonly number[]): { id: string; text: string } {
  let layout = layouts.get(bounds);
  if (layout === undefined) {
    let h = 0x811c9dc5;
    const text = bounds.map(num).join(" ");
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    layout = { id: h.toString(16).padStart(8, "0"), text };
    layouts.set(bounds, layout);
  }
  return layout;
}
