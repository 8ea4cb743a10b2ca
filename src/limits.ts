// Bounds on how many label sets (series) the metrics of one registry remember in an isolate, so
// a flood of distinct label values can neither exhaust memory nor blow up Redis. An update that
// would add a series beyond a bound is dropped and counted, never thrown into the handler. The
// same byte budget pays for the summary sketches pending until the next flush (reserve/release).

/** Rough memory of one remembered series: its key twice (UTF-16) plus map/set entries. */
export function seriesCost(key: string): number {
  return 2 * key.length + 96;
}

export class SeriesLimits {
  readonly maxSeriesPerMetric: number;
  readonly #maxBytes: number;
  /** Longest series key accepted: a key must fit in a request with room to spare. */
  readonly #maxKeyLength: number;
  #bytes = 0;
  readonly #onRefused: (updates: number) => void;

  constructor(
    maxSeriesPerMetric: number,
    maxBytes: number,
    maxKeyLength: number,
    onRefused: (updates: number) => void = () => {},
  ) {
    this.maxSeriesPerMetric = maxSeriesPerMetric;
    this.#maxBytes = maxBytes;
    this.#maxKeyLength = maxKeyLength;
    this.#onRefused = onRefused;
  }

  get usedBytes(): number {
    return this.#bytes;
  }

  /** Reserves room for a new series; false when it does not fit. */
  take(key: string): boolean {
    if (key.length > this.#maxKeyLength) return false;
    const cost = seriesCost(key);
    if (this.#bytes + cost > this.#maxBytes) return false;
    this.#bytes += cost;
    return true;
  }

  give(key: string): void {
    this.#bytes = Math.max(0, this.#bytes - seriesCost(key));
  }

  /** Reserves memory for pending data (summary sketches) in the same budget; false if full. */
  reserve(bytes: number): boolean {
    if (this.#bytes + bytes > this.#maxBytes) return false;
    this.#bytes += bytes;
    return true;
  }

  /** Reserves room to grow pending data: only up to half the budget (new series go first). */
  grow(bytes: number): boolean {
    if (this.#bytes + bytes > this.#maxBytes / 2) return false;
    this.#bytes += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#bytes = Math.max(0, this.#bytes - bytes);
  }

  refused(updates: number): void {
    this.#onRefused(updates);
  }
}

/** Limits of a metric no registry has taken: the default series cap, no byte budget. */
export const UNREGISTERED_LIMITS = new SeriesLimits(10_000, Number.POSITIVE_INFINITY, 1 << 20);
