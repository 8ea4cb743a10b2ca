// The logarithmic index mapping of DDSketch (Masson, Rim, Lee, VLDB 2019): a value v > 0 falls
// in bucket i = ceil(log_γ v) with γ = (1+α)/(1−α), and every value of bucket i lies within
// relative error α of 2·γ^i/(γ+1). Written here rather than imported from @datadog/sketches-js:
// its mapping module pulls in a protobuf codec (about 4 kB gzip with protobufjs left out, and
// the bundle then fails to build because protobufjs is not one of its dependencies; about
// 10.8 kB gzip with it). test/sketch/mapping.test.ts checks these indices against it.
// The arithmetic follows the same order of operations as sketches-js's LogarithmicMapping so
// the indices agree bit for bit.

/** Default relative accuracy α of a summary's quantiles. */
export const DEFAULT_RELATIVE_ACCURACY = 0.01;

export class LogMapping {
  readonly relativeAccuracy: number;
  readonly gamma: number;
  /** Smallest magnitude that gets its own bucket; anything closer to 0 counts as zero. */
  readonly minIndexable: number;
  /** Largest magnitude whose bucket value stays finite; larger values use its bucket. */
  readonly maxIndexable: number;
  /** Bucket of maxIndexable: the highest index this mapping produces. */
  readonly maxIndex: number;
  /** 1 / log2(γ), so that log_γ(v) = log2(v) · multiplier. */
  private readonly multiplier: number;
  /** 2/(1+γ): turns the upper bound γ^i of bucket i into its relative-error midpoint. */
  private readonly midpointFactor: number;

  constructor(relativeAccuracy: number = DEFAULT_RELATIVE_ACCURACY) {
    if (!(relativeAccuracy > 0 && relativeAccuracy < 1)) {
      throw new RangeError(`relativeAccuracy must be in (0, 1), got ${relativeAccuracy}`);
    }
    this.relativeAccuracy = relativeAccuracy;
    // γ − 1 computed directly, then log1p: more precise than Math.log(γ) for small α.
    const gammaMantissa = (2 * relativeAccuracy) / (1 - relativeAccuracy);
    this.gamma = 1 + gammaMantissa;
    this.multiplier = (1 / Math.log1p(gammaMantissa)) * Math.LN2;
    this.midpointFactor = 2 / (1 + this.gamma);
    this.minIndexable = 2 ** -1023 * this.gamma;
    this.maxIndexable = Number.MAX_VALUE / this.gamma;
    this.maxIndex = Math.ceil(Math.log2(this.maxIndexable) * this.multiplier);
  }

  /**
   * Bucket index of a magnitude. Precondition: minIndexable < magnitude (callers send smaller
   * magnitudes to the zero count). Magnitudes above maxIndexable, +Infinity included, land in
   * the top bucket.
   */
  index(magnitude: number): number {
    // `+ 0` turns the −0 that ceil gives just below 1 into 0.
    return Math.min(Math.ceil(Math.log2(magnitude) * this.multiplier), this.maxIndex) + 0;
  }

  /** The value that stands for bucket `index`: within α of every value in the bucket. */
  value(index: number): number {
    return 2 ** (index / this.multiplier) * this.midpointFactor;
  }

  /** Lower and upper bound of the magnitudes in bucket `index`: (γ^(i−1), γ^i]. */
  bounds(index: number): [lower: number, upper: number] {
    return [2 ** ((index - 1) / this.multiplier), 2 ** (index / this.multiplier)];
  }
}
