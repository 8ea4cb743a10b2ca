// The scrape endpoint every adapter shares, in web-standard APIs only: optional bearer-token
// auth, content negotiation (OpenMetrics when the scraper asks for it), and a 503 that says
// Redis could not be read instead of an unhandled error. A token option that yields nothing (a
// secret that is not set) fails closed: 500, never the values.
import { isolated } from "../callbacks.ts";
import { reportOnce } from "../errors.ts";
import { negotiateScrapeFormat } from "../exposition/accept-protobuf.ts";
import { PROTOBUF_CONTENT_TYPE } from "../exposition/protobuf.ts";
import type { Registry } from "../registry.ts";

export interface MetricsEndpointOptions {
  /**
   * Scrapes must send `Authorization: Bearer <token>`. Without this option (or with `null`)
   * /metrics is open. Given but empty — `undefined` or `""`, e.g. `process.env.METRICS_TOKEN`
   * with the secret not set — every scrape answers 500 and `onError` is told: a missing secret
   * never opens the endpoint.
   */
  token?: string | null | undefined;
  /** Told why a scrape failed (the response only says "unavailable"). Default: console.error. */
  onError?: (error: unknown) => void;
}

/** Answers a scrape request from the registry's global values. */
export async function metricsResponse(
  registry: Registry,
  request: Request,
  options: MetricsEndpointOptions = {},
): Promise<Response> {
  const report = isolated(options.onError ?? reportOnce, () => registry.countCallbackError());
  if ("token" in options && options.token !== null) {
    if (typeof options.token !== "string" || options.token === "") {
      report(new Error(MISSING_TOKEN));
      return misconfigured();
    }
    if (!(await bearerTokenMatches(request.headers.get("authorization"), options.token))) {
      return new Response("Unauthorized\n", {
        status: 401,
        headers: {
          "Content-Type": "text/plain; charset=utf-8",
          "WWW-Authenticate": 'Bearer realm="metrics"',
        },
      });
    }
  }
  const contentType = negotiateScrapeFormat(request.headers.get("accept"));
  try {
    const body =
      contentType === PROTOBUF_CONTENT_TYPE
        ? await registry.metricsProtobuf()
        : await registry.metrics(contentType);
    return new Response(body, {
      status: 200,
      headers: { "Content-Type": contentType, "Cache-Control": "no-store" },
    });
  } catch (error) {
    report(error);
    return new Response("Metrics unavailable: the metrics store could not be read.\n", {
      status: 503,
      headers: {
        "Content-Type": "text/plain; charset=utf-8",
        "Cache-Control": "no-store",
        "Retry-After": "5",
      },
    });
  }
}

const MISSING_TOKEN =
  "prometheus-upstash: /metrics has a token option that yields no token (a secret not set?); " +
  "refusing every scrape until it does (pass no token option, or null, for an open endpoint)";

/** The answer when the endpoint's own configuration is broken: the values are never served. */
export function misconfigured(): Response {
  return new Response(
    "Metrics endpoint misconfigured (see the server's error log); no values are served.\n",
    {
      status: 500,
      headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" },
    },
  );
}

/**
 * True when `authorization` is `Bearer <token>`. Both sides are hashed first and the digests
 * compared in full, so the time taken says nothing about the token (not even its length).
 */
export async function bearerTokenMatches(
  authorization: string | null | undefined,
  token: string,
): Promise<boolean> {
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  const presented = match?.[1] ?? "";
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(presented)),
    crypto.subtle.digest("SHA-256", encoder.encode(token)),
  ]);
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  let diff = match === null ? 1 : 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}
