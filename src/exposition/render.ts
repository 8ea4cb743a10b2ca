import type { MetricFamily, Sample } from "../types.ts";

export type Format = "text" | "openmetrics";

/** Prometheus text 0.0.4 or OpenMetrics 1.0 for the given families, newline-terminated. */
export function render(
  families: readonly MetricFamily[],
  format: Format,
  defaultLabels: Readonly<Record<string, string>> = {},
): string {
  const om = format === "openmetrics";
  let out = "";
  for (const [n, f] of families.entries()) {
    // prom-client separates families by a blank line in the text format; OpenMetrics forbids it.
    if (n > 0 && !om) out += "\n";
    out += renderFamily(f, om, defaultLabels);
  }
  return om ? `${out}# EOF\n` : out;
}

/**
 * One family: HELP, TYPE and one line per sample, each ending in a newline. Labels come in
 * prom-client's order: histogram buckets `le`, then default labels, then the series' labels;
 * summary quantiles `quantile`, then the series' labels, then default labels; everything else
 * the series' labels, then default labels (then `instance_id` of per-instance gauges). A
 * default label fills in for a series label of the same name left empty.
 */
export function renderFamily(
  f: MetricFamily,
  om: boolean,
  defaultLabels: Readonly<Record<string, string>> = {},
): string {
  // OpenMetrics names a counter family without _total and its sample with it.
  const counter = om && f.type === "counter";
  const family = counter ? f.name.replace(/_total$/, "") : f.name;
  let out = `# HELP ${family} ${escapeHelp(f.help, om)}\n# TYPE ${family} ${f.type}\n`;
  const names = f.labelNames;
  const order = f.order ?? names.map((_, i) => i);
  const defaults = Object.entries(defaultLabels).filter(([, v]) => v !== "");
  const extraFirst = f.type === "histogram" || f.type === "summary";
  const defaultsFirst = f.type === "histogram";
  const omitted = om ? openMetricsOmits(f) : undefined;
  // The samples of one series share their values array (a histogram's 17 lines, say): its
  // labels are escaped once, and an le/quantile pair shared by its series (a histogram's
  // buckets) once per family.
  let lastValues: readonly string[] | undefined;
  let series = "";
  const extras = new Map<Sample["extra"], string>();
  for (const s of f.samples) {
    if (omitted?.(s)) continue;
    if (s.values !== lastValues) {
      lastValues = s.values;
      series = "";
      for (const i of order) {
        const v = s.values[i];
        if (v) series += `,${names[i]}="${escapeLabelValue(v)}"`;
      }
    }
    let own = "";
    for (const [name, v] of defaults) {
      if (name === s.extra?.[0]) continue;
      const i = names.indexOf(name);
      if (i < 0 || !s.values[i]) own += `,${name}="${escapeLabelValue(v)}"`;
    }
    let extra = "";
    if (s.extra) {
      extra = extras.get(s.extra) ?? `,${s.extra[0]}="${escapeLabelValue(s.extra[1])}"`;
      extras.set(s.extra, extra);
    }
    const labels = defaultsFirst
      ? extra + own + series
      : extraFirst
        ? extra + series + own
        : series + own + extra;
    const name = counter ? `${family}_total` : sampleName(f, s);
    out += `${name}${labels ? `{${labels.slice(1)}}` : ""} ${formatValue(s.value)}\n`;
  }
  return out;
}

function sampleName(f: MetricFamily, s: Sample): string {
  return s.name ?? f.name + s.suffix;
}

/**
 * What OpenMetrics 1.0 cannot carry: its _sum and _count are counters and quantiles are never
 * negative. So a histogram with a negative bucket bound, or a series whose sum is negative, is
 * exposed without _sum and _count (as prometheus_client does); a summary leaves out a negative
 * _sum and negative quantiles. The text format 0.0.4 shows them all.
 */
function openMetricsOmits(f: MetricFamily): ((s: Sample) => boolean) | undefined {
  if (f.type === "summary") {
    return (s) => s.value < 0 && (s.suffix === "_sum" || s.extra?.[0] === "quantile");
  }
  if (f.type !== "histogram") return undefined;
  const negativeBound = f.samples.some((s) => s.extra?.[0] === "le" && Number(s.extra[1]) < 0);
  const negativeSum = new Set<string>();
  for (const s of f.samples) {
    if (s.suffix === "_sum" && s.value < 0) negativeSum.add(JSON.stringify(s.values));
  }
  return (s) =>
    (s.suffix === "_sum" || s.suffix === "_count") &&
    (negativeBound || negativeSum.has(JSON.stringify(s.values)));
}

const NEEDS_ESCAPE = /[\\\n"]/;

export function escapeLabelValue(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/[\\\n"]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

function escapeHelp(help: string, om: boolean): string {
  return om
    ? escapeLabelValue(help)
    : help.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}
