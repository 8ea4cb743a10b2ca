// Validation against prom-client 15.1.3: every mistake prom-client reports is reported with its
// error class and exact text (apps and tests match on them: prom-client's own suite has 26
// such snapshots). The checks prom-client does not make are listed at the end, with ours.
import { format, inspect } from "node:util";
import * as promClient from "prom-client";
import { describe, expect, it } from "vitest";
import * as upstash from "../../src/index.ts";
import { formatArgument, inspectNames } from "../../src/validation.ts";
import { caught, type Lib, ours, PromRegistry, prom } from "./harness.ts";

type Make = (lib: Lib) => unknown;
const none = { registers: [] };
const TYPES = ["Counter", "Gauge", "Histogram", "Summary"] as const;

describe("constructor errors like prom-client", () => {
  const cases: [string, (type: (typeof TYPES)[number]) => Make][] = [
    ["no configuration", (t) => (lib) => new lib[t](undefined as never)],
    ["null configuration", (t) => (lib) => new lib[t](null as never)],
    ["a string as configuration", (t) => (lib) => new lib[t]("x" as never)],
    ["no help", (t) => (lib) => new lib[t]({ name: "a", ...none } as never)],
    ["empty help", (t) => (lib) => new lib[t]({ name: "a", help: "", ...none })],
    ["no name", (t) => (lib) => new lib[t]({ help: "h", ...none } as never)],
    ["no name and no help", (t) => (lib) => new lib[t]({ ...none } as never)],
    ["empty name", (t) => (lib) => new lib[t]({ name: "", help: "h", ...none })],
    ["name with a dash", (t) => (lib) => new lib[t]({ name: "a-b", help: "h", ...none })],
    ["name starting with a digit", (t) => (lib) => new lib[t]({ name: "1a", help: "h", ...none })],
    ["name with a space", (t) => (lib) => new lib[t]({ name: "a b", help: "h", ...none })],
    ["name with ä", (t) => (lib) => new lib[t]({ name: "zähler", help: "h", ...none })],
    [
      "label name with a dash",
      (t) => (lib) => new lib[t]({ name: "a", help: "h", labelNames: ["a-b"], ...none }),
    ],
    [
      "empty label name",
      (t) => (lib) => new lib[t]({ name: "a", help: "h", labelNames: [""], ...none }),
    ],
    [
      "label name starting with a digit",
      (t) => (lib) => new lib[t]({ name: "a", help: "h", labelNames: ["ok", "9x"], ...none }),
    ],
    [
      "collect that is not a function",
      (t) => (lib) => new lib[t]({ name: "a", help: "h", collect: "x" as never, ...none }),
    ],
  ];
  for (const type of TYPES) {
    it.each(cases)(`${type}: %s`, (_, make) => {
      const mine = caught(() => make(type)(ours));
      const theirs = caught(() => make(type)(prom));
      expect(mine).not.toBe("no error");
      if (mine === "no error" || theirs === "no error") throw new Error("prom-client accepted it");
      // prom-client's class and text, which ours may follow with the name at fault (an app
      // matching the text as toThrow() does still matches).
      expect(mine.error).toBe(theirs.error);
      expect(mine.message.startsWith(theirs.message)).toBe(true);
    });
  }

  it.each([
    [
      "le on a histogram",
      (lib: Lib) => new lib.Histogram({ name: "h", help: "h", labelNames: ["a", "le"], ...none }),
    ],
    [
      "quantile on a summary",
      (lib: Lib) => new lib.Summary({ name: "s", help: "h", labelNames: ["quantile"], ...none }),
    ],
  ])("%s is reserved", (_, make) => {
    expect(caught(() => make(ours))).toEqual(caught(() => make(prom)));
  });
});

