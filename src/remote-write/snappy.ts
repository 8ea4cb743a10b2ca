// Snappy block compression (https://github.com/google/snappy/blob/main/format_description.txt),
// as remote write requires: the uncompressed length as a varint, then literals and copies.
// The reference algorithm reduced to what a WriteRequest needs: 64 KiB fragments, a hash table
// of 4-byte sequences per fragment, copies of at most 64 bytes with 1- or 2-byte offsets, and
// the reference's skipping heuristic over incompressible stretches. docs/remote-write.md says
// why this one and not a package (size and speed measured in bench/remote-write.ts).

const FRAGMENT = 1 << 16;
const HASH_BITS = 14;
/** Matches are only looked for while this many bytes are left (the reference's margin). */
const MARGIN = 15;

export function snappyCompress(src: Uint8Array): Uint8Array<ArrayBuffer> {
  // The worst case: every byte a literal, plus a tag per 60-byte literal run and the length.
  const out = new Uint8Array(32 + src.length + Math.ceil(src.length / 6));
  let o = writeLength(out, src.length);
  const table = new Int32Array(1 << HASH_BITS);
  for (let start = 0; start < src.length; start += FRAGMENT) {
    o = fragment(src, start, Math.min(src.length, start + FRAGMENT), out, o, table);
  }
  return out.slice(0, o);
}

function writeLength(out: Uint8Array, n: number): number {
  let o = 0;
  for (; n > 127; n = Math.floor(n / 128)) out[o++] = (n % 128) | 128;
  out[o++] = n;
  return o;
}

function load32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

function hash(u: number): number {
  return Math.imul(u, 0x1e35a7bd) >>> (32 - HASH_BITS);
}

function fragment(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  o: number,
  table: Int32Array,
): number {
  let literalStart = start;
  if (end - start >= MARGIN) {
    table.fill(-1);
    const limit = end - MARGIN;
    let i = start;
    while (i <= limit) {
      const u = load32(src, i);
      const h = hash(u);
      const candidate = table[h]!;
      table[h] = i;
      if (candidate < start || load32(src, candidate) !== u) {
        // Skip faster over bytes that keep failing to match (32 misses: 2 bytes a step, …).
        i += 1 + ((i - literalStart) >> 5);
        continue;
      }
      if (i > literalStart) o = literal(src, literalStart, i, out, o);
      let length = 4;
      while (i + length < end && src[candidate + length] === src[i + length]) length++;
      o = copy(out, o, i - candidate, length);
      i += length;
      literalStart = i;
      if (i <= limit) table[hash(load32(src, i - 1))] = i - 1;
    }
  }
  if (literalStart < end) o = literal(src, literalStart, end, out, o);
  return o;
}

function literal(src: Uint8Array, from: number, to: number, out: Uint8Array, o: number): number {
  const n = to - from - 1;
  if (n < 60) out[o++] = n << 2;
  else if (n < 256) {
    out[o++] = 60 << 2;
    out[o++] = n;
  } else {
    out[o++] = 61 << 2;
    out[o++] = n & 255;
    out[o++] = n >> 8;
  }
  out.set(src.subarray(from, to), o);
  return o + (to - from);
}

/** A copy of `length` bytes from `offset` back (offset < 65536 within a fragment). */
function copy(out: Uint8Array, o: number, offset: number, length: number): number {
  while (length >= 68) {
    o = copy2(out, o, offset, 64);
    length -= 64;
  }
  if (length > 64) {
    o = copy2(out, o, offset, 60);
    length -= 60;
  }
  if (length >= 12 || offset >= 2048) return copy2(out, o, offset, length);
  // 1-byte offset: lengths 4..11, offsets below 2048.
  out[o++] = 1 | ((length - 4) << 2) | ((offset >> 8) << 5);
  out[o++] = offset & 255;
  return o;
}

function copy2(out: Uint8Array, o: number, offset: number, length: number): number {
  out[o++] = 2 | ((length - 1) << 2);
  out[o++] = offset & 255;
  out[o++] = offset >> 8;
  return o;
}
