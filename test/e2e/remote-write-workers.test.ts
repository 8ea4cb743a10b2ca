// End to end, push instead of scrape: Debian's Prometheus 2.42 with
// --web.enable-remote-write-receiver and --enable-feature=native-histograms scrapes nothing;
// two `wrangler dev` instances of the example Worker (two workerd isolates writing into one
// local Upstash server) serve the requests this test drives, and each one's scheduled()
// handler — the Cron Trigger's, run through wrangler's `/__scheduled` route
// (`--test-scheduled`) — pushes the global values to that Prometheus: instance A as native
// histograms (job "push-native"), instance B as classic ones (job "push-classic").
//
// PromQL over the pushed series must count exactly the requests driven at both instances
// (http_requests_total, histogram_count of the native histogram, the classic _count), the
// summary's quantiles must equal a text scrape of the same data, and two pushes a minute apart
// must give the rate() a scrape at those two instants would: the window's edges are the two
// pushes' timestamps (2.42's range selectors include both), so increase() is exactly the
// difference of the two pushed values and rate() that over the window. Every counted route is
// requested before the first push, so no series is born inside the window.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type WranglerDev } from "../../scripts/wrangler-dev.ts";
import { freePort } from "../../tools/local-upstash/redis-server.ts";
import { type LocalStack, startLocalStack } from "../../tools/local-upstash/stack.ts";
import { parseExposition } from "../helpers/exposition.ts";
import { eventually, type PrometheusServer, startPrometheus } from "./prometheus-server.ts";

/** Least time between the two pushes (the Cron Trigger's minute). */
const PUSH_GAP_MS = Number(process.env.E2E_PUSH_GAP_MS ?? 60_000);
const WARM = { users: 2, slow: 2, orders: 2 };
const LOAD = { users: [9, 6] as const, slow: 8, orders: [3, 4] as const };
const PAYLOADS = ['{"items":1}', '{"items":12}', '{"items":3}', '{"items":40}'];
const COUNTED = 'route!="/metrics"';
const QUANTILES = ["0.5", "0.9", "0.99"];

let stack: LocalStack | undefined;
let workers: WranglerDev[] = [];
let prom: PrometheusServer | undefined;

beforeAll(async () => {
  stack = await startLocalStack();
  prom = await startPrometheus({
    targets: [],
    flags: ["--web.enable-remote-write-receiver", "--enable-feature=native-histograms"],
  });
  const common = {
    UPSTASH_REDIS_REST_URL: stack.url,
    UPSTASH_REDIS_REST_TOKEN: stack.token,
    REMOTE_WRITE_URL: `${prom.url}/api/v1/write`,
  };
  const vars = [
    { ...common, REMOTE_WRITE_JOB: "push-native", REMOTE_WRITE_NATIVE: "true" },
    { ...common, REMOTE_WRITE_JOB: "push-classic" },
  ];
  const started = await Promise.allSettled(
    vars.map(async (v) =>
      startWranglerDev({
        port: await freePort(),
        inspectorPort: await freePort(),
        vars: v,
        testScheduled: true,
      }),
    ),
  );
  workers = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}, 90_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await prom?.stop();
  await stack?.stop();
}, 30_000);

/** The stored samples of a range selector (`metric{…}[10m]`), timestamps in seconds. */
async function rawSamples(
  selector: string,
): Promise<{ metric: Record<string, string>; values?: [number, string][] }[]> {
  const res = await fetch(`${prom!.url}/api/v1/query?query=${encodeURIComponent(selector)}`);
  const body = (await res.json()) as {
    data: { result: { metric: Record<string, string>; values?: [number, string][] }[] };
  };
  return body.data.result;
}

async function get(url: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  await res.clone().arrayBuffer();
  return res;
}

