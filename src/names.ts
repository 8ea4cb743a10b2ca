// What a registry can expose side by side. A scrape must parse whatever was registered, in
// both formats: the text format 0.0.4 and OpenMetrics 1.0, whose counters are named without
// `_total` and whose parsers refuse a family name that another family's samples use. So a
// registry refuses, at registration, a metric whose exposed names meet another metric's, and
// default labels that are not label names or that a metric type adds itself.

import { INSTANCE_LABEL } from "./metrics/gauge.ts";
import type { MetricType } from "./types.ts";
import { LABEL_NAME } from "./validation.ts";

/** Labels the types add themselves: histogram buckets, summary quantiles, perInstance gauges. */
const TYPE_LABELS: readonly string[] = ["le", "quantile", INSTANCE_LABEL];

/** Suffixes each type's samples may carry in either format (`_created` is OpenMetrics'). */
const SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: ["", "_total", "_created"],
  gauge: [""],
  histogram: ["", "_bucket", "_count", "_sum", "_created"],
  summary: ["", "_count", "_sum", "_created"],
};

interface Named {
  readonly name: string;
  /** A custom metric (prom-client's protocol) may name any type, or none. */
  readonly type?: MetricType | (string & {});
}

/** The OpenMetrics family name: a counter's without `_total`. */
export function familyName(m: Named): string {
  return m.type === "counter" ? m.name.replace(/_total$/, "") : m.name;
}

/** Every name a metric may put on a HELP/TYPE line or a sample, in either format. */
function exposedNames(m: Named): Set<string> {
  const family = familyName(m);
  const names = new Set([m.name]);
  for (const suffix of SUFFIXES[m.type as MetricType] ?? [""]) names.add(family + suffix);
  return names;
}

/**
 * Throws unless `metric` can be exposed beside every metric of `registered` (which does not
 * hold it): no name one of them exposes may be one the other exposes.
 */
export function assertExposable(registered: Iterable<Named>, metric: Named): void {
  if (familyName(metric) === "") {
    throw new Error(
      `Invalid metric name ${metric.name}: a counter needs a name before _total (OpenMetrics names the family without it)`,
    );
  }
  const mine = exposedNames(metric);
  for (const other of registered) {
    for (const name of exposedNames(other)) {
      if (mine.has(name)) {
        throw new Error(
          `Metric ${metric.name} (${metric.type}) cannot be exposed beside ${other.name} ` +
            `(${other.type}): both would expose the name ${name}`,
        );
      }
    }
  }
}

/** Checks default labels; returns them with their values as strings. */
export function validDefaultLabels(labels: unknown): Record<string, string> {
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) {
    throw new TypeError("Default labels must be an object of label name → value");
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(labels)) {
    if (!LABEL_NAME.test(name) || name.startsWith("__")) {
      throw new Error(`Invalid default label name ${JSON.stringify(name)}`);
    }
    if (TYPE_LABELS.includes(name)) {
      throw new Error(
        `Default label name ${JSON.stringify(name)} is reserved: metric types add it themselves`,
      );
    }
    out[name] = String(value);
  }
  return out;
}
