export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8" as const;
export const OPENMETRICS_CONTENT_TYPE =
  "application/openmetrics-text; version=1.0.0; charset=utf-8" as const;

/**
 * Picks the exposition format for a scrape's Accept header: OpenMetrics when the scraper
 * prefers it (Prometheus asks for it first), the text format otherwise.
 */
export function negotiateContentType(accept?: string | null): string {
  if (!accept) return PROMETHEUS_CONTENT_TYPE;
  let openMetrics = -1;
  let text = -1;
  for (const range of accept.split(",")) {
    const [type = "", ...params] = range.split(";").map((s) => s.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith("q="));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!(q > 0)) continue;
    if (type === "application/openmetrics-text") openMetrics = Math.max(openMetrics, q);
    else if (type === "text/plain" || type === "*/*" || type === "text/*") text = Math.max(text, q);
  }
  return openMetrics >= 0 && openMetrics >= text
    ? OPENMETRICS_CONTENT_TYPE
    : PROMETHEUS_CONTENT_TYPE;
}
