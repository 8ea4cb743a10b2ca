// pushMetrics against a local receiver that decodes every request with real decoders (snappyjs,
// protobufjs with the spec's remote.proto): every type arrives as exactly the series a scrape
// of the same registry shows (the text exposition, parsed), plus job and instance; native
// histograms as the protobuf exposition holds them; labels sorted, one timestamp from the
// Redis server's clock, requests under the size bound; and the receiver's 500, 429, 400 and
// silence get the spec's behaviour within the push's deadline.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  Counter,
  exponentialBuckets,
  Gauge,
  Histogram,
  Registry,
  Summary,
} from "../../src/index.ts";
import {
  type PushOptions,
  pushMetrics,
  pushStats,
  RemoteWriteError,
  startPushing,
  USER_AGENT,
} from "../../src/remote-write/index.ts";
import { parseExposition } from "../helpers/exposition.ts";
import { decodeFamilies, rebuildBuckets } from "../helpers/protobuf.ts";
import { directRedis, newClient, uniquePrefix } from "../helpers/stack.ts";
import { type DecodedSeries, type Receiver, startReceiver } from "./receiver.ts";

let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(() => receiver.close());
afterEach(() => {
  receiver.received.length = 0;
  receiver.answers.length = 0;
});

const redis = directRedis();
const JOB = "shop";
const INSTANCE = "eu-prod";

function newRegistry(name: string): Registry {
  return new Registry({
    redis: newClient(),
    prefix: uniquePrefix(name),
    onError: (e) => {
      throw e;
    },
  });
}

/** Every type, recorded and flushed: what the tests push. */
async function shop(native = false): Promise<Registry> {
  const registry = newRegistry("rw");
  registry.setDefaultLabels({ region: "eu", route: "ignored-where-set" });
  const requests = new Counter({
    name: "http_requests_total",
    help: "Requests",
    labelNames: ["method", "route", "status"],
    registers: [registry],
  });
  requests.inc({ method: "GET", route: "/users/:id", status: "200" }, 7);
  requests.inc({ method: "POST", route: "/orders", status: "201" }, 2);
  requests.inc({ method: "GET", route: "", status: "404" }); // empty: the default fills in
  const inFlight = new Gauge({ name: "in_flight", help: "In flight", registers: [registry] });
  inFlight.set(3);
  const perInstance = new Gauge({
    name: "queue_depth",
    help: "Depth per isolate",
    aggregate: "perInstance",
    registers: [registry],
  });
  perInstance.set(-2.5);
  const items = new Histogram({
    name: "order_items",
    help: "Items per order",
    labelNames: ["shop"],
    buckets: exponentialBuckets(1, 2, 4),
    registers: [registry],
  });
  for (const v of [1, 2, 2, 5, 100]) items.observe({ shop: "a" }, v);
  items.observe({ shop: "b" }, 3);
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Duration",
    labelNames: ["route"],
    native,
    registers: [registry],
  });
  for (const v of [0.003, 0.02, 0.02, 0.4, 1.7, 0]) duration.observe({ route: "/a" }, v);
  duration.observe({ route: "/b" }, 12);
  const payload = new Summary({
    name: "payload_bytes",
    help: "Payload sizes",
    percentiles: [0.5, 0.9],
    registers: [registry],
  });
  for (let i = 1; i <= 100; i++) payload.observe(i * 10);
  await registry.flush();
  return registry;
}

const options = (extra: Partial<PushOptions> = {}): PushOptions => ({
  url: receiver.url,
  job: JOB,
  instance: INSTANCE,
  selfMetrics: false,
  ...extra,
});

