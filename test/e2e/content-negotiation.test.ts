// A real Prometheus (Debian's 2.42) scrapes the library's /metrics endpoint (metricsResponse,
// which every adapter serves): the Accept header it sends is the one the negotiation tests use
// (test/core/content-negotiation.test.ts), the answer is OpenMetrics, and Prometheus ingests it.
import { execFileSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricsResponse } from "../../src/adapters/metrics-endpoint.ts";
import { Counter, OPENMETRICS_CONTENT_TYPE, Registry } from "../../src/index.ts";
import { PROMETHEUS_2_ACCEPT } from "../helpers/scrapers.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";
import { type PrometheusServer, prometheusBinary, startPrometheus } from "./prometheus-server.ts";

const seen: { accept: string | undefined; contentType: string | null }[] = [];
let server: Server | undefined;
let prom: PrometheusServer | undefined;

beforeAll(async () => {
  const registry = new Registry({ redis: newClient(), prefix: uniquePrefix("negotiation-e2e") });
  new Counter({ name: "negotiated_total", help: "Negotiated", registers: [registry] }).inc(5);
  await registry.flush();
  server = createServer((req, res) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === "string") headers.set(name, value);
    }
    void metricsResponse(registry, new Request(`http://x${req.url}`, { headers })).then(
      async (answer) => {
        seen.push({ accept: req.headers.accept, contentType: answer.headers.get("content-type") });
        res.writeHead(answer.status, Object.fromEntries(answer.headers));
        res.end(await answer.text());
      },
    );
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  prom = await startPrometheus({ targets: [`127.0.0.1:${port}`], scrapeInterval: "1s" });
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await new Promise((resolve) => server?.close(resolve));
});

describe("content negotiation with a real Prometheus", () => {
  it("Prometheus 2.42 asks as the tests assume, gets OpenMetrics, and ingests it", async () => {
    const version = execFileSync(prometheusBinary()!, ["--version"], { encoding: "utf8" });
    expect(version).toMatch(/^prometheus, version 2\./);
    let value: string | undefined;
    const deadline = Date.now() + 20_000;
    while (value === undefined && Date.now() < deadline) {
      const [sample] = await prom!.query('negotiated_total{job="worker"}');
      value = sample?.value[1];
      if (value === undefined) await new Promise((r) => setTimeout(r, 250));
    }
    expect(value).toBe("5");
    const [target] = await prom!.targets();
    expect(target).toMatchObject({ health: "up", lastError: "" });
    expect(seen[0]).toEqual({ accept: PROMETHEUS_2_ACCEPT, contentType: OPENMETRICS_CONTENT_TYPE });
  }, 30_000);
});
