// Content negotiation against the Accept headers real Prometheus servers send. Prometheus 3
// fails a scrape whose Content-Type is blank, unparsable or of a type it has no parser for, so
// every answer is also read the way Prometheus 3 reads it (test/helpers/scrapers.ts). Debian's
// Prometheus 2.42 really scrapes the endpoint in test/e2e/content-negotiation.test.ts;
// Prometheus 3 is checked here by its headers and parsing rules only (not installable here).
import { describe, expect, it } from "vitest";
import { metricsResponse } from "../../src/adapters/metrics-endpoint.ts";
import { PROTOBUF_CONTENT_TYPE } from "../../src/exposition/protobuf.ts";
import {
  Counter,
  negotiateContentType,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  Registry,
} from "../../src/index.ts";
import { parseChecked, sampleValue } from "../helpers/exposition.ts";
import {
  PROMETHEUS_2_ACCEPT,
  PROMETHEUS_3_ACCEPT,
  PROMETHEUS_3_PROTO_FIRST_ACCEPT,
  prometheus3MediaType,
} from "../helpers/scrapers.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

/** [scraper, its Accept header, negotiateContentType's text format, what /metrics answers] */
const SCRAPERS: [string, string, string, string][] = [
  [
    "Prometheus 3 (default scrape protocols)",
    PROMETHEUS_3_ACCEPT,
    OPENMETRICS_CONTENT_TYPE,
    OPENMETRICS_CONTENT_TYPE,
  ],
  [
    "Prometheus 3 (native histograms: protobuf first)",
    PROMETHEUS_3_PROTO_FIRST_ACCEPT,
    OPENMETRICS_CONTENT_TYPE,
    PROTOBUF_CONTENT_TYPE,
  ],
  [
    "Prometheus 3 (scrape_protocols: PrometheusText1.0.0 first)",
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.4,*/*;q=0.1",
    PROMETHEUS_CONTENT_TYPE,
    PROMETHEUS_CONTENT_TYPE,
  ],
  [
    "Prometheus 3 (scrape_protocols: [PrometheusProto] only)",
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,*/*;q=0.1",
    PROMETHEUS_CONTENT_TYPE,
    PROTOBUF_CONTENT_TYPE,
  ],
  ["Prometheus 2", PROMETHEUS_2_ACCEPT, OPENMETRICS_CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE],
  ["curl", "*/*", PROMETHEUS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE],
  ["no Accept header", "", PROMETHEUS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE],
];

describe("content negotiation with real scrapers' Accept headers", () => {
  for (const [scraper, accept, text, expected] of SCRAPERS) {
    it(`${scraper}: answers a Content-Type Prometheus 3 parses`, async () => {
      expect(negotiateContentType(accept)).toBe(text);
      const registry = new Registry({ redis: newClient(), prefix: uniquePrefix("negotiate") });
      new Counter({ name: "scrapes_total", help: "Scrapes", registers: [registry] }).inc(2);
      await registry.flush();
      const res = await metricsResponse(
        registry,
        new Request("http://x/metrics", { headers: accept ? { Accept: accept } : {} }),
      );
      const contentType = res.headers.get("content-type");
      expect(contentType).toBe(expected);
      const mediaType = prometheus3MediaType(contentType);
      expect(mediaType).toBe(expected.split(";")[0]);
      // The body is in the format the header names (the protobuf one: test/exposition).
      if (expected === PROTOBUF_CONTENT_TYPE) {
        expect(new TextDecoder().decode(await res.arrayBuffer())).toContain("scrapes_total");
        return;
      }
      const body = await res.text();
      expect(body.endsWith("# EOF\n")).toBe(mediaType === "application/openmetrics-text");
      expect(sampleValue(parseChecked(body), "scrapes_total")).toBe(2);
    });
  }

  it("reads Content-Types as Prometheus 3 does", () => {
    expect(prometheus3MediaType("Text/Plain; version=0.0.4; charset=utf-8")).toBe("text/plain");
    expect(prometheus3MediaType('application/openmetrics-text; version="1.0.0"')).toBe(
      "application/openmetrics-text",
    );
    for (const refused of [
      null,
      "",
      "text/plain;;version=0.0.4",
      "text/plain; charset=utf-8; charset=utf-8",
      "text/plain; version",
      "application/json",
      "text/html; charset=utf-8",
    ]) {
      expect(() => prometheus3MediaType(refused), String(refused)).toThrow();
    }
  });
});
