// End to end: the example Worker under `wrangler dev`, against its own local Upstash stack, is
// scraped by a real Prometheus server every second; a PromQL query over Prometheus' HTTP API
// must return exactly the number of requests this test drove. Everything is started and
// stopped here.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type WranglerDev } from "../../scripts/wrangler-dev.ts";
import { freePort } from "../../tools/local-upstash/redis-server.ts";
import { type LocalStack, startLocalStack } from "../../tools/local-upstash/stack.ts";
import { dashboardLatencyQueries } from "./dashboard-queries.ts";
import { eventually, type PrometheusServer, startPrometheus } from "./prometheus-server.ts";

const REQUESTS = 40;
const METRICS_TOKEN = "e2e-scrape-token";

let stack: LocalStack | undefined;
let worker: WranglerDev | undefined;
let prom: PrometheusServer | undefined;

beforeAll(async () => {
  stack = await startLocalStack();
  worker = await startWranglerDev({
    port: await freePort(),
    inspectorPort: await freePort(),
    vars: {
      UPSTASH_REDIS_REST_URL: stack.url,
      UPSTASH_REDIS_REST_TOKEN: stack.token,
      METRICS_TOKEN,
    },
  });
  prom = await startPrometheus({
    targets: [new URL(worker.url).host],
    scrapeInterval: "1s",
    bearerToken: METRICS_TOKEN,
  });
}, 90_000);

afterAll(async () => {
  await prom?.stop();
  await worker?.stop();
  await stack?.stop();
}, 30_000);

describe("example Worker scraped by a real Prometheus", () => {
  it("reports, through PromQL, exactly the requests driven", async () => {
    const base = worker!.url;
    // Spread over routes, ids and a few at a time, like real traffic hitting one isolate.
    const statuses: number[] = [];
    for (let i = 0; i < REQUESTS; i += 4) {
      const batch = Array.from({ length: 4 }, (_, j) => fetch(`${base}/users/${i + j + 1}`));
      for (const res of await Promise.all(batch)) {
        statuses.push(res.status);
        await res.arrayBuffer();
      }
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(REQUESTS);
    const failing = await fetch(`${base}/error`);
    expect(failing.status).toBe(500);

    const count = async () => {
      const result = await prom!.query(
        'sum(http_requests_total{job="worker",route="/users/:id",status="200"})',
      );
      return result.length === 0 ? -1 : Number(result[0]!.value[1]);
    };
    expect(await eventually(count, REQUESTS, 20_000)).toBe(REQUESTS);

    const histogramCount = async () => {
      const r = await prom!.query(
        'sum(http_request_duration_seconds_count{job="worker",route="/users/:id"})',
      );
      return r.length === 0 ? -1 : Number(r[0]!.value[1]);
    };
    expect(await eventually(histogramCount, REQUESTS, 5_000)).toBe(REQUESTS);
    // The error came last: it may ride on the next write, one flush interval (5 s) later.
    const errors = async () => {
      const r = await prom!.query('sum(http_requests_total{job="worker",status="500"})');
      return r.length === 0 ? -1 : Number(r[0]!.value[1]);
    };
    expect(await eventually(errors, 1, 15_000)).toBe(1);

    // Without native histograms Prometheus keeps the classic buckets, and the dashboard's latency
    // panels read those (the right side of their `… or …`).
    expect(await prom!.query("http_request_duration_seconds")).toEqual([]);
    for (const { title, promql } of dashboardLatencyQueries()) {
      // rate() needs two samples of the series in its window: a scrape or two more.
      const series = () => prom!.query(promql).then((r) => r.length > 0);
      expect(await eventually(series, true, 5_000), `${title}: ${promql}`).toBe(true);
    }

    // Prometheus scraped with the bearer token, in the format it negotiated, without errors.
    const [target] = await prom!.targets();
    expect(target).toMatchObject({ health: "up", lastError: "" });
  }, 60_000);

  it("refuses a scrape without the token", async () => {
    const res = await fetch(`${worker!.url}/metrics`);
    expect(res.status).toBe(401);
  });
});
