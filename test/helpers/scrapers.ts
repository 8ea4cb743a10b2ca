// What real Prometheus servers send as Accept, and how Prometheus 3 reads the Content-Type of
// the answer (a scrape fails when it cannot). Prometheus 2 picks a parser leniently (anything
// not OpenMetrics is read as text), so a Content-Type only Prometheus 3 refuses would go
// unnoticed by the Prometheus 2.42 this machine runs.

/** Prometheus 2.x before scrape_protocols (2.49), e.g. Debian's 2.42 (test/e2e checks it). */
export const PROMETHEUS_2_ACCEPT =
  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75," +
  "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/** Prometheus 3's default scrape protocols (docs/design.md §3). */
export const PROMETHEUS_3_ACCEPT =
  "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5," +
  "application/openmetrics-text;version=0.0.1;q=0.4," +
  "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";

/** Prometheus 3 with native histograms on: protobuf first, which we do not serve. */
export const PROMETHEUS_3_PROTO_FIRST_ACCEPT =
  "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;" +
  `q=0.6,${PROMETHEUS_3_ACCEPT}`;

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const VALUE = `(?:${TOKEN}|"(?:[^"\\\\]|\\\\.)*")`;
const MEDIA_TYPE = new RegExp(
  `^\\s*(${TOKEN}/${TOKEN})((?:\\s*;\\s*${TOKEN}\\s*=\\s*${VALUE})*)\\s*;?\\s*$`,
);
const PARAM = new RegExp(`;\\s*(${TOKEN})\\s*=`, "g");

/**
 * The parser Prometheus 3 would pick for a scrape's Content-Type, following its
 * model/textparse: Go's mime.ParseMediaType (RFC 2045 tokens, `; name=value` parameters, no
 * duplicate names), then one of the three media types it has parsers for. Throws the error
 * that would fail the scrape (no fallback_scrape_protocol configured, the default).
 */
export function prometheus3MediaType(contentType: string | null | undefined): string {
  if (!contentType) throw new Error("non-compliant scrape target sending blank Content-Type");
  const match = MEDIA_TYPE.exec(contentType);
  if (!match) throw new Error(`cannot parse Content-Type ${JSON.stringify(contentType)}`);
  const names = [...match[2]!.matchAll(PARAM)].map((m) => m[1]!.toLowerCase());
  if (new Set(names).size !== names.length) {
    throw new Error(`duplicate parameter in Content-Type ${JSON.stringify(contentType)}`);
  }
  const mediaType = match[1]!.toLowerCase();
  if (
    !["application/openmetrics-text", "application/vnd.google.protobuf", "text/plain"].includes(
      mediaType,
    )
  ) {
    throw new Error(`received unsupported Content-Type ${JSON.stringify(contentType)}`);
  }
  return mediaType;
}
