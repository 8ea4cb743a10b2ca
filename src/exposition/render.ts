import type { MetricFamily } from "../types.ts";

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
    for (const s of f.samples) {
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
