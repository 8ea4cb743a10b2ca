// One remote write request through the network, per the spec's retry rules: 5xx, 429, network
// errors and timeouts are retried with exponential backoff (and a 429's Retry-After) while the
// push's deadline allows; any other 4xx is final and reported with the receiver's message.

export interface Destination {
  url: string;
  headers: Record<string, string>;
  /** Time limit of one attempt (ms). */
  timeoutMs: number;
  /** When the push gives up retrying (Date.now() ms). */
  deadline: number;
  fetch: typeof fetch;
}

export type SendOutcome =
  | { ok: true; retries: number }
  | { ok: false; retries: number; status: number | undefined; message: string };

const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5_000;
/** What of a receiver's error body goes into the report. */
const MAX_MESSAGE_CHARS = 512;

export async function send(body: Uint8Array<ArrayBuffer>, to: Destination): Promise<SendOutcome> {
  for (let attempt = 0; ; attempt++) {
    const left = to.deadline - Date.now();
    const limit = Math.max(1, Math.min(to.timeoutMs, left));
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), limit);
    let status: number | undefined;
    let message: string;
    let retryAfterMs: number | undefined;
    try {
      const res = await to.fetch(to.url, {
        method: "POST",
        headers: to.headers,
        body,
        signal: controller.signal,
      });
      const text = await res.text();
      if (res.ok) return { ok: true, retries: attempt };
      status = res.status;
      message = `${res.status} ${res.statusText}${text ? `: ${text.trim().slice(0, MAX_MESSAGE_CHARS)}` : ""}`;
      if (status !== 429 && status < 500) return { ok: false, retries: attempt, status, message };
      retryAfterMs = status === 429 ? parseRetryAfter(res.headers.get("retry-after")) : undefined;
    } catch (error) {
      message = controller.signal.aborted
        ? `no answer within ${Math.round(limit)} ms`
        : `request failed: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      clearTimeout(timer);
    }
    const backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** attempt);
    // Full jitter on the upper half, so pushers that failed together do not retry together.
    const wait = retryAfterMs ?? backoff * (0.5 + Math.random() / 2);
    if (Date.now() + wait >= to.deadline) {
      const why = retryAfterMs !== undefined ? ` (Retry-After ${retryAfterMs} ms)` : "";
      return {
        ok: false,
        retries: attempt,
        status,
        message: `${message}; gave up after ${attempt + 1} attempts, at the push's deadline${why}`,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** Retry-After in seconds or as an HTTP date, in ms from now; undefined when absent or invalid. */
function parseRetryAfter(header: string | null): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
