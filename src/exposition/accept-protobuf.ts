import { negotiateContentType } from "./content-type.ts";
import { PROTOBUF_CONTENT_TYPE } from "./protobuf.ts";

/**
 * True when the scraper prefers the protobuf format: it lists
 * application/vnd.google.protobuf with proto=io.prometheus.client.MetricFamily and
 * encoding=delimited at a q no lower than any text or OpenMetrics range. A Prometheus with
 * native histograms on lists it first.
 */
export function prefersProtobuf(accept?: string | null): boolean {
  if (!accept) return false;
  let protobuf = 0;
  let text = 0;
  for (const range of accept.split(",")) {
    const [type = "", ...params] = range.split(";").map((s) => s.trim().toLowerCase());
    const param: Record<string, string> = {};
    for (const p of params) {
      const cut = p.indexOf("=");
      if (cut > 0)
        param[p.slice(0, cut).trim()] = p
          .slice(cut + 1)
          .trim()
          .replace(/^"|"$/g, "");
    }
    const q = param.q === undefined ? 1 : Number(param.q);
    if (!(q > 0)) continue;
    if (type === "application/vnd.google.protobuf") {
      if (param.proto === "io.prometheus.client.metricfamily" && param.encoding === "delimited") {
        protobuf = Math.max(protobuf, q);
      }
    } else if (/^(application\/openmetrics-text|text\/plain|text\/\*|\*\/\*)$/.test(type)) {
      text = Math.max(text, q);
    }
  }
  return protobuf > 0 && protobuf >= text;
}

/** The scrape's content type: protobuf when preferred, else text 0.0.4 or OpenMetrics. */
export function negotiateScrapeFormat(accept?: string | null): string {
  return prefersProtobuf(accept) ? PROTOBUF_CONTENT_TYPE : negotiateContentType(accept);
}
