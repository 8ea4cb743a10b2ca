// Prometheus' native histogram buckets ("exponential schemas"). For a schema s in −4..8 the
// boundaries are the integer powers of base = 2^(2^−s); bucket i holds magnitudes in
// (base^(i−1), base^i], so bucket 0 ends at 1 and bucket 1 starts there. Indices come from the
// binary exponent and mantissa of the value (frexp), with the fraction bounds of client_golang's
// table, exactly as client_golang and Prometheus compute them: a value equal to a boundary (a
// power of two, say) lands in the same bucket here, in Redis and in Prometheus.

export const MIN_SCHEMA = -4;
export const MAX_SCHEMA = 8;
/** client_golang's DefNativeHistogramZeroThreshold, 2^−128: a boundary at every schema. */
export const DEFAULT_ZERO_THRESHOLD = 2.938735877055719e-39;

let fractionTables: Float64Array[] | undefined;

/**
 * The upper bounds, as frexp fractions in [0.5, 1), of the 2^schema buckets of one octave
 * (schema > 0). Built the way client_golang's table was, from exact IEEE operations only
 * (products and square roots are correctly rounded in every engine): schema s keeps schema
 * s−1's bounds at even positions and puts bound·f_s after each, with f_1 = 1.414213562373095
 * (one ulp below √2, as in client_golang's table) and f_s = √f_(s−1). The result equals that
 * table bit for bit (test/native/prometheus.test.ts reads Prometheus' own boundaries back).
 */
export function fractions(schema: number): Float64Array {
  if (!fractionTables) {
    fractionTables = [new Float64Array([0.5])];
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: one ulp below √2 on purpose
    let factor = 1.414213562373095;
    for (let s = 1; s <= MAX_SCHEMA; s++) {
      const previous = fractionTables[s - 1]!;
      const table = new Float64Array(previous.length * 2);
      for (let j = 0; j < previous.length; j++) {
        table[2 * j] = previous[j]!;
        table[2 * j + 1] = previous[j]! * factor;
      }
      fractionTables.push(table);
      factor = Math.sqrt(factor);
    }
  }
  return fractionTables[Math.max(schema, 0)]!;
}

// frexp through the bits of a double: one Float64Array and its two 32-bit words.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;
const TWO_64 = 2 ** 64;

/** frexp: [fraction in [0.5, 1), exponent] with x = fraction·2^exponent, for finite x > 0. */
export function frexp(x: number): [fraction: number, exponent: number] {
  f64[0] = x;
  let exp = (u32[HI]! >>> 20) - 1022;
  if (exp === -1022) {
    // Subnormal: scale into the normal range first.
    f64[0] = x * TWO_64;
    exp = (u32[HI]! >>> 20) - 1022 - 64;
  }
  u32[HI] = (u32[HI]! & 0x800fffff) | 0x3fe00000;
  return [f64[0]!, exp];
}

/** What bucketIndex needs for one schema > 0: the fraction bounds and a lookup by mantissa. */
export interface SchemaTables {
  /** 2^schema: buckets per octave. */
  perOctave: number;
  /** The mantissa bits of each fraction bound (they share one exponent): high 20, low 32. */
  high: Uint32Array;
  low: Uint32Array;
  /**
   * For each value of the top schema+1 bits of the mantissa, the first bound at or above the
   * smallest fraction with those bits. A slot is narrower than any bucket, so the bucket of a
   * fraction is that bound or the next one: one comparison instead of a binary search.
   */
  slots: Uint16Array;
  /** Right shift of the high mantissa bits that leaves those top bits. */
  shift: number;
}

const schemaTables: SchemaTables[] = [];

