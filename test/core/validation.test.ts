// Bad input fails loudly at definition or call time, with a message that says what is wrong.
import { describe, expect, it } from "vitest";
import { Counter, Gauge, Histogram, Registry, Summary } from "../../src/index.ts";

const r = () => new Registry({ prefix: "validation" });

describe("definition-time errors", () => {
  it.each([
    [
      "empty name",
      () => new Counter({ name: "", help: "h", registers: [r()] }),
      /Missing mandatory name parameter/,
    ],
    [
      "name with dash",
      () => new Counter({ name: "a-b", help: "h", registers: [r()] }),
      /Invalid metric name/,
    ],
    [
      "name starting with digit",
      () => new Gauge({ name: "1a", help: "h", registers: [r()] }),
      /Invalid metric name/,
    ],
    [
      "missing help",
      () => new Counter({ name: "a", help: "", registers: [r()] }),
      /Missing mandatory help parameter/,
    ],
    [
      "bad label name",
      () => new Counter({ name: "a", help: "h", labelNames: ["a-b"], registers: [r()] }),
      /Invalid label name/,
    ],
    [
      "reserved __ label",
      () => new Counter({ name: "a", help: "h", labelNames: ["__x"], registers: [r()] }),
      /Invalid label name/,
    ],
    [
      "duplicate label",
      () => new Counter({ name: "a", help: "h", labelNames: ["x", "x"], registers: [r()] }),
      /Duplicate label/,
    ],
    [
      "le on histogram",
      () => new Histogram({ name: "a", help: "h", labelNames: ["le"], registers: [r()] }),
      /le is a reserved label keyword/,
    ],
    [
      "quantile on summary",
      () => new Summary({ name: "a", help: "h", labelNames: ["quantile"], registers: [r()] }),
      /quantile is a reserved label keyword/,
    ],
    [
      "instance_id on perInstance gauge",
      () =>
        new Gauge({
          name: "a",
          help: "h",
          labelNames: ["instance_id"],
          aggregate: "perInstance",
          registers: [r()],
        }),
      /reserved/,
    ],
    [
      "unsorted buckets",
      () => new Histogram({ name: "a", help: "h", buckets: [1, 0.5], registers: [r()] }),
      /strictly increasing/,
    ],
    [
      "duplicate buckets",
      () => new Histogram({ name: "a", help: "h", buckets: [1, 1], registers: [r()] }),
      /strictly increasing/,
    ],
    [
      "NaN bucket",
      () => new Histogram({ name: "a", help: "h", buckets: [Number.NaN], registers: [r()] }),
      /Invalid bucket/,
    ],
    [
      "empty buckets",
      () => new Histogram({ name: "a", help: "h", buckets: [], registers: [r()] }),
      /non-empty/,
    ],
    [
      "percentile above 1",
      () => new Summary({ name: "a", help: "h", percentiles: [0.5, 1.5], registers: [r()] }),
      /Invalid percentile/,
    ],
    [
      "bad aggregate",
      () => new Gauge({ name: "a", help: "h", aggregate: "avg" as never, registers: [r()] }),
      /Invalid aggregate/,
    ],
    [
      "zero expire",
      () => new Gauge({ name: "a", help: "h", expire: 0, registers: [r()] }),
      /expire/,
    ],
    ["prefix with braces", () => new Registry({ prefix: "a{b}" }), /prefix/],
  ])("%s", (_, make, message) => {
    expect(make).toThrow(message);
  });

  it("refuses a second metric with the same name in one registry", () => {
    const registry = r();
    new Counter({ name: "a", help: "h", registers: [registry] });
    expect(() => new Gauge({ name: "a", help: "h", registers: [registry] })).toThrow(
      /already been registered/,
    );
  });
});

describe("call-time errors", () => {
  const registry = r();
  const c = new Counter({ name: "c", help: "h", labelNames: ["a", "b"], registers: [registry] });
  const g = new Gauge({ name: "g", help: "h", registers: [registry] });
  const h = new Histogram({ name: "h", help: "h", registers: [registry] });

  it.each([
    ["unknown label", () => c.inc({ nope: "x" } as never), /not included in initial labelset/],
    ["wrong label count by position", () => c.labels("only-one"), /Invalid number of arguments/],
    ["negative counter increment", () => c.inc(-1), /not possible to decrease/],
    ["NaN counter increment", () => c.inc(Number.NaN), /not a valid number: NaN/],
    [
      "infinite counter increment",
      () => c.inc(Number.POSITIVE_INFINITY),
      /not a valid number: Infinity/,
    ],
    ["gauge set to a string", () => g.set("3" as never), /not a valid number: 3/],
    ["NaN observation", () => h.observe(Number.NaN), /not a valid number: NaN/],
    ["object label value", () => c.inc({ a: {} as never }), /must be a string or number/],
  ])("%s", (_, call, message) => {
    expect(call).toThrow(message);
  });

  it("flush and scrape without a Redis client say what to do", async () => {
    const lonely = r();
    const counter = new Counter({ name: "x", help: "h", registers: [lonely] });
    await expect(lonely.flush()).resolves.toBeUndefined(); // nothing pending: nothing to send
    counter.inc();
    await expect(lonely.flush()).rejects.toThrow(/no Redis client.*setRedis/);
    await expect(lonely.metrics()).rejects.toThrow(/no Redis client/);
  });
});