describe("registry errors like prom-client", () => {
  const bad = "application/openmetrics-text; version=42.0.0; charset=utf-8";

  it("refuses an unknown content type in the constructor (TypeError) and in setContentType", () => {
    expect(caught(() => new upstash.Registry(bad))).toEqual(caught(() => new PromRegistry(bad)));
    expect(caught(() => new upstash.Registry().setContentType(bad))).toEqual(
      caught(() => new promClient.Registry().setContentType(bad as never)),
    );
    expect(caught(() => new upstash.Registry(bad))).toEqual({
      error: "TypeError",
      message: `Content type ${bad} is unsupported`,
    });
  });

  it("refuses a second metric of the same name", () => {
    const make = (R: typeof upstash.Registry, lib: Lib) => {
      const registry = new R();
      new lib.Counter({ name: "test_metric", help: "h", registers: [registry] });
      return caught(() => new lib.Gauge({ name: "test_metric", help: "h", registers: [registry] }));
    };
    expect(make(upstash.Registry, ours)).toEqual(
      make(promClient.Registry as unknown as typeof upstash.Registry, prom),
    );
  });

  it("refuses to merge registries of different content types", () => {
    const merge = (R: typeof upstash.Registry) => {
      const a = new R(upstash.PROMETHEUS_CONTENT_TYPE);
      const b = new R(upstash.OPENMETRICS_CONTENT_TYPE);
      return caught(() => R.merge([a, b]));
    };
    expect(merge(upstash.Registry)).toEqual(
      merge(promClient.Registry as unknown as typeof upstash.Registry),
    );
  });
});

describe("the texts prom-client builds with node:util, without node:util", () => {
  it.each([
    [[]],
    [["foo"]],
    [["method", "endpoint"]],
    [["a", "b", "c", "d", "e", "f"]],
    [["a_rather_long_label_name", "another_rather_long_one", "and_a_third_long_one"]],
    [["a_rather_long_label_name", "another_rather_long_one", "and_a_third_long_one_too"]],
    [["x".repeat(70)]],
  ])("util.inspect(%j)", (names) => {
    expect(inspectNames(names)).toBe(inspect(names));
  });

  it.each([
    ["3ms"],
    [""],
    [Number.NaN],
    [Number.POSITIVE_INFINITY],
    [-0],
    [12.5],
    [undefined],
    [null],
    [true],
    [10n],
    [{}],
    [[]],
    [{ a: 1, "b-c": "x" }],
    [[1, "two", null]],
    [{ nested: { deep: 1 } }],
  ])("util.format(%s)", (value) => {
    expect(formatArgument(value)).toBe(format(value));
  });
});

describe("checks prom-client does not make (ours, with our texts)", () => {
  const r = () => new upstash.Registry({ prefix: "compat-validation" });
  it.each([
    [
      "a label name starting with __",
      () => new upstash.Counter({ name: "a", help: "h", labelNames: ["__x"], registers: [r()] }),
      "Invalid label name",
    ],
    [
      "a duplicate label name",
      () => new upstash.Counter({ name: "a", help: "h", labelNames: ["x", "x"], registers: [r()] }),
      'Duplicate label name "x" for metric a',
    ],
    [
      "empty buckets",
      () => new upstash.Histogram({ name: "a", help: "h", buckets: [], registers: [r()] }),
      "buckets of a must be a non-empty array of numbers",
    ],
    [
      "unsorted buckets",
      () => new upstash.Histogram({ name: "a", help: "h", buckets: [2, 1], registers: [r()] }),
      "buckets of a must be strictly increasing (2 then 1)",
    ],
    [
      "a percentile above 1",
      () => new upstash.Summary({ name: "a", help: "h", percentiles: [2], registers: [r()] }),
      "Invalid percentile 2 for summary a (must be in [0, 1])",
    ],
    [
      "an unknown gauge aggregate",
      () =>
        new upstash.Gauge({ name: "a", help: "h", aggregate: "avg" as never, registers: [r()] }),
      'Invalid aggregate "avg" for gauge a',
    ],
    [
      "an object as label value",
      () =>
        new upstash.Counter({ name: "a", help: "h", labelNames: ["v"], registers: [r()] }).inc({
          v: {} as never,
        }),
      "Label value of a must be a string or number, got object",
    ],
    [
      "a NaN counter increment",
      () => new upstash.Counter({ name: "a", help: "h", registers: [r()] }).inc(Number.NaN),
      "Value is not a valid number: NaN",
    ],
  ])("%s", (_, make, message) => {
    expect(make).toThrow(message);
  });

  it("prom-client accepts each of them", () => {
    const p = new promClient.Registry();
    expect(
      () => new promClient.Counter({ name: "a", help: "h", labelNames: ["__x"], registers: [p] }),
    ).not.toThrow();
    expect(
      () => new promClient.Histogram({ name: "b", help: "h", buckets: [2, 1], registers: [p] }),
    ).not.toThrow();
    expect(
      () => new promClient.Summary({ name: "c", help: "h", percentiles: [2], registers: [p] }),
    ).not.toThrow();
    expect(() =>
      new promClient.Counter({ name: "d", help: "h", registers: [p] }).inc(Number.NaN),
    ).not.toThrow();
  });
});
