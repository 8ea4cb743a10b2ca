// Issue 10's cost targets, counted the way Upstash bills (each command of a request plus every
// command a script runs; the local server's billing meter), with the script cached:
//   a flush of counter and histogram updates, any number of series and metrics  ≤ 6
//   gauges of this instance, any number of metrics and series                    ≤ 4 more
//   summaries, any number of series                                              ≤ 4 more
//   a scrape, whatever the number of metrics and series                          ≤ 8 + live gauge instances
// bench/cost.ts measures the same over a wider grid, beside its peers.
import { afterAll, describe, expect, it } from "vitest";
import {
  Counter,
  Gauge,
  type GaugeAggregate,
  Histogram,
  Registry,
  Summary,
} from "../../src/index.ts";
import type { Billing } from "../../tools/local-upstash/index.ts";
import { recordingServer, uniquePrefix } from "../helpers/stack.ts";

const recording = recordingServer({ billing: true });
const AGGREGATES: GaugeAggregate[] = ["sum", "max", "min", "last", "perInstance"];

type Kinds = { sums?: boolean; gauges?: boolean; summaries?: boolean };

/** One isolate with 3 counters and 2 histograms, 5 gauges, 2 summaries, as asked. */
function isolate(prefix: string, kinds: Kinds) {
  const registry = new Registry({ redis: recording.client(), prefix });
  const registers = [registry];
  const labelNames = ["route"] as const;
  const counters = kinds.sums
    ? [0, 1, 2].map((i) => new Counter({ name: `c${i}_total`, help: "c", labelNames, registers }))
    : [];
  const histograms = kinds.sums
    ? [0, 1].map((i) => new Histogram({ name: `h${i}_seconds`, help: "h", labelNames, registers }))
    : [];
  const gauges = kinds.gauges
    ? AGGREGATES.map(
        (aggregate) =>
          new Gauge({ name: `g_${aggregate}`, help: "g", aggregate, labelNames, registers }),
      )
    : [];
  const summaries = kinds.summaries
    ? [0, 1].map((i) => new Summary({ name: `s${i}_bytes`, help: "s", labelNames, registers }))
    : [];
  return {
    registry,
    record(series: number, round: number) {
      for (let i = 0; i < series; i++) {
        const labels = { route: `/r${i}` };
        for (const c of counters) c.inc(labels);
        for (const h of histograms) h.observe(labels, (i % 50) / 10);
        for (const g of gauges) g.set(labels, i + round);
        for (const s of summaries) s.observe(labels, i + 1);
      }
    },
  };
}

const billed = (fn: () => Promise<unknown>): Promise<Billing> => recording.billedDuring(fn);
const figures: string[] = [];
afterAll(() => console.log(figures.join("\n")));
const note = (what: string, b: Billing) =>
  figures.push(`${what}: ${b.billed} billed ${JSON.stringify(b.byCommand)}`);

describe("billed commands per flush (cached script)", () => {
  const cases: [string, Kinds, number][] = [
    ["counters and histograms", { sums: true }, 6],
    ["gauges", { gauges: true }, 6 + 4],
    ["counters, histograms and gauges", { sums: true, gauges: true }, 6 + 4],
    ["summaries", { summaries: true }, 6 + 4],
    ["every type", { sums: true, gauges: true, summaries: true }, 6 + 4 + 4],
  ];
  for (const [what, kinds, target] of cases) {
    for (const series of [1, 300]) {
      it(`${what}, ${series} series per metric: ≤ ${target}`, async () => {
        const iso = isolate(uniquePrefix("billed-flush"), kinds);
        iso.record(series, 0);
        await iso.registry.flush(); // the first flush sends the script text (EVAL)
        iso.record(series, 1);
        const bill = await billed(() => iso.registry.flush());
        note(`flush, ${what}, ${series} series`, bill);
        expect(bill.requests).toBe(1);
        expect(bill.billed).toBeLessThanOrEqual(target);
      });
    }
  }
});

describe("billed commands per scrape", () => {
  for (const instances of [1, 5]) {
    it(`every type, 100 series per metric, gauges from ${instances} instance(s): ≤ 8 + ${instances}`, async () => {
      const prefix = uniquePrefix("billed-scrape");
      const all = Array.from({ length: instances }, () =>
        isolate(prefix, { sums: true, gauges: true, summaries: true }),
      );
      for (const iso of all) {
        iso.record(100, 0);
        await iso.registry.flush();
      }
      const reader = all[0]!.registry;
      await reader.metrics(); // the first scrape sends the script text
      const bill = await billed(() => reader.metrics());
      note(`scrape, ${instances} instance(s)`, bill);
      expect(bill.billed).toBeLessThanOrEqual(8 + instances);
    });
  }
});
