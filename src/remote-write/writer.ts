// A protobuf writer into one growing byte buffer, for remote write's WriteRequest (tens of
// thousands of series per push: no per-field arrays, strings written without a TextEncoder
// call when they are ASCII). Integers up to 2^53 (arithmetic, not 32-bit ops).

const utf8 = new TextEncoder();

export class Writer {
  #buf = new Uint8Array(1024);
  pos = 0;
  readonly #float = new Float64Array(1);
  readonly #floatBytes = new Uint8Array(this.#float.buffer);

  reset(): void {
    this.pos = 0;
  }

  /** The bytes written so far (a view: valid until the next write or reset). */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.pos);
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array<ArrayBuffer> {
    return this.#buf.slice(0, this.pos);
  }

  #room(n: number): void {
    if (this.pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#buf.subarray(0, this.pos));
    this.#buf = grown;
  }

  varint(v: number): void {
    this.#room(10);
    const b = this.#buf;
    let p = this.pos;
    for (; v > 127; v = Math.floor(v / 128)) b[p++] = (v % 128) | 128;
    b[p++] = v;
    this.pos = p;
  }

  /** Field key: field number and wire type (0 varint, 1 fixed64, 2 length-delimited). */
  key(field: number, wire: 0 | 1 | 2): void {
    this.varint(field * 8 + wire);
  }

  /** uint64/int64 (non-negative)/enum. */
  uint(field: number, v: number): void {
    this.key(field, 0);
    this.varint(v);
  }

  /** sint32/sint64 (zigzag). */
  sint(field: number, v: number): void {
    this.uint(field, zigzag(v));
  }

  /** double, little-endian (the platform's order: every engine the library runs on is LE). */
  double(field: number, v: number): void {
    this.key(field, 1);
    this.#room(8);
    this.#float[0] = v;
    this.#buf.set(this.#floatBytes, this.pos);
    this.pos += 8;
  }

  raw(bytes: Uint8Array): void {
    this.#room(bytes.length);
    this.#buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Length-delimited field holding `bytes`. */
  bytes(field: number, bytes: Uint8Array): void {
    this.key(field, 2);
    this.varint(bytes.length);
    this.raw(bytes);
  }

  string(field: number, s: string): void {
    this.key(field, 2);
    this.#text(s);
  }

  /** A string's length and UTF-8 bytes (no key): one pass when it is ASCII, as names are. */
  #text(s: string): void {
    const n = s.length;
    const start = this.pos;
    this.varint(n);
    this.#room(n);
    const b = this.#buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 127) {
        this.pos = start;
        const bytes = utf8.encode(s);
        this.varint(bytes.length);
        this.raw(bytes);
        return;
      }
      b[p++] = c;
    }
    this.pos = p;
  }

  /**
   * A message { string name = 1; string value = 2; } as length-delimited `field` (a Label):
   * its length goes into a byte kept for it once the strings are written, the bytes moved
   * along in the rare case it needs more than one.
   */
  pair(field: number, name: string, value: string): void {
    this.key(field, 2);
    this.#room(1);
    const at = this.pos++;
    this.string(1, name);
    this.string(2, value);
    const length = this.pos - at - 1;
    if (length < 128) {
      this.#buf[at] = length;
      return;
    }
    const extra = varintSize(length) - 1;
    this.#room(extra);
    const b = this.#buf;
    b.copyWithin(at + 1 + extra, at + 1, this.pos);
    let p = at;
    let v = length;
    for (; v > 127; v = Math.floor(v / 128)) b[p++] = (v % 128) | 128;
    b[p] = v;
    this.pos += extra;
  }
}

export function zigzag(v: number): number {
  return v < 0 ? -2 * v - 1 : 2 * v;
}

/** Bytes of `v` as a varint. */
export function varintSize(v: number): number {
  let n = 1;
  for (; v > 127; v = Math.floor(v / 128)) n++;
  return n;
}
