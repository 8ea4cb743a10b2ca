import type { MetricFamily, Sample } from "../types.ts";

export type Format = "text" | "openmetrics";

/** Prometheus text 0.0.4 or OpenMetrics 1.0 for the given families, newline-terminated. */
export function render(
  families: readonly MetricFamily[],
  format: Format,
  defaultLabels: Readonly<Record<string, string>> = {},
): string {
  const om = format === "openmetrics";
  const defaults = Object.entries(defaultLabels);
  let out = "";
  for (const [n, f] of families.entries()) {
    // prom-client separates families by a blank line in the text format; OpenMetrics forbids it.
    if (n > 0 && !om) out += "\n";
    // OpenMetrics names a counter family without _total and its sample with it.
    const family = om && f.type === "counter" ? f.name.replace(/_total$/, "") : f.name;
    const counterSuffix = om && f.type === "counter" ? "_total" : "";
    out += `# HELP ${family} ${escapeHelp(f.help, om)}\n# TYPE ${family} ${f.type}\n`;
    const own = defaults.filter(([name]) => !f.labelNames.includes(name as never));
    const omitted = om ? openMetricsOmits(f) : undefined;
    for (const s of f.samples) {
      if (omitted?.(s)) continue;
      let labels = "";
      for (let i = 0; i < f.labelNames.length; i++) {
        const v = s.values[i];
        if (v) labels += `${labels ? "," : ""}${f.labelNames[i]}="${escapeLabelValue(v)}"`;
      }
      for (const [name, v] of own) {
        if (v) labels += `${labels ? "," : ""}${name}="${escapeLabelValue(v)}"`;
      }
      if (s.extra) labels += `${labels ? "," : ""}${s.extra[0]}="${escapeLabelValue(s.extra[1])}"`;
      const name = counterSuffix ? family + counterSuffix : f.name + s.suffix;
      out += `${name}${labels ? `{${labels}}` : ""} ${formatValue(s.value)}\n`;
    }
  }
  return om ? `${out}# EOF\n` : out;
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

export function escapeLabelValue(v: string): string {
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
