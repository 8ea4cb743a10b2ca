// What a caller saw from one call: its value, or the error reduced to the facts that matter
// (class name, message, the network error code underneath a fetch failure), and how long it took.
export interface Observation {
  ok: boolean;
  value?: unknown;
  error?: { name: string; message: string; causeCode?: string };
  ms: number;
}

export function describeError(err: unknown): NonNullable<Observation["error"]> {
  if (!(err instanceof Error)) return { name: typeof err, message: String(err) };
  const cause = (err as { cause?: { code?: unknown } }).cause;
  const causeCode = typeof cause?.code === "string" ? cause.code : undefined;
  return causeCode === undefined
    ? { name: err.name, message: err.message }
    : { name: err.name, message: err.message, causeCode };
}

export async function observe(call: () => Promise<unknown>): Promise<Observation> {
  const start = performance.now();
  try {
    const value = await call();
    return { ok: true, value, ms: Math.round(performance.now() - start) };
  } catch (err) {
    return { ok: false, error: describeError(err), ms: Math.round(performance.now() - start) };
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
