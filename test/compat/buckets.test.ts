// Bucket generators against prom-client 15.1.3: the same bounds, bit for bit (so `le` strings
// and the dashboards built on them are the same), and the same errors.
import { describe, expect, it } from "vitest";
import { caught, type Lib, ours, prom } from "./harness.ts";

const both = <R>(call: (lib: Lib) => R) => ({ ours: call(ours), prom: call(prom) });

describe("bucket generators like prom-client", () => {
  it.each([
    [0, 50, 10],
    [0.1, 0.1, 10],
    [0.005, 0.005, 200],
    [-1, 0.25, 9],
    [1, 0, 3],
    [2, -1, 3],
    [1e-9, 1e-9, 50],
    [2, 1, 1],
  ])("linearBuckets(%d, %d, %d)", (start, width, count) => {
    const { ours: mine, prom: theirs } = both((lib) => lib.linearBuckets(start, width, count));
    expect(mine).toEqual(theirs);
    expect(mine.map(String)).toEqual(theirs.map(String));
  });

  it.each([
    [1, 2, 5],
    [0.1, 3, 4],
    [0.001, 1.5, 40],
    [0.005, 2, 12],
    [1e-6, 10, 12],
    [3, 1.1, 100],
  ])("exponentialBuckets(%d, %d, %d)", (start, factor, count) => {
    const { ours: mine, prom: theirs } = both((lib) =>
      lib.exponentialBuckets(start, factor, count),
    );
    expect(mine).toEqual(theirs);
    expect(mine.map(String)).toEqual(theirs.map(String));
  });

  it("exponentialBuckets(0.1, 3, 4) gives 0.9000000000000001 as prom-client (not 0.9)", () => {
    expect(ours.exponentialBuckets(0.1, 3, 4)[2]).toBe(0.9000000000000001);
  });

  it.each([
    ["linearBuckets(2, 1, 0)", (lib: Lib) => lib.linearBuckets(2, 1, 0)],
    ["linearBuckets(2, 1, -3)", (lib: Lib) => lib.linearBuckets(2, 1, -3)],
    ["linearBuckets(0, 1, 2.5)", (lib: Lib) => lib.linearBuckets(0, 1, 2.5)],
    ["exponentialBuckets(1, 1, 5)", (lib: Lib) => lib.exponentialBuckets(1, 1, 5)],
    ["exponentialBuckets(0, 1, 5)", (lib: Lib) => lib.exponentialBuckets(0, 1, 5)],
    ["exponentialBuckets(0, 2, 5)", (lib: Lib) => lib.exponentialBuckets(0, 2, 5)],
    ["exponentialBuckets(2, 10, 0)", (lib: Lib) => lib.exponentialBuckets(2, 10, 0)],
    ["exponentialBuckets(-1, 0.5, 0)", (lib: Lib) => lib.exponentialBuckets(-1, 0.5, 0)],
    ["exponentialBuckets(1, 0.5, 3)", (lib: Lib) => lib.exponentialBuckets(1, 0.5, 3)],
  ])("%s throws as prom-client", (_, call) => {
    const { ours: mine, prom: theirs } = both((lib) => caught(() => call(lib)));
    expect(mine).not.toBe("no error");
    expect(mine).toEqual(theirs);
  });
});
