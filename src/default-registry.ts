// Where a metric defined without `registers` goes: the default registry (prom-client's
// `register`). Metrics only know this small interface, so the metric modules never import the
// registry (which imports them). Nothing here relies on a module's side effect (bundlers drop
// those: the package says "sideEffects": false): the default registry is made where it is
// first asked for (registry.ts's globalRegistry, e.g. by `register`), and takes the metrics
// defined before that. A program that never asks for it never needs it.

/** What a metric needs of a registry to join it. */
export interface Registrar {
  /** Where the registry's values live in Redis (prom-client's registries have none). */
  readonly prefix?: string;
  registerMetric(metric: object): void;
  /** Throws what registerMetric would throw, changing nothing (for atomic registration). */
  checkRegistration?(metric: object): void;
}

let current: Registrar | undefined;
/** Metrics defined without `registers` before the default registry was made, by name. */
const waiting = new Map<string, object>();

const nameOf = (metric: object) => String((metric as { name?: unknown }).name);

/** Holds the metrics until the default registry takes them (same duplicate check, same text). */
const waitingRoom: Registrar = {
  checkRegistration(metric) {
    const name = nameOf(metric);
    const existing = waiting.get(name);
    if (existing !== undefined && existing !== metric) {
      throw new Error(`A metric with the name ${name} has already been registered.`);
    }
  },
  registerMetric(metric) {
    this.checkRegistration!(metric);
    waiting.set(nameOf(metric), metric);
  },
};

export function defaultRegistry(): Registrar {
  return current ?? waitingRoom;
}

/** Makes `registry` the default one; it takes the metrics defined so far without `registers`. */
export function provideDefaultRegistry<R extends Registrar>(registry: R): R {
  current = registry;
  for (const metric of waiting.values()) registry.registerMetric(metric);
  waiting.clear();
  return registry;
}
