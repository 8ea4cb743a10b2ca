// A time limit on a request we cannot cancel: the user's Redis client may have no `signal`, so
// the request is raced against a timer. It may still complete after we gave up — which is why
// a batch sent again keeps its sequence number.

import { noAnswer, PrometheusUpstashError } from "../errors.ts";

export class RedisTimeoutError extends PrometheusUpstashError {
  constructor(what: string, ms: number) {
    super("unreachable", noAnswer(what, ms));
    this.name = "RedisTimeoutError";
  }
}

export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisTimeoutError(what, ms)), ms);
  });
  // A request that fails after the timer fired must not become an unhandled rejection.
  work.catch(() => {});
  return Promise.race([work, timeout]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
