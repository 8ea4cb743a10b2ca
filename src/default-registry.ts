// Where a metric defined without `registers` goes: the default registry (prom-client's
// `register`). registry.ts provides it; metrics only know this small interface, so the metric
// modules never import the registry (which imports them).

/** What a metric needs of a registry to join it. */
export interface Registrar {
  /** Where the registry's values live in Redis (prom-client's registries have none). */
  readonly prefix?: string;
  registerMetric(metric: object): void;
  /** Throws what registerMetric would throw, changing nothing (for atomic registration). */
  checkRegistration?(metric: object): void;
}

let provider: (() => Registrar) | undefined;

export function provideDefaultRegistry(get: () => Registrar): void {
  provider = get;
}

export function defaultRegistry(): Registrar {
  if (provider === undefined) throw new Error("prometheus-upstash: no default registry");
  return provider();
}
