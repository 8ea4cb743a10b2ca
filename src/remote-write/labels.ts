// The labels of each pushed series: what Prometheus stores after scraping the registry's text
// exposition, with the target labels a scrape adds (job, instance) and its rules — empty label
// values dropped, a scraped label clashing with a target label renamed `exported_<name>`
// (honor_labels: false), default labels where the series has none (as render.ts), the label
// a type adds (le, quantile, instance_id) winning over a default of the same name, and all of
// them sorted by name. The order and sources are worked out once per family (a plan), so each
// series costs one pass over its values.
import type { MetricFamily, Sample } from "../types.ts";
import { Writer } from "./writer.ts";

export interface Target {
  job: string;
  instance: string;
}

/** Where a label's value comes from. */
type Source =
  | { kind: "name" }
  | { kind: "value"; index: number; fallback: string }
  | { kind: "extra" }
  | { kind: "fixed"; value: string };

export interface Slot {
  name: string;
  source: Source;
  /** A fixed label's Label message, encoded once (key and length included). */
  encoded?: Uint8Array;
}

/** A family's labels in sorted order, for samples whose added label (if any) is `extraName`. */
export interface Plan {
  slots: readonly Slot[];
  /** The fixed labels as a key part (the same fixed labels give the same string). */
  fixedKey: string;
}

export function planFor(
  f: MetricFamily,
  extraName: string | undefined,
  defaults: readonly (readonly [string, string])[],
  target: Target,
): Plan {
  const scraped = new Map<string, Source>();
  f.labelNames.forEach((name, index) => {
    const fallback = defaults.find(([n]) => n === name)?.[1] ?? "";
    scraped.set(name, { kind: "value", index, fallback });
  });
  for (const [name, value] of defaults) {
    if (!scraped.has(name)) scraped.set(name, { kind: "fixed", value });
  }
  if (extraName !== undefined) scraped.set(extraName, { kind: "extra" });
  const slots: Slot[] = [{ name: "__name__", source: { kind: "name" } }];
  for (const [name, source] of scraped) {
    if (name === "job" || name === "instance") {
      let renamed = `exported_${name}`;
      while (scraped.has(renamed)) renamed = `exported_${renamed}`;
      slots.push({ name: renamed, source });
    } else slots.push({ name, source });
  }
  if (target.job) slots.push({ name: "job", source: { kind: "fixed", value: target.job } });
  if (target.instance) {
    slots.push({ name: "instance", source: { kind: "fixed", value: target.instance } });
  }
  slots.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let fixedKey = "";
  const w = new Writer();
  for (const slot of slots) {
    if (slot.source.kind !== "fixed") continue;
    fixedKey += `${slot.name}\u0000${slot.source.value}\u0001`;
    w.reset();
    w.pair(1, slot.name, slot.source.value);
    slot.encoded = w.finish();
  }
  return { slots, fixedKey };
}

/** A slot's value for one sample ("" leaves the label out). */
export function slotValue(slot: Slot, s: Sample, name: string): string {
  const source = slot.source;
  switch (source.kind) {
    case "name":
      return name;
    case "value":
      return s.values[source.index] || source.fallback;
    case "extra":
      return s.extra?.[1] ?? "";
    case "fixed":
      return source.value;
  }
}
