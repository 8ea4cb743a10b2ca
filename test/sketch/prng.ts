// Seeded samplers for the sketch tests: mulberry32 for uniforms, Box–Muller for normals.
import { mulberry32 } from "../../tools/prng.ts";

export { mulberry32 };

/** Standard normal variates by Box–Muller (one per call; the second of each pair is dropped). */
export function normal(uniform: () => number): () => number {
  return () => {
    const u1 = 1 - uniform(); // (0, 1]: log(0) never happens
    const u2 = uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  };
}

/** Lognormal(mu, sigma): exp of a normal. Latency-like: a body and a long right tail. */
export function lognormal(seed: number, mu: number, sigma: number): () => number {
  const z = normal(mulberry32(seed));
  return () => Math.exp(mu + sigma * z());
}

/** Pareto(scale, shape) by inversion: heavy right tail (infinite variance for shape ≤ 2). */
export function pareto(seed: number, scale: number, shape: number): () => number {
  const uniform = mulberry32(seed);
  return () => scale / (1 - uniform()) ** (1 / shape);
}

/** Element of rank ⌊q·(n−1)⌋ of ascending `sorted`: the quantile DDSketch's guarantee is about. */
export function exactQuantile(sorted: ArrayLike<number>, q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

/** |estimate − exact| / |exact|; 0 when both are 0. */
export function relativeError(estimate: number, exact: number): number {
  if (exact === 0) return estimate === 0 ? 0 : Number.POSITIVE_INFINITY;
  return Math.abs(estimate - exact) / Math.abs(exact);
}
