// Turns the read script's reply (scripts.ts: "#<now>" then "<field>\t<value>" lines) into a
// Snapshot: per metric name, its series keys and numbers. The inverse of encode.ts.
import type { GaugeRecord } from "../batch.ts";
import { type GaugeInstance, type HistogramSeries, inner, type Snapshot } from "../snapshot.ts";

const NONE: readonly never[] = [];
const EMPTY = new Map<never, never>();

export class DecodedSnapshot implements Snapshot {
  readonly now: number;
  private readonly counters = new Map<string, Map<string, number>>();
  private readonly histograms = new Map<string, HistogramSeries[]>();
  private readonly natives = new Map<string, Map<string, string>>();
  private readonly summaries = new Map<string, Map<string, { count: number; sum: number }>>();
  private readonly slices = new Map<string, Map<string, string[]>>();
  private readonly gauges = new Map<string, GaugeInstance[]>();

  constructor(reply: string) {
    if (reply.charCodeAt(0) !== 0x23) throw new Error("Unexpected scrape reply from Redis");
    let end = reply.indexOf("\n");
    if (end < 0) end = reply.length;
    this.now = Number(reply.slice(1, end));
    const layouts = new Map<string, number[]>(); // "name#layout" → bounds
    const pendingHistograms: [name: string, layout: string, key: string, value: string][] = [];
    while (end < reply.length) {
      const start = end + 1;
      end = reply.indexOf("\n", start);
      if (end < 0) end = reply.length;
      const tab = reply.indexOf("\t", start);
      if (tab < 0 || tab > end) continue;
      const field = reply.slice(start, tab);
      const value = reply.slice(tab + 1, end);
      switch (field.charCodeAt(0)) {
        case 0x63: // c<name><key>
          this.addCounter(field, value);
          break;
        case 0x68: {
          // h<name>#<layout><key>
          const hash = field.indexOf("#");
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
        case 0x48: // H<name>#<layout>
          layouts.set(field.slice(1), numbers(value));
          break;
        case 0x6e: // n<name><key>
          this.addNative(field, value);
          break;
        case 0x73: // s<name><key>
          this.addSummary(field, value);
          break;
        case 0x71: // q<name><key>#<slice>/<ms>
          this.addSlice(field, value);
          break;
        case 0x67: // g<name>#<instance>
          this.addGauge(field, value);
          break;
      }
    }
    for (const [name, layout, key, value] of pendingHistograms) {
      const [sum = 0, ...counts] = numbers(value);
      let list = this.histograms.get(name);
      if (list === undefined) {
        list = [];
        this.histograms.set(name, list);
      }
      list.push({ key, bounds: layouts.get(`${name}#${layout}`), sum, counts });
    }
  }

  counter(name: string): ReadonlyMap<string, number> {
    return this.counters.get(name) ?? EMPTY;
  }

  histogram(name: string): readonly HistogramSeries[] {
    return this.histograms.get(name) ?? NONE;
  }

  native(name: string): ReadonlyMap<string, string> {
    return this.natives.get(name) ?? EMPTY;
  }

  summary(name: string): ReadonlyMap<string, { count: number; sum: number }> {
    return this.summaries.get(name) ?? EMPTY;
  }

  sketches(name: string): ReadonlyMap<string, readonly string[]> {
    return this.slices.get(name) ?? EMPTY;
  }

  gauge(name: string): readonly GaugeInstance[] {
    return this.gauges.get(name) ?? NONE;
  }

  private addCounter(field: string, value: string): void {
    const cut = field.indexOf("[");
    if (cut < 0) return;
    inner(this.counters, field.slice(1, cut)).set(field.slice(cut), Number(value));
  }

  private addNative(field: string, value: string): void {
    const cut = field.indexOf("[");
    if (cut > 0) inner(this.natives, field.slice(1, cut)).set(field.slice(cut), value);
  }

  private addSummary(field: string, value: string): void {
    const cut = field.indexOf("[");
    if (cut < 0) return;
    const [count = 0, sum = 0] = numbers(value);
    inner(this.summaries, field.slice(1, cut)).set(field.slice(cut), { count, sum });
  }

  private addSlice(field: string, value: string): void {
    const cut = field.indexOf("[");
    const hash = field.lastIndexOf("#");
    const space = value.indexOf(" ");
    if (cut < 0 || hash < cut || space < 0) return;
    const series = inner(this.slices, field.slice(1, cut));
    const key = field.slice(cut, hash);
    let list = series.get(key);
    if (list === undefined) {
      list = [];
      series.set(key, list);
    }
    list.push(value.slice(space + 1));
  }

  private addGauge(field: string, value: string): void {
    const hash = field.indexOf("#");
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
    let list = this.gauges.get(name);
    if (list === undefined) {
      list = [];
      this.gauges.set(name, list);
    }
    list.push({ instance: field.slice(hash + 1), records });
  }
}

function numbers(text: string): number[] {
  return text === "" ? [] : text.split(" ").map(Number);
}