export function tablesOf(schema: number): SchemaTables {
  let t = schemaTables[schema];
  if (!t) {
    const bounds = fractions(schema);
    const bits = Math.max(schema, 0) + 1;
    const slots = new Uint16Array(1 << bits);
    let j = 0;
    for (let slot = 0; slot < slots.length; slot++) {
      const low = 0.5 + slot * 2 ** (-1 - bits);
      while (j < bounds.length && bounds[j]! < low) j++;
      slots[slot] = j;
    }
    const high = new Uint32Array(bounds.length);
    const low = new Uint32Array(bounds.length);
    for (let k = 0; k < bounds.length; k++) {
      f64[0] = bounds[k]!;
      high[k] = u32[HI]! & 0xfffff;
      low[k] = u32[LO]!;
    }
    t = { perOctave: bounds.length, high, low, slots, shift: 20 - bits };
    schemaTables[schema] = t;
  }
  return t;
}

/**
 * Bucket index of a magnitude (> 0, finite or +Infinity) at `schema`; `tables` is
 * tablesOf(schema) (passed in: this runs on the hot path). The result is client_golang's:
 * the first fraction bound ≥ the value's frexp fraction, plus 2^schema per octave; +Infinity
 * goes one past the bucket of the largest finite double. Fractions are compared by their
 * mantissa bits, which order them as the numbers do.
 */
export function bucketIndex(
  magnitude: number,
  schema: number,
  tables: SchemaTables = tablesOf(schema),
): number {
  f64[0] = magnitude;
  let hi = u32[HI]!;
  let exp = (hi >>> 20) - 1022;
  if (exp === 1025) return bucketIndex(Number.MAX_VALUE, schema, tables) + 1;
  if (exp === -1022) {
    f64[0] = magnitude * TWO_64;
    hi = u32[HI]!;
    exp = (hi >>> 20) - 1022 - 64;
  }
  const high = hi & 0xfffff;
  const low = u32[LO]!;
  if (schema > 0) {
    let j = tables.slots[high >>> tables.shift]!;
    if (
      j < tables.perOctave &&
      (tables.high[j]! < high || (tables.high[j] === high && tables.low[j]! < low))
    ) {
      j++;
    }
    return j + (exp - 1) * tables.perOctave;
  }
  // A power of two (fraction exactly 0.5) is the upper bound of the bucket below.
  const key = high === 0 && low === 0 ? exp - 1 : exp;
  return (key + (1 << -schema) - 1) >> -schema;
}

/** The index at schema − d of the bucket that bucket `index` merges into: ceil(index / 2^d). */
export function reduceIndex(index: number, d: number): number {
  return Math.ceil(index / 2 ** d) + 0; // + 0: no −0 from ceil
}

/** Upper bound of bucket `index` at `schema` (Prometheus' getBound, without its ±MaxFloat ends). */
export function upperBound(index: number, schema: number): number {
  if (schema <= 0) return 2 ** (index * 2 ** -schema);
  const n = 1 << schema;
  const octave = Math.floor(index / n);
  return fractions(schema)[index - octave * n]! * 2 ** (octave + 1);
}

/**
 * True when bucket `index` at `schema` lies wholly inside the zero bucket [−zt, zt]: its upper
 * bound is ≤ zt. Compared as (exponent, fraction) pairs, so it is exact without computing the
 * bound. The Lua merge (lua.ts) makes the same comparison.
 */
export function insideZero(index: number, schema: number, zeroThreshold: number): boolean {
  if (!(zeroThreshold > 0)) return false;
  const [zf, ze] = frexp(zeroThreshold);
  if (schema <= 0) return index * 2 ** -schema <= ze - 1;
  const n = 1 << schema;
  const octave = Math.floor(index / n);
  return octave + 1 < ze || (octave + 1 === ze && fractions(schema)[index - octave * n]! <= zf);
}

/**
 * client_golang's pickSchema: the coarsest schema whose growth factor between boundaries is at
 * most `factor` (NativeHistogramBucketFactor), clamped to −4..8.
 */
export function schemaOfFactor(factor: number): number {
  const floor = Math.floor(Math.log2(Math.log2(factor)));
  return Math.min(MAX_SCHEMA, Math.max(MIN_SCHEMA, -floor)) + 0;
}
