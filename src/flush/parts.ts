// Turns what the metrics drained into request-sized parts. Each part becomes one batch with its
// own id; normally everything fits in one. A part knows how many metric updates it carries, so
// a part that is finally dropped is counted exactly.
import { type Batch, BatchBuilder } from "../batch.ts";

/** One batch ready to send: its JSON and the bytes it adds to a request body. */
export interface Part {
  json: string;
  bytes: number;
  /** Metric calls it stands for (0 for self-metric parts). */
  updates: number;
}

/** Anything that can move its pending data into a batch. */
export interface Drainable {
  drain(batch: BatchBuilder, nowMs: number): void;
}

/** Room for the script call itself (EVALSHA, sha, key, ttl, instance, batch id) in a request. */
export const REQUEST_OVERHEAD_BYTES = 256;

/** UTF-8 length of a string without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Bytes a batch JSON takes in the request body, where it travels as an escaped JSON string. */
export function wireBytes(json: string): number {
  return utf8Length(JSON.stringify(json)) + 1;
}

type Op = unknown[];

function sectionsOf(batch: Batch): (keyof Batch)[] {
  return Object.keys(batch) as (keyof Batch)[];
}

function isEmpty(batch: Batch): boolean {
  return sectionsOf(batch).every((s) => batch[s].length === 0);
}

function toPart(batch: Batch, updates: number): Part {
  const json = JSON.stringify(batch);
  return { json, bytes: wireBytes(json), updates };
}

/**
 * Drains every source and packs the result into parts of at most `maxBytes` (wire bytes),
 * keeping each metric's data together when it fits and in drain order.
 */
export function drainToParts(
  sources: Iterable<Drainable>,
  nowMs: number,
  maxBytes: number,
): Part[] {
  const parts: Part[] = [];
  let current = new BatchBuilder();
  let currentBytes = 0;
  const close = () => {
    if (!current.isEmpty) parts.push(toPart(current.batch, current.updates));
    current = new BatchBuilder();
    currentBytes = 0;
  };
  for (const source of sources) {
    const one = new BatchBuilder();
    source.drain(one, nowMs);
    if (one.isEmpty) continue;
    const bytes = wireBytes(JSON.stringify(one.batch));
    if (bytes > maxBytes) {
      close();
      splitOversized(one.batch, maxBytes).forEach((b, i) => {
        parts.push(toPart(b, i === 0 ? one.updates : 0));
      });
      continue;
    }
    if (currentBytes + bytes > maxBytes) close();
    for (const section of sectionsOf(one.batch)) {
      (current.batch[section] as Op[]).push(...(one.batch[section] as Op[]));
    }
    current.updates += one.updates;
    currentBytes += bytes;
  }
  close();
  return parts;
}

/**
 * Splits one metric's batch that is larger than a request. Every op ends with
 * [..., reset flag, deletes, flat field/value list]; an op too big on its own is cut into
 * pieces of its field list, the reset and deletes going with the first piece only.
 */
export function splitOversized(batch: Batch, maxBytes: number): Batch[] {
  const out: Batch[] = [];
  let current = new BatchBuilder().batch;
  let currentBytes = 0;
  const add = (section: keyof Batch, op: Op, bytes: number) => {
    if (currentBytes + bytes > maxBytes && !isEmpty(current)) {
      out.push(current);
      current = new BatchBuilder().batch;
      currentBytes = 0;
    }
    (current[section] as Op[]).push(op);
    currentBytes += bytes;
  };
  for (const section of sectionsOf(batch)) {
    for (const op of batch[section] as Op[]) {
      const bytes = wireBytes(JSON.stringify(op));
      if (bytes <= maxBytes) add(section, op, bytes);
      else
        for (const piece of splitOp(op, maxBytes))
          add(section, piece, wireBytes(JSON.stringify(piece)));
    }
  }
  if (!isEmpty(current)) out.push(current);
  return out;
}

function splitOp(op: Op, maxBytes: number): Op[] {
  const head = op.slice(0, -3);
  const [reset, deletes, list] = op.slice(-3) as [unknown, unknown[], unknown[]];
  const pieces: Op[] = [];
  let fields: unknown[] = [];
  let first = true;
  const base = () => wireBytes(JSON.stringify([...head, reset, first ? deletes : [], []]));
  let bytes = base();
  const close = () => {
    pieces.push([...head, first ? reset : 0, first ? deletes : [], fields]);
    first = false;
    fields = [];
    bytes = base();
  };
  for (let i = 0; i < list.length; i += 2) {
    const pair = [list[i], list[i + 1]];
    const pairBytes = wireBytes(JSON.stringify(pair));
    if (bytes + pairBytes > maxBytes && fields.length > 0) close();
    fields.push(...pair);
    bytes += pairBytes;
  }
  if (fields.length > 0 || first) close();
  return pieces;
}