/** A series as "name{sorted labels}" = value, for comparing sets of series. */
function key(name: string, labels: Record<string, string>): string {
  const sorted = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${name}${JSON.stringify(sorted)}`;
}

function pushedSeries(): DecodedSeries[] {
  return receiver.received.flatMap((r) => r.body.timeseries);
}

function labelsOf(s: DecodedSeries): Record<string, string> {
  return Object.fromEntries(s.labels.map((l) => [l.name, l.value]));
}

async function redisTimeMs(): Promise<number> {
  const [seconds, micros] = (await redis.call("TIME")) as [string, string];
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describe("pushMetrics: what is sent", () => {
  it("every type as the series a scrape stores, plus job and instance, one Redis timestamp", async () => {
    const registry = await shop();
    const before = await redisTimeMs();
    const result = await pushMetrics(registry, options({ bearerToken: "s3cret" }));
    const after = await redisTimeMs();

    // What a scrape of the same registry shows, with the labels a scrape adds.
    const scraped = new Map<string, number>();
    for (const f of parseExposition(await registry.metrics())) {
      for (const s of f.samples) {
        scraped.set(key(s.name, { ...s.labels, job: JOB, instance: INSTANCE }), s.value);
      }
    }
    const pushed = new Map<string, number>();
    const timestamps = new Set<number>();
    for (const s of pushedSeries()) {
      const labels = labelsOf(s);
      const { __name__: name, ...rest } = labels;
      // Sorted by name, no name twice, no empty value.
      const names = s.labels.map((l) => l.name);
      expect(names).toEqual([...names].sort());
      expect(new Set(names).size).toBe(names.length);
      expect(s.labels.every((l) => l.value !== "")).toBe(true);
      expect(s.samples).toHaveLength(1);
      expect(s.histograms).toEqual([]);
      pushed.set(key(name!, rest), s.samples[0]!.value);
      timestamps.add(s.samples[0]!.timestamp);
    }
    expect(pushed).toEqual(scraped);
    expect(pushed.size).toBe(result.samples);
    // Spot checks of what the comparison covers.
    expect(
      pushed.get(
        key("http_requests_total", {
          method: "GET",
          route: "/users/:id",
          status: "200",
          region: "eu",
          job: JOB,
          instance: INSTANCE,
        }),
      ),
    ).toBe(7);
    const defaults = { region: "eu", route: "ignored-where-set", job: JOB, instance: INSTANCE };
    expect(pushed.get(key("order_items_bucket", { shop: "a", le: "4", ...defaults }))).toBe(3);
    expect(pushed.get(key("payload_bytes", { quantile: "0.5", ...defaults }))).toBeCloseTo(500, -1);
    expect(pushed.get(key("payload_bytes_count", defaults))).toBe(100);
    expect(pushed.get(key("queue_depth", { instance_id: registry.instanceId, ...defaults }))).toBe(
      -2.5,
    );

    // One timestamp, the Redis server's clock at the read.
    expect(timestamps.size).toBe(1);
    const [t] = [...timestamps];
    expect(t).toBe(result.timestamp);
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(after);

    // Metadata: each family once, with its type and help.
    const metadata = receiver.received.flatMap((r) => r.body.metadata);
    expect(Object.fromEntries(metadata.map((m) => [m.metricFamilyName, [m.type, m.help]]))).toEqual(
      {
        http_requests_total: ["COUNTER", "Requests"],
        in_flight: ["GAUGE", "In flight"],
        queue_depth: ["GAUGE", "Depth per isolate"],
        order_items: ["HISTOGRAM", "Items per order"],
        http_request_duration_seconds: ["HISTOGRAM", "Duration"],
        payload_bytes: ["SUMMARY", "Payload sizes"],
      },
    );

    // The spec's headers.
    const [{ headers }] = receiver.received as [(typeof receiver.received)[0]];
    expect(headers["content-encoding"]).toBe("snappy");
    expect(headers["content-type"]).toBe("application/x-protobuf");
    expect(headers["x-prometheus-remote-write-version"]).toBe("0.1.0");
    expect(headers["user-agent"]).toBe(USER_AGENT);
    expect(headers.authorization).toBe("Bearer s3cret");
    expect(result).toMatchObject({ skipped: false, requests: 1, requestsNeeded: 1, retries: 0 });
  });

  it("native: histograms with native buckets go in the histograms field, as the protobuf exposition holds them", async () => {
    const registry = await shop(true);
    const result = await pushMetrics(registry, options({ native: true }));
    const exposed = decodeFamilies(await registry.metricsProtobuf(), { arrays: true });
    const family = exposed.find((f) => f.name === "http_request_duration_seconds") as {
      metric: {
        label: { name: string; value: string }[];
        histogram: Record<string, never>;
      }[];
    };
    const series = pushedSeries();
    const natives = series.filter((s) => s.histograms.length > 0);
    expect(natives).toHaveLength(2);
    expect(result.histograms).toBe(2);
    // The classic series of that family are not sent (Prometheus 2.42 keeps the native ones).
    expect(
      series.filter((s) => labelsOf(s).__name__!.startsWith("http_request_duration_seconds_")),
    ).toEqual([]);
    for (const m of family.metric) {
      const route = m.label.find((l) => l.name === "route")!.value;
      const pushed = natives.find((s) => labelsOf(s).route === route)!;
      expect(labelsOf(pushed)).toEqual({
        __name__: "http_request_duration_seconds",
        route,
        region: "eu",
        job: JOB,
        instance: INSTANCE,
      });
      expect(pushed.samples).toEqual([]);
      const [h] = pushed.histograms as [Record<string, never>];
      const want = m.histogram as Record<string, never>;
      expect(h.countInt).toBe(want.sampleCount);
      expect(h.sum).toBe(want.sampleSum);
      expect(h.schema).toBe(want.schema);
      expect(h.zeroThreshold).toBe(want.zeroThreshold);
      expect(h.zeroCountInt).toBe(want.zeroCount);
      expect(h.timestamp).toBe(result.timestamp);
      expect(h.resetHint).toBe("UNKNOWN");
      for (const sideName of ["positive", "negative"] as const) {
        const got = rebuildBuckets(h[`${sideName}Spans`], h[`${sideName}Deltas`]);
        const exp = rebuildBuckets(want[`${sideName}Span`], want[`${sideName}Delta`]);
        expect(got.buckets, `${route} ${sideName}`).toEqual(exp.buckets);
      }
    }
    // /a: 0.003, 0.02 ×2, 0.4, 1.7 in positive buckets, 0 in the zero bucket.
    const a = natives.find((s) => labelsOf(s).route === "/a")!.histograms[0] as Record<
      string,
      never
    >;
    expect(a.countInt).toBe(6);
    expect(a.zeroCountInt).toBe(1);
    const positive = rebuildBuckets(a.positiveSpans, a.positiveDeltas).buckets;
    expect(positive.reduce((n, [, c]) => n + c, 0)).toBe(5);
    // Every other family as without native.
    expect(series.filter((s) => s.histograms.length === 0).length).toBe(result.samples);
  });

  it("renames scraped job/instance labels to exported_*, drops empty values and repeated series", async () => {
    const registry = newRegistry("clash");
    const c = new Counter({
      name: "jobs_total",
      help: "Jobs",
      labelNames: ["job", "instance", "exported_job", "kind"],
      registers: [registry],
    });
    c.inc({ job: "resize", instance: "i-1", exported_job: "x", kind: "" }, 4);
    registry.registerMetric({
      name: "custom_twice",
      help: "A custom metric that repeats a series",
      type: "gauge",
      get: () => ({
        name: "custom_twice",
        help: "A custom metric that repeats a series",
        type: "gauge",
        values: [
          { labels: { a: "1" }, value: 1 },
          { labels: { a: "1" }, value: 2 },
        ],
      }),
    } as never);
    await registry.flush();
    const result = await pushMetrics(registry, options());
    const byName = Object.fromEntries(pushedSeries().map((s) => [labelsOf(s).__name__, s]));
    expect(labelsOf(byName.jobs_total!)).toEqual({
      __name__: "jobs_total",
      exported_exported_job: "resize",
      exported_instance: "i-1",
      exported_job: "x",
      instance: INSTANCE,
      job: JOB,
    });
    expect(pushedSeries().filter((s) => labelsOf(s).__name__ === "custom_twice")).toHaveLength(1);
    expect(result.duplicates).toBe(1);
  });

  it("carries long and non-ASCII label values and help texts byte for byte", async () => {
    const registry = newRegistry("utf8");
    const long = `${"x".repeat(200)}/ünïcödé/😀/${"y".repeat(300)}`;
    const c = new Counter({
      name: "paths_total",
      help: `Paths — ${"h".repeat(150)}`,
      labelNames: ["path", "short"],
      registers: [registry],
    });
    c.inc({ path: long, short: "é" }, 2);
    c.inc({ path: "/plain", short: "a" }, 1);
    await registry.flush();
    await pushMetrics(registry, options());
    const byPath = new Map(pushedSeries().map((s) => [labelsOf(s).path, s]));
    expect(labelsOf(byPath.get(long)!)).toEqual({
      __name__: "paths_total",
      path: long,
      short: "é",
      job: JOB,
      instance: INSTANCE,
    });
    expect(byPath.get(long)!.samples[0]!.value).toBe(2);
    expect(byPath.get("/plain")!.samples[0]!.value).toBe(1);
    expect(receiver.received[0]!.body.metadata[0]!.help).toBe(`Paths — ${"h".repeat(150)}`);
  });

  it("splits a large push into requests under maxRequestBytes, metadata once per family", async () => {
    const registry = newRegistry("split");
    const c = new Counter({
      name: "split_total",
      help: "Many series",
      labelNames: ["id"],
      registers: [registry],
    });
    const g = new Gauge({ name: "split_gauge", help: "One", registers: [registry] });
    for (let i = 0; i < 500; i++) c.inc({ id: `series-${i}` }, i + 1);
    g.set(1);
    await registry.flush();
    const result = await pushMetrics(registry, options({ maxRequestBytes: 4096 }));
    expect(receiver.received.length).toBeGreaterThan(5);
    expect(result.requests).toBe(receiver.received.length);
    for (const r of receiver.received) {
      expect(r.body.timeseries.length).toBeGreaterThan(0);
      expect(r.uncompressedBytes).toBeLessThanOrEqual(4096);
    }
    const values = new Map(pushedSeries().map((s) => [labelsOf(s).id, s.samples[0]!.value]));
    expect(values.size).toBe(501);
    for (let i = 0; i < 500; i++) expect(values.get(`series-${i}`)).toBe(i + 1);
    const metadata = receiver.received.flatMap((r) =>
      r.body.metadata.map((m) => m.metricFamilyName),
    );
    expect(metadata.sort()).toEqual(["split_gauge", "split_total"]);
  });
});

describe("pushMetrics: timestamps across pushes", () => {
  it("two pushes: the second timestamp is later; overlapping pushes never go back in time", async () => {
    const registry = await shop();
    const first = await pushMetrics(registry, options());
    await new Promise((r) => setTimeout(r, 5));
    const second = await pushMetrics(registry, options());
    expect(second.timestamp).toBeGreaterThan(first.timestamp);
    receiver.received.length = 0;
    // Five at once: they run one after another, each reading after the last one sent.
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => pushMetrics(registry, options())));
    const sent = results.filter((r) => !r.skipped).map((r) => r.timestamp);
    expect(sent).toEqual([...sent].sort((a, b) => a - b));
    expect(new Set(sent).size).toBe(sent.length);
    expect(sent[0]!).toBeGreaterThan(second.timestamp);
    const arrived = receiver.received.map((r) => r.body.timeseries[0]!.samples[0]!.timestamp);
    expect(arrived).toEqual(sent);
  });

  it("a read that is not newer than the last push is skipped, not sent", async () => {
    const registry = await shop();
    const real = registry.collectForPush.bind(registry);
    let clock = 0;
    registry.collectForPush = async () => {
      const [families, defaults] = await real();
      return [families, defaults, clock];
    };
    clock = 2_000_000_000_000;
    expect((await pushMetrics(registry, options())).skipped).toBe(false);
    clock -= 1; // another Redis' clock, a little behind
    const stale = await pushMetrics(registry, options());
    clock += 1; // the same millisecond again
    const same = await pushMetrics(registry, options());
    expect([stale.skipped, same.skipped]).toEqual([true, true]);
    expect(receiver.received).toHaveLength(1);
    expect(pushStats(registry)).toMatchObject({ pushes: 1, skippedPushes: 2 });
    // Another url has its own last timestamp.
    const other = await pushMetrics(registry, options({ url: `${receiver.url}?tenant=2` }));
    expect(other.skipped).toBe(false);
  });
});

describe("pushMetrics: the receiver's answers", () => {
  it("500 then success: retried after a backoff, delivered once", async () => {
    const registry = await shop();
    receiver.answers.push({ status: 500, body: "try later" }, { status: 503 });
    const result = await pushMetrics(registry, options());
    expect(result).toMatchObject({ retries: 2, requests: 1 });
    expect(receiver.received).toHaveLength(3);
    expect(pushStats(registry)).toMatchObject({ pushes: 1, retries: 2, failedPushes: 0 });
  });

  it("429: retried, after its Retry-After", async () => {
    const registry = await shop();
    receiver.answers.push({ status: 429, body: "slow down", headers: { "retry-after": "1" } });
    const start = Date.now();
    const result = await pushMetrics(registry, options());
    expect(Date.now() - start).toBeGreaterThanOrEqual(1000);
    expect(result).toMatchObject({ retries: 1, requests: 1 });
    expect(receiver.received).toHaveLength(2);
  });

  it("400: not retried, rejected with the receiver's message", async () => {
    const registry = await shop();
    receiver.answers.push({ status: 400, body: "out of order sample\n" });
    const error = await pushMetrics(registry, options()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RemoteWriteError);
    const e = error as RemoteWriteError;
    expect(e.status).toBe(400);
    expect(e.message).toContain("400 Bad Request: out of order sample");
    expect(e.message).toContain("another push got there first");
    expect(e.message).toContain(`http://127.0.0.1:`);
    expect(receiver.received).toHaveLength(1);
    expect(pushStats(registry)).toMatchObject({ failedPushes: 1, failedRequests: 1, retries: 0 });
    expect(pushStats(registry).lastError).toBe(e.message);
  });

  it("401: names the credentials to check", async () => {
    const registry = await shop();
    receiver.answers.push({ status: 401, body: "invalid token" });
    await expect(
      pushMetrics(registry, options({ basicAuth: { username: "123", password: "tökén" } })),
    ).rejects.toThrow(/401 Unauthorized: invalid token.*check the credentials/);
    expect(receiver.received[0]!.headers.authorization).toBe(
      `Basic ${Buffer.from("123:tökén").toString("base64")}`,
    );
  });

  it("silence: each attempt times out, retried until the deadline, then rejected", async () => {
    const registry = await shop();
    receiver.answers.push("hang", "hang", "hang", "hang", "hang", "hang", "hang", "hang");
    const start = Date.now();
    const error = (await pushMetrics(registry, options({ timeoutMs: 300, deadlineMs: 1500 })).catch(
      (e: unknown) => e,
    )) as RemoteWriteError;
    const took = Date.now() - start;
    expect(error).toBeInstanceOf(RemoteWriteError);
    expect(error.message).toMatch(/no answer within \d+ ms; gave up after \d+ attempts/);
    expect(error.status).toBeUndefined();
    expect(receiver.received.length).toBeGreaterThanOrEqual(2);
    expect(took).toBeLessThan(2500);
  });

  it("5xx without end: rejected by the deadline, and the next push still goes out", async () => {
    const registry = await shop();
    receiver.answers.push(
      ...Array.from({ length: 50 }, () => ({ status: 502, body: "bad gateway" })),
    );
    const start = Date.now();
    await expect(pushMetrics(registry, options({ deadlineMs: 1200 }))).rejects.toThrow(
      /502 Bad Gateway: bad gateway; gave up after \d+ attempts, at the push's deadline/,
    );
    expect(Date.now() - start).toBeLessThan(1500);
    receiver.answers.length = 0;
    expect((await pushMetrics(registry, options())).requests).toBe(1);
  });

  it("self-metrics: the isolate's push counts ride with the next push", async () => {
    const registry = await shop();
    receiver.answers.push({ status: 400, body: "no" });
    await pushMetrics(registry, options()).catch(() => {});
    receiver.answers.push({ status: 500 });
    await pushMetrics(registry, options());
    receiver.received.length = 0;
    await pushMetrics(registry, options({ selfMetrics: true }));
    const self = pushedSeries()
      .map((s) => ({ labels: labelsOf(s), value: s.samples[0]!.value }))
      .filter((s) => s.labels.__name__!.startsWith("prometheus_upstash_remote_write_"));
    const value = (name: string, outcome?: string) =>
      self.find(
        (s) =>
          s.labels.__name__ === name && (outcome === undefined || s.labels.outcome === outcome),
      )?.value;
    expect(value("prometheus_upstash_remote_write_pushes_total", "success")).toBe(1);
    expect(value("prometheus_upstash_remote_write_pushes_total", "failure")).toBe(1);
    expect(value("prometheus_upstash_remote_write_retries_total")).toBe(1);
    expect(value("prometheus_upstash_remote_write_failed_requests_total")).toBe(1);
    expect(value("prometheus_upstash_remote_write_samples_total")).toBeGreaterThan(10);
    expect(self.every((s) => s.labels.instance_id === registry.instanceId)).toBe(true);
  });
});

