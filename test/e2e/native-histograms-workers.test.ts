// End to end, native histograms across isolates: Debian's Prometheus 2.42 with
// --enable-feature=native-histograms scrapes two `wrangler dev` instances of the example Worker
// (two workerd isolates, each with its own registry and instance id) that write into one local
// Upstash server. Prometheus has one target, a round-robin proxy in front of both instances, so
// each scrape lands on either of them — as a scrape of a deployed Worker lands on any isolate.
// PromQL over the native histogram must count exactly the requests driven at both instances, and
// histogram_quantile over /slow must land within the schema's relative error of the durations
// the Worker measured. Everything started here is stopped here.
//
// Known durations: /slow sleeps `ms`; what the middleware records is that plus the request's own
// overhead (the timer fires late, other requests' work runs in between: 1–10 ms seen here with
// 70 requests at once on a loaded 2-core machine). The Worker reports, by the clock the
// middleware uses, how long the sleep took (Server-Timing "sleep", timed inside the handler) and
// how long the whole request took (Server-Timing "app", timed around the metrics middleware), so
// each recorded duration d lies between the two: sleep ≤ d ≤ app (the histogram's sum is checked
// to lie between their sums). An estimate in the bucket of d, whose bounds are 2^(2^−schema)
// apart, then lies in [sleep / (1 + ε), app · (1 + ε)] with ε = 2^(2^−schema) − 1, the schema's
// relative error: the check is that, with sleep and app a few ms apart on durations of 100 ms
// and more, so it is about as tight as ε itself.
//
// Exact counts through rate(): Prometheus extrapolates rate()/increase() to the window's edges,
// so the queries run over a window whose edges are two scrapes' timestamps (2.42's range
// selectors include both edges): one scrape after a warm-up whose series already existed, one
// after the last write. increase() is then exactly the difference of those two samples, and
// rate() that difference over the window. (A series born inside a window loses its first
// sample's count to rate(): that is why every counted route is warmed up first.)

import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type WranglerDev } from "../../scripts/wrangler-dev.ts";
import { PROTOBUF_CONTENT_TYPE } from "../../src/exposition/protobuf.ts";
import { decodePacked } from "../../src/native/index.ts";
import { unstamped } from "../../src/store/schema.ts";
import { freePort } from "../../tools/local-upstash/redis-server.ts";
import { type LocalStack, startLocalStack } from "../../tools/local-upstash/stack.ts";
import { dashboardLatencyQueries } from "./dashboard-queries.ts";
import { eventually, type PrometheusServer, startPrometheus } from "./prometheus-server.ts";

const METRIC = "http_request_duration_seconds";
/** Sleeps of /slow, each driven PER_SLEEP times (alternating instances): 50 requests. */
const SLEEPS_MS = [100, 200, 400, 800, 1600];
const PER_SLEEP = 10;
/** /users/:id requests at instance A and at instance B (different, so both must count). */
const USERS = [13, 8] as const;
/** Warm-up: /users/1 and /slow?ms=0 at each instance, one POST /orders at A. */
const WARM = { users: 2, slow: 2, orders: 1 };
const MAIN = { users: USERS[0] + USERS[1], slow: SLEEPS_MS.length * PER_SLEEP };
const QUANTILES = [0.1, 0.3, 0.5, 0.7, 0.9, 0.99];
/** The series field of /slow's native buckets in Redis (labels method, status, ok, route). */
const SLOW_FIELD = `n${METRIC}${JSON.stringify(["GET", "200", "true", "/slow"])}`;

let stack: LocalStack | undefined;
let workers: WranglerDev[] = [];
let proxy: RoundRobin | undefined;
let prom: PrometheusServer | undefined;

interface RoundRobin {
  host: string;
  /** Requests each backend served. */
  served: number[];
  /** Content-Type of every response. */
  contentTypes: Set<string>;
  close(): Promise<void>;
}

