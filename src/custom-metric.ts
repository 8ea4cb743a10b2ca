// prom-client's custom-metric protocol: any object with a get() that returns { name, help,
// type, values: [{ value, labels, metricName? }] } may be registered (under its `name`). Its
// values are not stored anywhere: the instance that serves a scrape calls get() and renders
// what it returns, as prom-client does — names and all, unchecked.
import type { MetricFamily, Sample } from "./types.ts";

export interface CustomMetricValue {
  value: number;
  labels?: Record<string, string | number>;
  metricName?: string;
}

export interface CustomMetricData {
  name?: string;
  help?: string;
  type?: string;
  aggregator?: string;
  values?: readonly CustomMetricValue[];
}

export interface CustomMetric {
  name?: string;
  help?: string;
  type?: string;
  aggregator?: string;
  get(): CustomMetricData | Promise<CustomMetricData>;
  reset?(): void;
}

/** True for an object that follows the protocol (checked before it is registered). */
export function isCustomMetric(m: unknown): m is CustomMetric {
  return typeof m === "object" && m !== null && typeof (m as CustomMetric).get === "function";
}

/** What get() returned, as a family to render (labels in the order the values give them). */
export function customFamily(m: CustomMetric, data: CustomMetricData): MetricFamily {
  // prom-client escapes the name (not a value's metricName) for its HELP, TYPE and samples.
  const name = escapeName(String(data.name ?? m.name));
  const values = data.values ?? [];
  const labelNames: string[] = [];
  for (const v of values) {
    for (const label of Object.keys(v.labels ?? {})) {
      if (!labelNames.includes(label)) labelNames.push(label);
    }
  }
  const samples: Sample[] = values.map((v) => {
    const labels = v.labels ?? {};
    const sample: Sample = {
      suffix: "",
      values: labelNames.map((l) => (labels[l] === undefined ? "" : String(labels[l]))),
      value: Number(v.value),
    };
    if (v.metricName !== undefined && v.metricName !== name) sample.name = v.metricName;
    return sample;
  });
  return {
    name,
    help: String(data.help ?? m.help ?? ""),
    type: data.type ?? m.type ?? "untyped",
    labelNames,
    samples,
  };
}

/** prom-client's escapeString: a backslash and a newline cannot split an exposition line. */
function escapeName(name: string): string {
  return name.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}
