// prom-client's JSON shapes (metric.get(), registry.getMetricsAsJSON()) built from a family:
// counters and gauges { value, labels }, histograms { value, metricName, labels } (buckets also
// `exemplar: null`), summaries { value, labels } for quantiles and { value, metricName, labels }
// for _sum and _count. `le` and `quantile` are numbers, except le "+Inf"; label values read
// back from Redis are strings.
import type { MetricFamily } from "../types.ts";

export interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
  exemplar?: null;
}

export interface MetricObjectWithValues {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: MetricValue[];
}

export function metricObject(f: MetricFamily, aggregator: string): MetricObjectWithValues {
  return { name: f.name, help: f.help, type: f.type, aggregator, values: metricValues(f) };
}

export function metricValues(f: MetricFamily): MetricValue[] {
  const names = f.labelNames;
  const order = f.order ?? names.map((_, i) => i);
  return f.samples.map((s) => {
    const labels: Record<string, string | number> = {};
    // prom-client puts le and quantile first.
    if (s.extra && s.extra[0] !== "instance_id") labels[s.extra[0]] = extraValue(s.extra[1]);
    for (const i of order) {
      const v = s.values[i];
      if (v) labels[names[i]!] = v;
    }
    if (s.extra?.[0] === "instance_id") labels[s.extra[0]] = s.extra[1];
    const value: MetricValue = { value: s.value, labels };
    if (s.name !== undefined) value.metricName = s.name;
    else if (s.suffix) value.metricName = f.name + s.suffix;
    if (s.suffix === "_bucket") value.exemplar = null;
    return value;
  });
}

function extraValue(v: string): string | number {
  return v === "+Inf" ? v : Number(v);
}