/** One address in front of several backends, each request to the next one in turn. */
async function roundRobin(backends: string[]): Promise<RoundRobin> {
  let next = 0;
  const served = backends.map(() => 0);
  const contentTypes = new Set<string>();
  const forwarded = (h: IncomingHttpHeaders) => {
    const out: Record<string, string> = {};
    for (const name of ["accept", "authorization"]) {
      const v = h[name];
      if (typeof v === "string") out[name] = v;
    }
    return out;
  };
  const server: Server = createServer(async (req, res) => {
    const i = next++ % backends.length;
    served[i]!++;
    try {
      const upstream = await fetch(`${backends[i]}${req.url}`, { headers: forwarded(req.headers) });
      const body = Buffer.from(await upstream.arrayBuffer());
      const type = upstream.headers.get("content-type") ?? "";
      contentTypes.add(type);
      res.writeHead(upstream.status, { "content-type": type }).end(body);
    } catch (error) {
      res.writeHead(502).end(String(error));
    }
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    host: `127.0.0.1:${port}`,
    served,
    contentTypes,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

beforeAll(async () => {
  stack = await startLocalStack();
  const vars = { UPSTASH_REDIS_REST_URL: stack.url, UPSTASH_REDIS_REST_TOKEN: stack.token };
  const started = await Promise.allSettled(
    [0, 1].map(async () =>
      startWranglerDev({ port: await freePort(), inspectorPort: await freePort(), vars }),
    ),
  );
  workers = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  proxy = await roundRobin(workers.map((w) => w.url));
  prom = await startPrometheus({
    targets: [proxy.host],
    scrapeInterval: "1s",
    flags: ["--enable-feature=native-histograms"],
  });
}, 90_000);

afterAll(async () => {
  await prom?.stop();
  await proxy?.close();
  await Promise.all(workers.map((w) => w.stop()));
  await stack?.stop();
}, 30_000);

async function get(url: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  await res.clone().arrayBuffer();
  return res;
}

/** The durations (ms) a /slow response reports: its sleep, and the whole request. */
function reported(res: Response): { sleep: number; app: number } {
  const header = res.headers.get("server-timing") ?? "";
  const dur = (name: string) => {
    const match = new RegExp(`\\b${name};dur=([\\d.]+)`).exec(header);
    if (!match) throw new Error(`no ${name} in Server-Timing "${header}"`);
    return Number(match[1]);
  };
  return { sleep: dur("sleep"), app: dur("app") };
}

/** x_(⌈q·n⌉), the order statistic Prometheus' bucket search lands on. */
const orderStatistic = (sorted: number[], q: number) => sorted[Math.ceil(q * sorted.length) - 1]!;

describe("native histograms of two Worker instances, through Prometheus 2.42", () => {
  it("count every request driven at both, and place /slow's quantiles within the schema's error", async () => {
    const [a, b] = workers as [WranglerDev, WranglerDev];
    const single = async (promql: string, time?: string) => {
      const r = await prom!.query(promql, time);
      return r.length === 0 ? Number.NaN : Number(r[0]!.value[1]);
    };
    const counted = `${METRIC}{job="worker",route!="/metrics"}`;
    const total = () => single(`sum(histogram_count(${counted}))`);

    // Warm-up: every route counted below gets its series, and Prometheus a sample of them.
    const warm: { sleep: number; app: number }[] = [];
    for (const w of [a, b]) {
      expect((await get(`${w.url}/users/1`)).status).toBe(200);
      const slow = await get(`${w.url}/slow?ms=0`);
      expect(slow.status).toBe(200);
      warm.push(reported(slow));
    }
    const order = await get(`${a.url}/orders`, { method: "POST", body: '{"items":2}' });
    expect(order.status).toBe(201);
    const base = WARM.users + WARM.slow + WARM.orders;
    // An isolate's first request writes at once, the next ones with its next write (5 s on).
    expect(await eventually(total, base, 20_000)).toBe(base);

    // The load, all at once at both instances.
    const slowRuns: { ms: number; sleep: number; app: number }[] = [];
    const load: Promise<void>[] = [];
    for (const [k, n] of USERS.entries()) {
      for (let i = 0; i < n; i++) {
        load.push(
          get(`${workers[k]!.url}/users/${i + 2}`).then((res) => expect(res.status).toBe(200)),
        );
      }
    }
    for (const [j, sleep] of SLEEPS_MS.entries()) {
      for (let i = 0; i < PER_SLEEP; i++) {
        const w = workers[(i + j) % 2]!;
        load.push(
          get(`${w.url}/slow?ms=${sleep}`).then((res) => {
            expect(res.status).toBe(200);
            slowRuns.push({ ms: sleep, ...reported(res) });
          }),
        );
      }
    }
    await Promise.all(load);
    const final = base + MAIN.users + MAIN.slow;
    expect(await eventually(total, final, 20_000)).toBe(final);

    // histogram_count of the stored native histograms: every request, summed over both
    // instances in Redis (each instance alone drove fewer).
    const byRoute = await prom!.query(`sum by (route) (histogram_count(${counted}))`);
    expect(Object.fromEntries(byRoute.map((r) => [r.metric.route, Number(r.value[1])]))).toEqual({
      "/users/:id": WARM.users + MAIN.users,
      "/slow": WARM.slow + MAIN.slow,
      "/orders": WARM.orders,
    });
    // The recorded durations lie between the reported ones: their sums do.
    const runs = [...warm, ...slowRuns];
    const sumOf = (k: "sleep" | "app") => runs.reduce((x, r) => x + r[k], 0) / 1000;
    const slowSum = await single(`sum(histogram_sum(${METRIC}{route="/slow"}))`);
    expect(slowSum).toBeGreaterThanOrEqual(sumOf("sleep") - 1e-9);
    expect(slowSum).toBeLessThanOrEqual(sumOf("app") + 1e-9);

    // The window: from the last scrape that saw only the warm-up to the first that saw it all.
    const totals = new Map<number, { sum: number; series: number }>();
    for (const s of await prom!.rawHistograms(`${counted}[5m]`)) {
      for (const [t, h] of s.histograms) {
        const at = totals.get(t) ?? { sum: 0, series: 0 };
        totals.set(t, { sum: at.sum + Number(h.count), series: at.series + 1 });
      }
    }
    const times = [...totals.keys()].sort((x, y) => x - y);
    const start = times.filter((t) => totals.get(t)!.sum === base && totals.get(t)!.series === 3);
    const end = times.find((t) => totals.get(t)!.sum === final);
    expect(start.length).toBeGreaterThan(0);
    expect(end).toBeDefined();
    const from = start[start.length - 1]!;
    const windowMs = Math.round((end! - from) * 1000);
    const at = end!.toFixed(3);
    const range = `[${windowMs}ms]`;

    // sum(histogram_count(rate(...))) and increase(): the requests of the load, exactly.
    const increase = await single(`sum(histogram_count(increase(${counted}${range})))`, at);
    expect(increase).toBe(MAIN.users + MAIN.slow);
    const rate = await single(`sum(histogram_count(rate(${counted}${range})))`, at);
    expect(rate * (windowMs / 1000)).toBeCloseTo(MAIN.users + MAIN.slow, 9);
    const slowIncrease = await single(
      `sum(histogram_count(increase(${METRIC}{route="/slow"}${range})))`,
      at,
    );
    expect(slowIncrease).toBe(MAIN.slow);

    // histogram_quantile over /slow's rate, against the schema's relative error: a bucket's
    // upper bound is 2^(2^−schema) times its lower one, and the estimate lies in the bucket of
    // the order statistic it stands for.
    const stored = await new IORedis(stack!.redisUrl, { protocol: 2 });
    const packed = await stored.hget("{prom}:sums", SLOW_FIELD);
    stored.disconnect();
    const { schema } = decodePacked(unstamped(packed!));
    expect(schema).toBe(5); // the middleware's default; nothing here lowers it
    const error = 2 ** (2 ** -schema) - 1; // 2.19 % at schema 5
    const sorted = (k: "ms" | "sleep" | "app") => slowRuns.map((r) => r[k]).sort((x, y) => x - y);
    const [asked, slept, took] = [sorted("ms"), sorted("sleep"), sorted("app")];
    for (const r of slowRuns) {
      expect(r.sleep).toBeGreaterThanOrEqual(r.ms);
      expect(r.app).toBeGreaterThanOrEqual(r.sleep);
    }
    for (const q of QUANTILES) {
      const estimate =
        (await single(
          `histogram_quantile(${q}, sum(rate(${METRIC}{route="/slow"}${range})))`,
          at,
        )) * 1000;
      const [ms, low, high] = [asked, slept, took].map((xs) => orderStatistic(xs, q)) as [
        number,
        number,
        number,
      ];
      const what = `q=${q}: ${estimate} ms for a ${ms} ms sleep that took ${low}–${high} ms`;
      // The bounds are tight enough to mean something: sleep and app differ by little.
      expect(high / low - 1, what).toBeLessThan(0.1);
      expect(estimate, what).toBeGreaterThanOrEqual(low / (1 + error));
      expect(estimate, what).toBeLessThanOrEqual(high * (1 + error));
    }

    // The README's share-under-a-bound query: the 100 ms and 200 ms sleeps are 2 in 5 of the
    // load, and no bucket of the others reaches down to 250 ms.
    const fraction = await single(
      `histogram_fraction(0, 0.25, sum(rate(${METRIC}{route="/slow"}${range})))`,
      at,
    );
    expect(fraction).toBeCloseTo(2 / SLEEPS_MS.length, 9);

    // What 2.42 stores of a histogram that has native buckets: the native series only. The
    // classic _bucket/_sum/_count series the Worker also exposes are dropped at ingestion.
    for (const suffix of ["_bucket", "_sum", "_count"]) {
      expect(await prom!.query(`${METRIC}${suffix}`)).toEqual([]);
    }
    // A histogram without native buckets stays classic, with OpenMetrics-style le over protobuf.
    expect(await single('sum(example_order_items_bucket{le="+Inf"})')).toBe(1);
    expect(await single('sum(example_order_items_bucket{le="2.0"})')).toBe(1);
    expect(await single(`sum(http_requests_total{route="/slow"})`)).toBe(WARM.slow + MAIN.slow);
    // A text scrape of either instance still sees the classic buckets, globally counted.
    const text = await (await get(`${b.url}/metrics`)).text();
    expect(text).toContain(
      `${METRIC}_count{method="GET",route="/slow",status="200",ok="true"} ${WARM.slow + MAIN.slow}\n`,
    );

    // The Grafana dashboard's latency panels have data on this Prometheus: their queries take
    // the native histogram when there is one (`… or` the classic buckets).
    const panels = dashboardLatencyQueries();
    expect(panels.length).toBeGreaterThanOrEqual(4);
    for (const { title, promql } of panels) {
      const result = await prom!.query(promql, at);
      expect(result.length, `${title}: ${promql}`).toBeGreaterThan(0);
      expect(Number.isFinite(Number(result[0]!.value[1])), `${title}: ${promql}`).toBe(true);
    }

    // Both instances served scrapes, every one in the protobuf format, without errors.
    expect(proxy!.served.every((n) => n > 0)).toBe(true);
    expect([...proxy!.contentTypes]).toEqual([PROTOBUF_CONTENT_TYPE]);
    const [target] = await prom!.targets();
    expect(target).toMatchObject({ health: "up", lastError: "" });
  }, 60_000);
});
