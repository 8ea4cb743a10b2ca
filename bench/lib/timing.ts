// Timing helpers the benchmarks share: wall-clock ms of repeated calls after a warm-up, and the
// median the tables print.

/** The middle value (the upper one of an even count). */
export const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Ms of each of `n` calls of `fn`, after a warm-up of at least 3 calls and `warmMs` (so the first
 * configuration measured is not the JIT's).
 */
export async function timeRuns(n: number, fn: () => unknown, warmMs = 300): Promise<number[]> {
  const warmUntil = performance.now() + warmMs;
  for (let i = 0; i < 3 || performance.now() < warmUntil; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times;
}
