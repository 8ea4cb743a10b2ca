// The logarithmic index mapping of DDSketch (Masson, Rim, Lee, VLDB 2019): a value v > 0 falls
// in bucket i = ceil(log_γ v) with γ = (1+α)/(1−α), and every value of bucket i lies within
// relative error α of 2·γ^i/(γ+1). Written here rather than imported from @datadog/sketches-js:
// its mapping module pulls in a protobuf codec (about 4 kB gzip with protobufjs left out, and
// the bundle then fails to build because protobufjs is not one of its dependencies; about
// 10.8 kB gzip with it). test/sketch/mapping.test.ts checks these indices against it.
// The arithmetic follows the same order of operations as sketches-js's LogarithmicMapping so
// the indices and values agree bit for bit over its range; ours goes on up to Number.MAX_VALUE
// (its range ends at MAX_VALUE/γ, and its top bucket is 2.9 % off at α = 1 %).

/** Default relative accuracy α of a summary's quantiles. */
export const DEFAULT_RELATIVE_ACCURACY = 0.01;

export class LogMapping {
  readonly relativeAccuracy: number;
  readonly gamma: number;
  /**
   * Largest magnitude that counts as zero (2^−1023·γ, as sketches-js): below it, doubles
   * (subnormals) are too coarse for a bucket to stand within α of its values.
   */
  readonly minIndexable: number;
  /** Largest magnitude indexed: Number.MAX_VALUE (sketches-js stops at MAX_VALUE / γ). */
  readonly maxIndexable: number;
  /** Bucket of Number.MAX_VALUE: the highest index this mapping produces. */
  readonly maxIndex: number;
  /** 1 / log2(γ), so that log_γ(v) = log2(v) · multiplier. */
  readonly #multiplier: number;
  /** 2/(1+γ): turns the upper bound γ^i of bucket i into its relative-error midpoint. */
  readonly #midpointFactor: number;

  constructor(relativeAccuracy: number = DEFAULT_RELATIVE_ACCURACY) {
    if (!(relativeAccuracy > 0 && relativeAccuracy < 1)) {
      throw new RangeError(`relativeAccuracy must be in (0, 1), got ${relativeAccuracy}`);
    }
    this.relativeAccuracy = relativeAccuracy;
    // γ − 1 computed directly, then log1p: more precise than Math.log(γ) for small α.
    const gammaMantissa = (2 * relativeAccuracy) / (1 - relativeAccuracy);
    this.gamma = 1 + gammaMantissa;
    this.#multiplier = (1 / Math.log1p(gammaMantissa)) * Math.LN2;
    this.#midpointFactor = 2 / (1 + this.gamma);
    this.minIndexable = 2 ** -1023 * this.gamma;
    this.maxIndexable = Number.MAX_VALUE;
    this.maxIndex = Math.ceil(Math.log2(Number.MAX_VALUE) * this.#multiplier);
  }

  /**
   * Bucket index of a magnitude. Precondition: minIndexable < magnitude (callers send smaller
   * magnitudes to the zero count). +Infinity lands in the top bucket.
   */
  index(magnitude: number): number {
    // `+ 0` turns the −0 that ceil gives just below 1 into 0.
    return Math.min(Math.ceil(Math.log2(magnitude) * this.#multiplier), this.maxIndex) + 0;
  }

  /** The value that stands for bucket `index`: within α of every value in the bucket. */
  value(index: number): number {
    const value = 2 ** (index / this.#multiplier) * this.#midpointFactor;
    if (value < Number.POSITIVE_INFINITY) return value;
    // The top buckets: γ^i overflows, so scale before raising. A midpoint beyond MAX_VALUE
    // becomes MAX_VALUE, which is nearer to every double of the bucket (all ≤ MAX_VALUE, and
    // above MAX_VALUE/(1+α) since the midpoint is (1+α)·γ^(i−1)): still within α.
    return Math.min(
      2 ** (index / this.#multiplier + Math.log2(this.#midpointFactor)),
      Number.MAX_VALUE,
    );
  }

  /** Lower and upper bound of the magnitudes in bucket `index`: (γ^(i−1), γ^i]. */
  bounds(index: number): [lower: number, upper: number] {
    return [2 ** ((index - 1) / this.#multiplier), 2 ** (index / this.#multiplier)];
  }
}
