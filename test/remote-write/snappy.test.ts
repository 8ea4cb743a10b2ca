// The block encoder read back by a real snappy decoder (snappyjs): any input comes back byte
// for byte, and the repetitive text of a WriteRequest compresses as well as snappyjs does it.
import fc from "fast-check";
import SnappyJS from "snappyjs";
import { describe, expect, it } from "vitest";
import { snappyCompress } from "../../src/remote-write/snappy.ts";

const roundTrip = (src: Uint8Array) => new Uint8Array(SnappyJS.uncompress(snappyCompress(src)));

describe("snappyCompress", () => {
  it("round-trips edge lengths of random, zero and repetitive bytes through snappyjs", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % 256;
    };
    for (const n of [0, 1, 4, 14, 15, 16, 60, 61, 256, 257, 65535, 65536, 65537, 300_000]) {
      const noise = Uint8Array.from({ length: n }, random);
      const zeros = new Uint8Array(n);
      const text = new TextEncoder().encode(
        Array.from({ length: n }, (_, i) => `a{b="${i % 97}"} `)
          .join("")
          .slice(0, n),
      );
      for (const src of [noise, zeros, text]) expect(roundTrip(src)).toEqual(src);
    }
  });

  it("round-trips arbitrary inputs built from repeated chunks", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 80 }), fc.nat(40)), { maxLength: 40 }),
        (chunks) => {
          const parts = chunks.flatMap(([bytes, times]) => Array(times % 5).fill(bytes));
          const src = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
          let o = 0;
          for (const p of parts) {
            src.set(p, o);
            o += p.length;
          }
          expect(roundTrip(src)).toEqual(src);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("compresses label-heavy text about as well as snappyjs", () => {
    const text = new TextEncoder().encode(
      Array.from(
        { length: 20_000 },
        (_, i) => `http_requests_total{method="GET",route="/users/${i % 300}"} ${i}\n`,
      ).join(""),
    );
    const ours = snappyCompress(text).length;
    const theirs = SnappyJS.compress(text).byteLength;
    expect(ours).toBeLessThan(text.length / 3);
    expect(ours).toBeLessThanOrEqual(theirs * 1.05);
  });
});
