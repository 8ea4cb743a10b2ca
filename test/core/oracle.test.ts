// prom-client is the oracle for one instance: the same operations on prom-client and on a
// Registry backed by Redis must expose the same values.
import fc from "fast-check";
import * as promClient from "prom-client";
import { describe, expect, it } from "vitest";
import { Counter, Gauge, Histogram, Registry, Summary } from "../../src/index.ts";
import { type ParsedFamily, parseChecked, parseExposition } from "../helpers/exposition.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

const LABEL_VALUES = ["/", "/users/:id", "ünï", 'a"b', "back\\slash", "new\nline", "x,y=z", "{}"];

type Op =
  | { kind: "counter"; label: number; value: number }
  | { kind: "gauge"; label: number; how: "set" | "inc" | "dec"; value: number }
  | { kind: "histogram"; label: number; value: number }
  | { kind: "summary"; label: number; value: number };

const label = fc.nat(LABEL_VALUES.length - 1);
const amount = fc.double({ min: 0, max: 1e6, noNaN: true, noDefaultInfinity: true });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("counter" as const), label, value: amount }),
  fc.record({
    kind: fc.constant("gauge" as const),
    label,
    how: fc.constantFrom("set" as const, "inc" as const, "dec" as const),
    value: fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
  }),
  fc.record({
    kind: fc.constant("histogram" as const),
    label,
    value: fc.double({ min: -5, max: 50, noNaN: true }),
  }),
  // Unlike prom-client, a summary refuses subnormal magnitudes (docs/reliability.md).
  fc.record({
    kind: fc.constant("summary" as const),
    label,
    value: amount.filter((v) => v === 0 || v > 1e-307),
  }),
);

function both() {
  const ours = new Registry({ redis: newClient(), prefix: uniquePrefix("oracle") });
  const theirs = new promClient.Registry();
  const cfg = (name: string) => ({ name, help: `${name} help`, labelNames: ["route"] as const });
  const buckets = [0.5, 1, 2.5, 10];
  const oc = new Counter({ ...cfg("c_total"), registers: [ours] });
  const tc = new promClient.Counter({ ...cfg("c_total"), registers: [theirs] });
  const og = new Gauge({ ...cfg("g"), registers: [ours] });
  const tg = new promClient.Gauge({ ...cfg("g"), registers: [theirs] });
  const oh = new Histogram({ ...cfg("h"), buckets, registers: [ours] });
  const th = new promClient.Histogram({ ...cfg("h"), buckets, registers: [theirs] });
  const os = new Summary({ ...cfg("s"), registers: [ours] });
  const ts = new promClient.Summary({ ...cfg("s"), registers: [theirs] });
  return {
    ours,
    theirs,
    apply(o: Op) {
      const labels = { route: LABEL_VALUES[o.label]! };
      switch (o.kind) {
        case "counter":
          oc.inc(labels, o.value);
          tc.inc(labels, o.value);
          break;
        case "gauge":
          og[o.how](labels, o.value);
          tg[o.how](labels, o.value);
          break;
        case "histogram":
          oh.observe(labels, o.value);
          th.observe(labels, o.value);
          break;
        case "summary":
          os.observe(labels, o.value);
          ts.observe(labels, o.value);
      }
    },
  };
}

/** Samples by series id; summary quantiles left out (they are sketch estimates, tested apart). */
function bySeries(families: ParsedFamily[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of families) {
    for (const s of f.samples) {
      if (s.labels.quantile !== undefined) continue;
      const labels = Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1));
      out.set(`${s.name}${JSON.stringify(labels)}`, s.value);
    }
  }
  return out;
}

function expectSameValues(ours: Map<string, number>, theirs: Map<string, number>) {
  expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
  for (const [id, v] of theirs) {
    const mine = ours.get(id)!;
    // Redis adds in long double, prom-client in double: equal to ~15 significant digits.
    expect(Math.abs(mine - v), `${id}: ${mine} vs ${v}`).toBeLessThanOrEqual(
      1e-9 * Math.max(1, Math.abs(v)),
    );
  }
}

describe("prom-client as the oracle", () => {
  it("exposes what prom-client exposes for the same operations (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 80 }),
        fc.nat(3),
        async (ops, flushes) => {
          const { ours, theirs, apply } = both();
          // Flush at a few points in the sequence: results must not depend on where.
          const cut = Math.floor(ops.length / (flushes + 1));
          for (const [i, o] of ops.entries()) {
            apply(o);
            if (cut > 0 && i % cut === cut - 1) await ours.flush();
          }
          await ours.flush();
          const mine = parseChecked(await ours.metrics());
          const oracle = parseExposition(await theirs.metrics());
          expectSameValues(bySeries(mine), bySeries(oracle));
        },
      ),
      { numRuns: 40, seed: 7 },
    );
  });

  it("renders label-less metrics like prom-client before anything is written", async () => {
    const ours = new Registry({ redis: newClient(), prefix: uniquePrefix("oracle-empty") });
    const theirs = new promClient.Registry();
    for (const [Ours, Theirs] of [
      [Counter, promClient.Counter],
      [Gauge, promClient.Gauge],
      [Histogram, promClient.Histogram],
    ] as const) {
      const name = `m_${Ours.name.toLowerCase()}`;
      new Ours({ name, help: "h", registers: [ours] });
      new Theirs({ name, help: "h", registers: [theirs] });
      new Ours({ name: `${name}_labelled`, help: "h", labelNames: ["a"], registers: [ours] });
      new Theirs({ name: `${name}_labelled`, help: "h", labelNames: ["a"], registers: [theirs] });
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