describe("remote write from the example Worker's scheduled handler into Prometheus 2.42", () => {
  it(
    "pushes exactly the requests driven, the scrape's quantiles, and the rate() a scrape would give",
    async () => {
      const [a, b] = workers as [WranglerDev, WranglerDev];
      const single = async (promql: string, time?: string) => {
        const r = await prom!.query(promql, time);
        return r.length === 0 ? Number.NaN : Number(r[0]!.value[1]);
      };
      /** What a text scrape of the Worker shows: requests counted, and the whole exposition. */
      const scrape = async () => {
        const text = await (await get(`${b.url}/metrics`)).text();
        const families = parseExposition(text);
        const requests = families.find((f) => f.name === "http_requests_total")!;
        const counted = requests.samples
          .filter((s) => s.labels.route !== "/metrics")
          .reduce((n, s) => n + s.value, 0);
        return { counted, families };
      };
      const counted = async () => (await scrape()).counted;
      const push = async () => {
        for (const w of [a, b]) {
          const res = await get(`${w.url}/__scheduled?cron=*+*+*+*+*`);
          expect(res.status).toBe(200);
        }
      };
      /** Timestamps (s) of the samples pushed for a job so far. */
      const pushTimes = async (job: string) => {
        const r = await prom!.query(`max(timestamp(http_requests_total{job="${job}"}))`);
        return r.length === 0 ? undefined : Number(r[0]!.value[1]);
      };

      // Warm-up: every route counted below, at both instances, then everything written.
      for (const w of [a, b]) {
        expect((await get(`${w.url}/users/1`)).status).toBe(200);
        expect((await get(`${w.url}/slow?ms=0`)).status).toBe(200);
        const order = await get(`${w.url}/orders`, { method: "POST", body: PAYLOADS[0] });
        expect(order.status).toBe(201);
      }
      const warm = WARM.users + WARM.slow + WARM.orders;
      expect(await eventually(counted, warm, 20_000)).toBe(warm);

      // First push (cron tick 1).
      await push();
      const firstPush = await eventually(
        async () =>
          ((await pushTimes("push-native")) ?? 0) > 0 &&
          ((await pushTimes("push-classic")) ?? 0) > 0,
        true,
        20_000,
      );
      expect(firstPush).toBe(true);
      const pushedAt = Date.now();
      for (const job of ["push-native", "push-classic"]) {
        expect(await single(`sum(http_requests_total{job="${job}",${COUNTED}})`)).toBe(warm);
      }

      // The load, at both instances.
      const load: Promise<void>[] = [];
      const ok = (status: number) => (res: Response) => expect(res.status).toBe(status);
      for (const [k, n] of LOAD.users.entries()) {
        for (let i = 0; i < n; i++)
          load.push(get(`${workers[k]!.url}/users/${i + 2}`).then(ok(200)));
      }
      for (let i = 0; i < LOAD.slow; i++) {
        load.push(get(`${workers[i % 2]!.url}/slow?ms=${20 * i}`).then(ok(200)));
      }
      for (const [k, n] of LOAD.orders.entries()) {
        for (let i = 0; i < n; i++) {
          const body = PAYLOADS[(i + k) % PAYLOADS.length];
          load.push(get(`${workers[k]!.url}/orders`, { method: "POST", body }).then(ok(201)));
        }
      }
      await Promise.all(load);
      const driven = LOAD.users[0] + LOAD.users[1] + LOAD.slow + LOAD.orders[0] + LOAD.orders[1];
      const total = warm + driven;
      expect(await eventually(counted, total, 20_000)).toBe(total);
      const scraped = (await scrape()).families;

      // Second push, a cron minute after the first.
      await new Promise((r) => setTimeout(r, Math.max(0, pushedAt + PUSH_GAP_MS - Date.now())));
      const before = await pushTimes("push-classic");
      await push();
      for (const job of ["push-native", "push-classic"]) {
        const at = await eventually(
          async () => ((await pushTimes(job)) ?? 0) > before! + PUSH_GAP_MS / 1000 - 5,
          true,
          20_000,
        );
        expect(at, job).toBe(true);
      }

      // Counters: every request driven at both instances, in both pushes' series.
      for (const job of ["push-native", "push-classic"]) {
        expect(await single(`sum(http_requests_total{job="${job}",${COUNTED}})`), job).toBe(total);
        expect(await single(`sum(example_orders_total{job="${job}"})`), job).toBe(
          WARM.orders + LOAD.orders[0] + LOAD.orders[1],
        );
      }
      // The native histogram counts them; the classic one's _count too; each job has one kind.
      expect(
        await single(
          `sum(histogram_count(http_request_duration_seconds{job="push-native",${COUNTED}}))`,
        ),
      ).toBe(total);
      expect(
        await single(`sum(http_request_duration_seconds_count{job="push-classic",${COUNTED}})`),
      ).toBe(total);
      expect(await prom!.query('http_request_duration_seconds_count{job="push-native"}')).toEqual(
        [],
      );
      expect(
        await prom!.queryHistograms('http_request_duration_seconds{job="push-classic"}'),
      ).toEqual([]);
      // Labels: job and instance as the push set them, the series' own ones untouched.
      const [series] = await prom!.query(
        'http_requests_total{job="push-classic",route="/users/:id",instance="global"}',
      );
      expect(series?.metric).toMatchObject({ method: "GET", status: "200", ok: "true" });

      // The summary's quantiles (and _sum, _count) equal a text scrape of the same data.
      const payload = scraped.find((f) => f.name === "example_request_payload_bytes")!;
      const scrapedValue = (name: string, quantile?: string) =>
        payload.samples.find(
          (s) => s.name === name && (quantile === undefined || s.labels.quantile === quantile),
        )!.value;
      for (const job of ["push-native", "push-classic"]) {
        for (const q of QUANTILES) {
          expect(
            await single(`example_request_payload_bytes{job="${job}",quantile="${q}"}`),
            `${job} q=${q}`,
          ).toBe(scrapedValue("example_request_payload_bytes", q));
        }
        for (const suffix of ["_sum", "_count"]) {
          expect(await single(`example_request_payload_bytes${suffix}{job="${job}"}`)).toBe(
            scrapedValue(`example_request_payload_bytes${suffix}`),
          );
        }
      }

      // rate() and increase() between the two pushes: what a scrape at those instants gives.
      for (const job of ["push-native", "push-classic"]) {
        const [orders] = await rawSamples(`http_requests_total{job="${job}",route="/orders"}[10m]`);
        const times = orders!.values!.map(([t]) => t);
        expect(times, `${job}: one sample per push`).toHaveLength(2);
        const [t1, t2] = times as [number, number];
        const windowMs = Math.round((t2 - t1) * 1000);
        expect(windowMs).toBeGreaterThanOrEqual(PUSH_GAP_MS);
        const range = `[${windowMs}ms]`;
        const at = t2.toFixed(3);
        const selector = `http_requests_total{job="${job}",${COUNTED}}${range}`;
        expect(await single(`sum(increase(${selector}))`, at), job).toBe(driven);
        const rate = await single(`sum(rate(${selector}))`, at);
        expect(rate * (windowMs / 1000), job).toBeCloseTo(driven, 9);
        if (job === "push-native") {
          const native = `http_request_duration_seconds{job="${job}",${COUNTED}}${range}`;
          expect(await single(`sum(histogram_count(increase(${native})))`, at)).toBe(driven);
        }
      }
    },
    PUSH_GAP_MS + 120_000,
  );
});
