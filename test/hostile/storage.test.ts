// Issue 13, item 2: no choice of metric names, instance ids, prefixes or label values makes two
// series share storage. Names, ids, prefixes and label values are drawn from a tiny alphabet
// full of the separators a key schema could trip on (":", "#", "[", "\"", ","), so that
// concatenations meet whenever the schema lets them; every registry must then read back exactly
// its own model.
import fc from "fast-check";
import { expect, it } from "vitest";
import { Counter, Gauge, Histogram, Registry, Summary } from "../../src/index.ts";
import { parseChecked, sampleValue } from "../helpers/exposition.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

it("an instance b:X writing gauge a and an instance X writing gauge a:b keep apart", async () => {
  const prefix = uniquePrefix("storage");
  const one = new Registry({ redis: newClient(), prefix, instanceId: "b:X" });
  const two = new Registry({ redis: newClient(), prefix, instanceId: "X" });
  new Gauge({ name: "a", help: "h", registers: [one] }).set(1);
  new Gauge({ name: "a:b", help: "h", registers: [two] }).set(1);
  await one.flush();
  await two.flush();
  expect(sampleValue(parseChecked(await one.metrics()), "a")).toBe(1);
  expect(sampleValue(parseChecked(await two.metrics()), "a:b")).toBe(1);
});

it("the same gauge names under instances whose ids meet by concatenation read their own sums", async () => {
  const prefix = uniquePrefix("storage");
  const registries = ["b:X", "X", "b", "b:", ":X", "X#a", "a#X"].map(
    (instanceId) => new Registry({ redis: newClient(), prefix, instanceId }),
  );
  for (const [i, r] of registries.entries()) {
    new Gauge({ name: "a", help: "h", registers: [r] }).set(i + 1);
    new Gauge({ name: "a:b", help: "h", registers: [r] }).set(100 * (i + 1));
    await r.flush();
  }
  const families = parseChecked(await registries[0]!.metrics());
  expect(sampleValue(families, "a")).toBe(28); // 1 + … + 7
  expect(sampleValue(families, "a:b")).toBe(2800);
});

const ALPHABET = ["a", "b", ":", "_"];
const name = fc
  .array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 4 })
  .map((cs) => `m${cs.join("")}`);
const hostileText = fc
  .array(fc.constantFrom("a", ":", "#", "[", "]", '"', ",", "\\", "}", "{"), { maxLength: 4 })
  .map((cs) => cs.join(""));
const TYPES = ["counter", "gauge", "histogram", "summary"] as const;
type Type = (typeof TYPES)[number];

interface Write {
  registry: number;
  type: Type;
  name: string;
  label: string;
  value: number;
}

it("registries over prefixes, instance ids and names that meet by concatenation read their own model", async () => {
  const base = uniquePrefix("storage");
  await fc.assert(
    fc.asyncProperty(
      // registry i: prefix (from a few that share beginnings) and an instance id unique in it
      fc.uniqueArray(
        fc.record({ prefix: fc.constantFrom("p", "p:", "p:a", ":p"), id: hostileText }),
        {
          minLength: 2,
          maxLength: 4,
          selector: (r) => `${r.prefix}\u0000${r.id}`,
        },
      ),
      fc.array(
        fc.record({
          registry: fc.nat(3),
          type: fc.constantFrom(...TYPES),
          name,
          label: hostileText,
          value: fc.integer({ min: 1, max: 9 }),
        }),
        { minLength: 1, maxLength: 12 },
      ),
      async (specs, writes) => {
        const run = uniquePrefix("run");
        const registries = specs.map(
          (s) =>
            new Registry({
              redis: newClient(),
              prefix: `${base}${run}${s.prefix}`,
              instanceId: s.id === "" ? "i" : `i${s.id}`,
              selfMetrics: false,
            }),
        );
        // One type per name within a registry (the registry refuses the rest: item 3).
        const metrics = new Map<string, Counter | Gauge | Histogram | Summary>();
        const model = new Map<string, number>(); // prefix/type/name/label → expected value
        const accepted: Write[] = [];
        for (const w of writes as Write[]) {
          const r = registries[w.registry % registries.length]!;
          const key = `${w.registry % registries.length}/${w.name}`;
          let m = metrics.get(key);
          if (m === undefined) {
            const config = { name: w.name, help: "h", labelNames: ["v"], registers: [r] };
            try {
              m =
                w.type === "counter"
                  ? new Counter(config)
                  : w.type === "gauge"
                    ? new Gauge(config)
                    : w.type === "histogram"
                      ? new Histogram({ ...config, buckets: [5] })
                      : new Summary({ ...config, percentiles: [0.5] });
            } catch (error) {
              expect(String(error)).toMatch(/cannot be exposed beside|_total/);
              continue;
            }
            metrics.set(key, m);
          }
          const type = m.type;
          const labels = { v: w.label };
          if (m instanceof Counter) m.inc(labels, w.value);
          else if (m instanceof Gauge) m.inc(labels, w.value);
          else m.observe(labels, w.value);
          accepted.push({ ...w, registry: w.registry % registries.length, type });
        }
        for (const w of accepted) {
          // Sums add over every registry of the prefix; a gauge sums this instance's incs,
          // and the "sum" aggregate adds the instances: the same total.
          const k = `${specs[w.registry]!.prefix}/${w.type}/${w.name}/${w.label}`;
          model.set(k, (model.get(k) ?? 0) + w.value);
        }
        for (const r of registries) await r.flush();
        for (const [i, r] of registries.entries()) {
          if (r.getMetricsAsArray().length === 0) continue;
          const families = parseChecked(await r.metrics());
          for (const [key, m] of metrics) {
            if (!key.startsWith(`${i}/`)) continue;
            const seen = new Set<string>();
            for (const w of accepted) {
              if (w.registry !== i || w.name !== m.name || seen.has(w.label)) continue;
              seen.add(w.label);
              const expected = model.get(`${specs[i]!.prefix}/${m.type}/${m.name}/${w.label}`);
              const labels: Record<string, string> = w.label === "" ? {} : { v: w.label };
              const sample =
                m.type === "histogram" || m.type === "summary" ? `${m.name}_sum` : m.name;
              expect(sampleValue(families, sample, labels), `${key} ${w.label}`).toBe(expected);
            }
          }
        }
      },
    ),
    { numRuns: 25, seed: 13 },
  );
});
