// Turns the read script's pages (read.lua: "#<now> <next> <mark>" then "<field>\t<value>"
// lines) into a Snapshot: per metric name, its series keys and numbers. The inverse of
// encode.ts. Pages are gathered first (Pages), so a field HSCAN returned twice counts once,
// with the value of the later page.
import type { GaugeRecord } from "../batch.ts";
import { type GaugeInstance, type HistogramSeries, inner, type Snapshot } from "../snapshot.ts";
import {
  F_COUNTER,
  F_GAUGE,
  F_HISTOGRAM,
  F_LAYOUT,
  F_NATIVE,
  F_SLICE,
  F_SUMMARY,
  SCAN_DONE,
  SCAN_START,
  SEP_LAYOUT,
} from "./schema.ts";

const NONE: readonly never[] = [];
const EMPTY = new Map<never, never>();
const COUNTER = F_COUNTER.charCodeAt(0);
const HISTOGRAM = F_HISTOGRAM.charCodeAt(0);
const LAYOUT = F_LAYOUT.charCodeAt(0);
const NATIVE = F_NATIVE.charCodeAt(0);
const SUMMARY = F_SUMMARY.charCodeAt(0);
const SLICE = F_SLICE.charCodeAt(0);
const GAUGE = F_GAUGE.charCodeAt(0);

/** What a scrape has read so far: its pages' fields, and where the next page starts. */
export class Pages {
  /** Server clock at the first page, ms. */
  now = 0;
  /** The read script's cursor state for the next page; SCAN_DONE after the last one. */
  next = SCAN_START;
  /** The janitor mark a page saw ("" until one has), handed on to the next page. */
  mark = "";
  count = 0;
  /** Characters of every reply so far, and of the largest one. */
  chars = 0;
  largest = 0;
  /** Entries the last page's HSCANs asked for, and its characters: what the next page asks for. */
  lastAsked = 0;
  lastChars = 0;
  readonly fields = new Map<string, string>();

  add(reply: string): void {
    if (reply.charCodeAt(0) !== 0x23) throw new Error("Unexpected scrape reply from Redis");
    let end = reply.indexOf("\n");
    if (end < 0) end = reply.length;
    const [now = "", next = "", mark = "", asked = ""] = reply.slice(1, end).split(" ");
    if (this.count === 0) this.now = Number(now);
    this.next = next;
    if (mark !== "-") this.mark = mark;
    this.count++;
    this.chars += reply.length;
    this.largest = Math.max(this.largest, reply.length);
    while (end < reply.length) {
      const start = end + 1;
      end = reply.indexOf("\n", start);
      if (end < 0) end = reply.length;
      const tab = reply.indexOf("\t", start);
      if (tab < 0 || tab > end) continue;
      this.fields.set(reply.slice(start, tab), reply.slice(tab + 1, end));
    }
    this.lastAsked = Number(asked);
    this.lastChars = reply.length;
  }

  get done(): boolean {
    return this.next === SCAN_DONE;
  }
}

export class DecodedSnapshot implements Snapshot {
  readonly now: number;
  /**
   * Series each counter, histogram and summary holds in Redis, by metric name (a histogram
   * series once per bucket layout it was written under).
   */
  readonly storedSeries = new Map<string, number>();
  readonly #counters = new Map<string, Map<string, number>>();
  readonly #histograms = new Map<string, HistogramSeries[]>();
  readonly #natives = new Map<string, Map<string, string>>();
  readonly #summaries = new Map<string, Map<string, { count: number; sum: number }>>();
  readonly #slices = new Map<string, Map<string, string[]>>();
  readonly #gauges = new Map<string, GaugeInstance[]>();