describe("options and the Node timer", () => {
  it("refuses bad options, naming them", async () => {
    const registry = newRegistry("opts");
    expect(() => pushMetrics(registry, { url: "ftp://x" })).toThrow(/options\.url/);
    expect(() => pushMetrics(registry, { ...options(), timeoutMs: 0 })).toThrow(
      /options\.timeoutMs/,
    );
    expect(() =>
      pushMetrics(registry, {
        ...options(),
        bearerToken: "a",
        basicAuth: { username: "b", password: "c" },
      }),
    ).toThrow(/bearerToken or options\.basicAuth/);
    expect(() => startPushing(registry, { ...options(), intervalMs: -1 })).toThrow(/intervalMs/);
  });

  it("reads with options.redis when the registry has no client yet", async () => {
    const prefix = uniquePrefix("noclient");
    const writer = new Registry({ redis: newClient(), prefix });
    new Counter({ name: "seen_total", help: "Seen", registers: [writer] }).inc(5);
    await writer.flush();
    const reader = new Registry({ prefix });
    new Counter({ name: "seen_total", help: "Seen", registers: [reader] });
    await expect(pushMetrics(reader, options())).rejects.toThrow(/no Redis client/);
    await pushMetrics(reader, options({ redis: newClient() }));
    expect(reader.hasRedis).toBe(true);
    const [series] = pushedSeries();
    expect(labelsOf(series!).__name__).toBe("seen_total");
    expect(series!.samples[0]!.value).toBe(5);
  });

  it("startPushing pushes on its interval, reports failures to onError, stops cleanly", async () => {
    const registry = await shop();
    const errors: unknown[] = [];
    receiver.answers.push({ status: 400, body: "nope" });
    const timer = startPushing(registry, {
      ...options(),
      intervalMs: 100,
      onError: (e) => errors.push(e),
    });
    await new Promise((r) => setTimeout(r, 450));
    await timer.stop();
    const count = receiver.received.length;
    expect(count).toBeGreaterThanOrEqual(3);
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain("400 Bad Request: nope");
    await new Promise((r) => setTimeout(r, 250));
    expect(receiver.received.length).toBe(count);
  });
});
