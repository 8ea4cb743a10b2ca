// Differential tests against prom-client 15.1.3: one scenario, written once, runs on each
// library with a fresh registry, and the test compares what both returned — values, get() and
// JSON shapes, expositions, error classes and messages. Ours reads Redis, so a scenario calls
// `sync()` where it wants what it recorded to be readable: a flush for ours, nothing for
// prom-client. Differences that are by design are listed in the README ("Differences from
// prom-client") and normalised here in one place.
import * as promClient from "prom-client";
import * as upstash from "../../src/index.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

/** What a scenario may use of a library: the same names in both. */
export type Lib = Pick<
  typeof upstash,
  "Counter" | "Gauge" | "Histogram" | "Summary" | "linearBuckets" | "exponentialBuckets"
>;

export const ours: Lib = upstash;

/** prom-client's Registry, whose constructor takes the content type (its typings omit it). */
export const PromRegistry = promClient.Registry as unknown as new (
  contentType?: string,
) => promClient.Registry;
export const prom = promClient as unknown as Lib;

export interface Side {
  name: "ours" | "prom";
  lib: Lib;
  /** A fresh registry of this library (prom-client's, typed as ours). */
  registry: upstash.Registry;
  /** `{ registers: [registry] }`, to spread into metric configurations. */
  registers: { registers: upstash.Registry[] };
  /** Makes what was recorded readable: a flush for ours, nothing for prom-client. */
  sync(): Promise<void>;
}

export type ContentType =
  | typeof upstash.PROMETHEUS_CONTENT_TYPE
  | typeof upstash.OPENMETRICS_CONTENT_TYPE;

export function ourSide(contentType: ContentType = upstash.PROMETHEUS_CONTENT_TYPE): Side {
  const registry = new upstash.Registry({ redis: newClient(), prefix: uniquePrefix("compat") });
  registry.setContentType(contentType);
  return {
    name: "ours",
    lib: ours,
    registry,
    registers: { registers: [registry] },
    sync: () => registry.flush(),
  };
}

export function promSide(contentType: ContentType = upstash.PROMETHEUS_CONTENT_TYPE): Side {
  const registry = new PromRegistry(contentType) as unknown as upstash.Registry;
  return {
    name: "prom",
    lib: prom,
    registry,
    registers: { registers: [registry] },
    sync: async () => {},
  };
}

/** Runs `scenario` on both libraries (ours first) and returns both results. */
export async function differential<R>(
  scenario: (side: Side) => R | Promise<R>,
  contentType?: ContentType,
): Promise<{ ours: R; prom: R }> {
  const mine = await scenario(ourSide(contentType));
  const theirs = await scenario(promSide(contentType));
  return { ours: mine, prom: theirs };
}

/** What `fn` throws, as class name and message (or "no error"), for comparing. */
export function caught(fn: () => unknown): { error: string; message: string } | "no error" {
  try {
    fn();
    return "no error";
  } catch (e) {
    const error = e as Error;
    return { error: error.constructor.name, message: error.message };
  }
}

/**
 * An exposition with the documented differences evened out: prom-client writes NaN as "Nan"
 * (OpenMetrics requires "NaN", which we write).
 */
export function normalised(text: string): string {
  return text.replace(/ Nan$/gm, " NaN");
}

/** Summary quantile sample lines with their values masked (sketch vs t-digest estimates). */
export function maskQuantiles(text: string): string {
  return text.replace(/^(\S+\{[^}]*quantile="[^"]*"[^}]*\}) \S+$/gm, "$1 <q>");
}

interface WithValues {
  values?: { labels?: Record<string, unknown>; metricName?: string }[];
}

/**
 * A get() or getMetricsAsJSON() entry, copied (prom-client hands out its live objects) with
 * its values grouped by series in a fixed order: prom-client lists series in the order they
 * were created, ours in the order Redis returns them. Values of one series keep their order.
 */
export function inSeriesOrder<T extends WithValues>(metric: T): T {
  const copy = structuredClone(metric);
  copy.values?.sort((a, b) => seriesKey(a.labels).localeCompare(seriesKey(b.labels)));
  return copy;
}

function seriesKey(labels: Record<string, unknown> = {}): string {
  const own = Object.entries(labels).filter(([k]) => k !== "le" && k !== "quantile");
  return JSON.stringify(own.sort(([a], [b]) => a.localeCompare(b)));
}

/** metric.get() in series order. */
export async function getOf(metric: { get(): Promise<unknown> }): Promise<unknown> {
  return inSeriesOrder((await metric.get()) as WithValues);
}

/** getMetricsAsJSON() in series order. */
export async function jsonOf(registry: upstash.Registry): Promise<unknown> {
  return (await registry.getMetricsAsJSON()).map((m) => inSeriesOrder(m as WithValues));
}

/**
 * An exposition with each family's sample lines grouped by series in a fixed order (lines of
 * one series keep their order, labels their order within a line), NaN evened out.
 */
export function inSeriesOrderText(text: string): string {
  const lines = normalised(text).split("\n");
  const out: string[] = [];
  let samples: string[] = [];
  const flush = () => {
    out.push(...samples.sort((a, b) => lineSeries(a).localeCompare(lineSeries(b))));
    samples = [];
  };
  for (const line of lines) {
    if (line.startsWith("#") || line === "") {
      flush();
      out.push(line);
    } else samples.push(line);
  }
  flush();
  return out.join("\n");
}

function lineSeries(line: string): string {
  const labels = /\{(.*)\}/.exec(line)?.[1] ?? "";
  return labels.replace(/(^|,)(le|quantile)="[^"]*"/g, "");
}

/** registry.metrics() in series order. */
export async function textOf(registry: upstash.Registry): Promise<string> {
  return inSeriesOrderText(await registry.metrics());
}

/** JSON (get() or getMetricsAsJSON()) with summary quantile values masked. */
export function maskQuantileValues<T>(json: T): T {
  const copy = structuredClone(json);
  const visit = (m: WithValues & { values?: { value?: number; labels?: object }[] }) => {
    for (const v of m.values ?? []) {
      if (v.labels && "quantile" in v.labels) v.value = -1;
    }
  };
  for (const m of Array.isArray(copy) ? copy : [copy]) visit(m as WithValues);
  return copy;
}
