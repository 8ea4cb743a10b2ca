// What a push sends for each family: the series Prometheus would store after scraping the
// registry's text exposition, with the labels a scrape adds (job, instance) and its rules:
// empty label values dropped, a scraped label that clashes with a target label renamed
// `exported_<name>` (honor_labels: false), labels sorted by name, one series per label set.
// With `native`, a histogram series that has native buckets becomes one native histogram (as
// Prometheus 2.42 stores it when it scrapes with native histograms on) instead of its classic
// _bucket/_sum/_count series.
import type { MetricFamily, NativeBuckets, Sample } from "../types.ts";

export type Label = readonly [name: string, value: string];

export interface PushSeries {
  /** Sorted by name; `__name__` included. */
  labels: Label[];
  /** A float sample (when `histogram` is undefined). */
  value: number;
  histogram?: NativeHistogram;
}

export interface NativeHistogram extends NativeBuckets {
  count: number;
  sum: number;
}

export interface PushFamily {
  name: string;
  help: string;
  type: string;
  series: PushSeries[];
}

export interface Target {
  job: string;
  instance: string;
}

export interface SeriesOptions {
  target: Target;
  defaultLabels: Readonly<Record<string, string>>;
  native: boolean;
}

/** The families as pushed series; `duplicates` counts series dropped for a repeated label set. */
export function toPushFamilies(
  families: readonly MetricFamily[],
  options: SeriesOptions,
): { families: PushFamily[]; duplicates: number } {
  const seen = new Set<string>();
  let duplicates = 0;
  const out: PushFamily[] = [];
  const defaults = Object.entries(options.defaultLabels).filter(([, v]) => v !== "");
  for (const f of families) {
    const natives = options.native && f.type === "histogram" ? nativeSeries(f) : undefined;
    const series: PushSeries[] = [];
    const add = (s: Sample, name: string, histogram?: NativeHistogram, withExtra = true) => {
      const labels = labelsOf(f, s, name, defaults, options.target, withExtra);
      const key = labels.map(([n, v]) => `${n}\u0000${v}`).join("\u0000");
      if (seen.has(key)) {
        duplicates++;
        return;
      }
      seen.add(key);
      series.push(histogram ? { labels, value: 0, histogram } : { labels, value: s.value });
    };
    for (const s of f.samples) {
      const native = natives?.get(JSON.stringify(s.values));
      if (native === undefined) add(s, s.name ?? f.name + s.suffix);
      else if (s.suffix === "_count") add(s, f.name, native, false);
    }
    out.push({ name: f.name, help: f.help, type: f.type, series });
  }
  return { families: out, duplicates };
}

/** Series (by label values) of a histogram family that carry native buckets, with count and sum. */
function nativeSeries(f: MetricFamily): Map<string, NativeHistogram> {
  const sums = new Map<string, number>();
  for (const s of f.samples) if (s.suffix === "_sum") sums.set(JSON.stringify(s.values), s.value);
  const natives = new Map<string, NativeHistogram>();
  for (const s of f.samples) {
    // Remote write 1.0's integer histograms: counts must be whole (they always are here).
    if (s.suffix !== "_count" || s.native === undefined || !Number.isSafeInteger(s.value)) continue;
    const key = JSON.stringify(s.values);
    natives.set(key, { ...s.native, count: s.value, sum: sums.get(key) ?? 0 });
  }
  return natives;
}

function labelsOf(
  f: MetricFamily,
  s: Sample,
  name: string,
  defaults: readonly (readonly [string, string])[],
  target: Target,
  withExtra: boolean,
): Label[] {
  const scraped = new Map<string, string>();
  for (let i = 0; i < f.labelNames.length; i++) {
    const v = s.values[i];
    if (v) scraped.set(f.labelNames[i]!, v);
  }
  const extra = withExtra ? s.extra : undefined;
  // Default labels fill in where the series has none (render.ts does the same).
  for (const [n, v] of defaults) if (n !== extra?.[0] && !scraped.has(n)) scraped.set(n, v);
  if (extra?.[1]) scraped.set(extra[0], extra[1]);
  const labels: Label[] = [["__name__", name]];
  for (const [n, v] of scraped) {
    if (n === "job" || n === "instance") {
      let renamed = `exported_${n}`;
      while (scraped.has(renamed)) renamed = `exported_${renamed}`;
      labels.push([renamed, v]);
    } else labels.push([n, v]);
  }
  if (target.job) labels.push(["job", target.job]);
  if (target.instance) labels.push(["instance", target.instance]);
  return labels.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
