// What a scrape shows of a metric with a collect() option: what it read from Redis plus what
// this instance has not written yet, collect()'s own updates included — so the values collect()
// sets appear in the scrape that ran it, as in prom-client, without a second round trip. The
// metrics write their unflushed data into a LocalData (a BatchWriter; nothing is taken from
// them, the next flush still writes it), and an OverlaySnapshot answers with the stored data
// and that on top: sums are added, deletions hide stored series, and this instance's gauge
// values replace the ones it stored.
import type { BatchWriter, GaugeRecord } from "./batch.ts";
import { type GaugeInstance, type HistogramSeries, inner, type Snapshot } from "./snapshot.ts";

type SumsType = "counter" | "histogram" | "summary";

/** Deletions one metric has pending: all its stored series, or some of them. */
interface Hidden {
  all: boolean;
  keys: Set<string>;
}

export class LocalData implements BatchWriter {
  readonly #hidden = new Map<string, Hidden>();
  readonly counters = new Map<string, Map<string, number>>();
  readonly histograms = new Map<string, HistogramSeries[]>();
  readonly summaries = new Map<string, Map<string, { count: number; sum: number }>>();
  readonly slices = new Map<string, Map<string, string[]>>();
  /** This instance's values of a gauge, and the instance id they are stored under. */
  readonly gauges = new Map<string, { records: readonly GaugeRecord[]; instance?: string }>();

  counter(name: string, key: string, delta: number): void {
    const series = inner(this.counters, name);
    series.set(key, (series.get(key) ?? 0) + delta);
  }

  histogram(
    name: string,
    bounds: readonly number[],
    key: string,
    sum: number,
    counts: readonly number[],
  ): void {
    let list = this.histograms.get(name);
    if (list === undefined) {
      list = [];
      this.histograms.set(name, list);
    }
    list.push({ key, bounds, sum, counts });
  }

  /** Native buckets are shown once written: merging them here would need the Lua rule in TS. */
  native(): void {}

  summary(name: string, key: string, count: number, sum: number): void {
    const series = inner(this.summaries, name);
    const prev = series.get(key);
    series.set(key, { count: (prev?.count ?? 0) + count, sum: (prev?.sum ?? 0) + sum });
  }

  sketch(
    name: string,
    key: string,
    _sliceMs: number,
    _slices: number,
    _cap: number,
    tokens: string,
  ) {
    const series = inner(this.slices, name);
    series.set(key, [...(series.get(key) ?? []), tokens]);
  }

  gauge(
    name: string,
    _expireMs: number,
    records: Iterable<GaugeRecord>,
    _updates: number,
    instance?: string,
  ): void {
    this.gauges.set(name, { records: [...records], instance });
  }

  remove(_type: SumsType, name: string, _bounds: readonly number[] | undefined, key: string): void {
    this.#hide(name).keys.add(key);
    this.counters.get(name)?.delete(key);
    this.summaries.get(name)?.delete(key);
    this.slices.get(name)?.delete(key);
    const list = this.histograms.get(name);
    if (list !== undefined)
      this.histograms.set(
        name,
        list.filter((s) => s.key !== key),
      );
  }

  reset(_type: SumsType, name: string): void {
    this.#hide(name).all = true;
    this.counters.delete(name);
    this.histograms.delete(name);
    this.summaries.delete(name);
    this.slices.delete(name);
  }

  isHidden(name: string, key: string): boolean {
    const h = this.#hidden.get(name);
    return h !== undefined && (h.all || h.keys.has(key));
  }

  #hide(name: string): Hidden {
    let h = this.#hidden.get(name);
    if (h === undefined) {
      h = { all: false, keys: new Set() };
      this.#hidden.set(name, h);
    }
    return h;
  }
}

export class OverlaySnapshot implements Snapshot {
  readonly #base: Snapshot;
  readonly #local: LocalData;
  readonly #instance: string;

  /** `instance`: this instance's id, whose stored gauge values the local ones replace. */
  constructor(base: Snapshot, local: LocalData, instance: string) {
    this.#base = base;
    this.#local = local;
    this.#instance = instance;
  }

  get now(): number {
    return this.#base.now;
  }

  counter(name: string): ReadonlyMap<string, number> {
    const out = new Map(this.#visible(name, this.#base.counter(name)));
    for (const [k, v] of this.#local.counters.get(name) ?? []) out.set(k, (out.get(k) ?? 0) + v);
    return out;
  }

  histogram(name: string): readonly HistogramSeries[] {
    const stored = this.#base.histogram(name).filter((s) => !this.#local.isHidden(name, s.key));
    return [...stored, ...(this.#local.histograms.get(name) ?? [])];
  }

  native(name: string): ReadonlyMap<string, string> {
    return new Map(this.#visible(name, this.#base.native(name)));
  }

  summary(name: string): ReadonlyMap<string, { count: number; sum: number }> {
    const out = new Map(this.#visible(name, this.#base.summary(name)));
    for (const [k, v] of this.#local.summaries.get(name) ?? []) {
      const prev = out.get(k);
      out.set(k, { count: (prev?.count ?? 0) + v.count, sum: (prev?.sum ?? 0) + v.sum });
    }
    return out;
  }

  sketches(name: string): ReadonlyMap<string, readonly string[]> {
    const out = new Map(this.#visible(name, this.#base.sketches(name)));
    for (const [k, v] of this.#local.slices.get(name) ?? [])
      out.set(k, [...(out.get(k) ?? []), ...v]);
    return out;
  }

  gauge(name: string): readonly GaugeInstance[] {
    const mine = this.#local.gauges.get(name);
    if (mine === undefined) return this.#base.gauge(name);
    const instance = mine.instance ?? this.#instance;
    const others = this.#base.gauge(name).filter((g) => g.instance !== instance);
    return [...others, { instance, records: mine.records }];
  }

  #visible<V>(name: string, stored: ReadonlyMap<string, V>): [string, V][] {
    return [...stored].filter(([key]) => !this.#local.isHidden(name, key));
  }
}
