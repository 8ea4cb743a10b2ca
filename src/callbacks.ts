// A user's callback (onError above all) must never be the reason a flush rejects, a request or
// a scrape fails, or a process ends. Every callback the library calls on its own goes through
// `isolated`: a throw, or a rejection of the promise it returns, is swallowed and counted.

export function isolated<A extends unknown[]>(
  callback: (...args: A) => unknown,
  onThrow: () => void,
): (...args: A) => void {
  return (...args) => {
    try {
      const result = callback(...args);
      if (typeof (result as Promise<unknown> | undefined)?.then === "function") {
        (result as Promise<unknown>).then(undefined, onThrow);
      }
    } catch {
      onThrow();
    }
  };
}