  constructor(now: number, fields: ReadonlyMap<string, string> = EMPTY) {
    this.now = now;
    const layouts = new Map<string, number[]>(); // "name#layout" → bounds
    const pendingHistograms: [name: string, layout: string, key: string, value: string][] = [];
    for (const [field, value] of fields) {
      switch (field.charCodeAt(0)) {
        case COUNTER: // c<name><key>
          this.#addCounter(field, value);
          break;
        case HISTOGRAM: {
          // h<name>#<layout><key>
          const hash = field.indexOf(SEP_LAYOUT);
          const bracket = field.indexOf("[", hash);
          if (hash > 0 && bracket > 0) {
            pendingHistograms.push([
              field.slice(1, hash),
              field.slice(hash + 1, bracket),
              field.slice(bracket),
              value,
            ]);
          }
          break;
        }
        case LAYOUT: // H<name>#<layout>
          layouts.set(field.slice(1), numbers(value));
          break;
        case NATIVE: // n<name><key>
          this.#addNative(field, value);
          break;
        case SUMMARY: // s<name><key>
          this.#addSummary(field, value);
          break;
        case SLICE: // q<name><key>#<slice>/<ms>
          this.#addSlice(field, value);
          break;
        case GAUGE: // g<name>#<instance>
          this.#addGauge(field, value);
          break;
      }
    }
    for (const [name, layout, key, value] of pendingHistograms) {
      const [sum = 0, ...counts] = numbers(value);
      let list = this.#histograms.get(name);
      if (list === undefined) {
        list = [];
        this.#histograms.set(name, list);
      }
      list.push({ key, bounds: layouts.get(`${name}${SEP_LAYOUT}${layout}`), sum, counts });
    }
    // What the write script counts against maxStoredSeriesPerMetric, as this scrape found it.
    const count = (name: string, n: number) =>
      this.storedSeries.set(name, (this.storedSeries.get(name) ?? 0) + n);
    for (const [name, series] of this.#counters) count(name, series.size);
    for (const [name, series] of this.#histograms) count(name, series.length);
    for (const [name, series] of this.#summaries) count(name, series.size);
  }

  counter(name: string): ReadonlyMap<string, number> {
    return this.#counters.get(name) ?? EMPTY;
  }

  histogram(name: string): readonly HistogramSeries[] {
    return this.#histograms.get(name) ?? NONE;
  }

  native(name: string): ReadonlyMap<string, string> {
    return this.#natives.get(name) ?? EMPTY;
  }

  summary(name: string): ReadonlyMap<string, { count: number; sum: number }> {
    return this.#summaries.get(name) ?? EMPTY;
  }

  sketches(name: string): ReadonlyMap<string, readonly string[]> {
    return this.#slices.get(name) ?? EMPTY;
  }

  gauge(name: string): readonly GaugeInstance[] {
    return this.#gauges.get(name) ?? NONE;
  }

  #addCounter(field: string, value: string): void {
    const cut = field.indexOf("[");
    if (cut < 0) return;
    inner(this.#counters, field.slice(1, cut)).set(field.slice(cut), Number(value));
  }

  #addNative(field: string, value: string): void {
    const cut = field.indexOf("[");
    if (cut > 0) inner(this.#natives, field.slice(1, cut)).set(field.slice(cut), value);
  }

  #addSummary(field: string, value: string): void {
    const cut = field.indexOf("[");
    if (cut < 0) return;
    const [count = 0, sum = 0] = numbers(value);
    inner(this.#summaries, field.slice(1, cut)).set(field.slice(cut), { count, sum });
  }

  #addSlice(field: string, value: string): void {
    const cut = field.indexOf("[");
    const hash = field.lastIndexOf(SEP_LAYOUT);
    const space = value.indexOf(" ");
    if (cut < 0 || hash < cut || space < 0) return;
    const series = inner(this.#slices, field.slice(1, cut));
    const key = field.slice(cut, hash);
    let list = series.get(key);
    if (list === undefined) {
      list = [];
      series.set(key, list);
    }
    list.push(value.slice(space + 1));
  }

  #addGauge(field: string, value: string): void {
    const hash = field.indexOf(SEP_LAYOUT);
    if (hash < 0) return;
    const name = field.slice(1, hash);
    const records: GaugeRecord[] = [];
    const space = value.indexOf(" ");
    if (space >= 0) {
      for (const line of value.slice(space + 1).split("\r")) {
        const gap = line.indexOf(" ");
        if (gap < 0) continue;
        const head = line.slice(0, gap);
        const at = head.indexOf("@");
        const key = line.slice(gap + 1);
        records.push(
          at < 0
            ? [key, Number(head)]
            : [key, Number(head.slice(0, at)), Number(head.slice(at + 1))],
        );
      }
    }
    let list = this.#gauges.get(name);
    if (list === undefined) {
      list = [];
      this.#gauges.set(name, list);
    }
    list.push({ instance: field.slice(hash + 1), records });
  }
}

function numbers(text: string): number[] {
  return text === "" ? [] : text.split(" ").map(Number);
}
