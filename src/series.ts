// The series a metric knows in this isolate, found from label values without building a key:
// a tree of Maps, one level per label name (in labelNames order), keyed by the label values as
// stored. A labelled call walks the tree with the strings it was given — their hashes are
// cached by the engine, so no string is built or hashed on the hot path — and reaches the
// Series object that holds the pending data. Only a new series builds its key (labels.ts).
//
// The index is also the set of admitted series: a new one is created only if the metric's
// bounds (limits.ts) admit it, and forgetting one gives its room back.

import { type LabelSet, labelValue, valuesOfKey } from "./labels.ts";
import type { LabelValues } from "./types.ts";

export interface Series<E> {
  /** The stored name of the series: the JSON array of its label values. */
  readonly key: string;
  /** The metric's data for this series (pending deltas, or a gauge's value). */
  entry: E | undefined;
  /** False once removed or reset: holders of this object must look the series up again. */
  live: boolean;
  /** The object labels(...) returns for this series, made once. */
  child: object | undefined;
}

type Node<E> = Map<string, Node<E> | Series<E>>;

export class SeriesIndex<E, T extends string = string> {
  readonly #labels: LabelSet<T>;
  readonly #names: readonly T[];
  readonly #admit: (key: string) => boolean;
  #root: Node<E> = new Map();
  readonly #byKey = new Map<string, Series<E>>();
  /** The series with no label values (inc() without labels), while it lives. */
  #blankSeries: Series<E> | undefined;
  /** Keys of the first labels object that created a series here (for the display order). */
  firstNames: readonly string[] | undefined;

  /** `admit(key)` says whether a new series may be created (and counts a refusal itself). */
  constructor(labels: LabelSet<T>, admit: (key: string) => boolean) {
    this.#labels = labels;
    this.#names = labels.names;
    this.#admit = admit;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** The series of a labels object; undefined when a new one is over the bounds. */
  find(labels: LabelValues<T>): Series<E> | undefined {
    const names = this.#names;
    let node: Node<E> | Series<E> | undefined = this.#root;
    let given = 0;
    for (let i = 0; i < names.length; i++) {
      const v: unknown = labels[names[i]!];
      let k: string;
      if (typeof v === "string") {
        k = v;
        given++;
      } else if (v === undefined) {
        k = "";
      } else {
        k = labelValue(this.#labels.metric, v);
        given++;
      }
      node = (node as Node<E>).get(k);
      if (node === undefined) {
        const key = this.#labels.keyOf(labels);
        this.firstNames ??= Object.keys(labels);
        return this.#create(key);
      }
    }
    // Names outside labelNames: counting keys is cheaper than looking each one up, and only a
    // mismatch needs the lookups (which also forgive known keys explicitly set to undefined).
    let count = 0;
    for (const _ in labels) count++;
    if (count !== given) this.#labels.checkNames(labels);
    return names.length === 0 ? this.blank() : (node as Series<E>);
  }

  /** The series of prom-client's positional labels("a", "b"). */
  #findValues(values: readonly unknown[]): Series<E> | undefined {
    const names = this.#names;
    if (values.length !== names.length || names.length === 0) {
      this.#labels.positional(values);
      return this.blank();
    }
    let node: Node<E> | Series<E> | undefined = this.#root;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      node = (node as Node<E>).get(typeof v === "string" ? v : labelValue(this.#labels.metric, v));
      if (node === undefined) return this.#create(this.#labels.keyOfPositional(values));
    }
    return node as Series<E>;
  }

  /** labels("a", "b") or labels({ x: "a" }). */
  findArgs(args: readonly unknown[]): Series<E> | undefined {
    const first = args[0];
    if (typeof first === "object" && first !== null) return this.find(first as LabelValues<T>);
    return this.#findValues(args);
  }

  /** The series of a call without labels (every label missing). */
  blank(): Series<E> | undefined {
    const s = this.#blankSeries;
    if (s?.live) return s;
    const key = this.#labels.keyOf({});
    this.#blankSeries = this.#byKey.get(key) ?? this.#create(key);
    return this.#blankSeries;
  }

  /** The series stored under `key`, created (within the bounds) if it is not known here. */
  ofKey(key: string): Series<E> | undefined {
    return this.#byKey.get(key) ?? this.#create(key);
  }

  get(key: string): Series<E> | undefined {
    return this.#byKey.get(key);
  }

  all(): IterableIterator<Series<E>> {
    return this.#byKey.values();
  }

  /** Forgets a series; returns it (now dead) if it was known. */
  delete(key: string): Series<E> | undefined {
    const s = this.#byKey.get(key);
    if (s === undefined) return undefined;
    this.#byKey.delete(key);
    s.live = false;
    const values = valuesOfKey(key, this.#names.length) ?? [];
    const path: Node<E>[] = [];
    let node: Node<E> = this.#root;
    for (let i = 0; i < values.length - 1; i++) {
      path.push(node);
      node = node.get(values[i]!) as Node<E>;
    }
    node.delete(values[values.length - 1] ?? "");
    // Drop the Maps this leaves empty, so removed label values do not stay in memory.
    for (let i = path.length - 1; i >= 0 && node.size === 0; i--) {
      path[i]!.delete(values[i]!);
      node = path[i]!;
    }
    return s;
  }

  /** Forgets every series; returns them (now dead). */
  clear(): Series<E>[] {
    const all = [...this.#byKey.values()];
    for (const s of all) s.live = false;
    this.#byKey.clear();
    this.#root = new Map();
    this.#blankSeries = undefined;
    return all;
  }

  #create(key: string): Series<E> | undefined {
    const known = this.#byKey.get(key);
    if (known !== undefined) return known;
    if (!this.#admit(key)) return undefined;
    const s: Series<E> = { key, entry: undefined, live: true, child: undefined };
    this.#byKey.set(key, s);
    const values = valuesOfKey(key, this.#names.length) ?? [];
    let node = this.#root;
    for (let i = 0; i < values.length - 1; i++) {
      let next = node.get(values[i]!) as Node<E> | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(values[i]!, next);
      }
      node = next;
    }
    node.set(values[values.length - 1] ?? "", s);
    return s;
  }
}
