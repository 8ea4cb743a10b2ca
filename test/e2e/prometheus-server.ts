// A real Prometheus server (Debian's /usr/bin/prometheus) for end-to-end tests: loopback only,
// storage in a temp dir, a fast scrape interval, stopped and removed by the caller.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findOnPath, freePort } from "../../tools/local-upstash/redis-server.ts";
import { stopChild } from "../../tools/stop-child.ts";

export interface PrometheusServer {
  url: string;
  /** Instant query (at `time`, Unix seconds, default now); returns the result vector. */
  query(
    promql: string,
    time?: string,
  ): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** Instant query whose samples are native histograms. */
  queryHistograms(
    promql: string,
    time?: string,
  ): Promise<{ metric: Record<string, string>; histogram: [number, NativeHistogramJSON] }[]>;
  /** The stored native-histogram samples of a range selector (`metric{…}[5m]`), as scraped. */
  rawHistograms(
    selector: string,
  ): Promise<{ metric: Record<string, string>; histograms: [number, NativeHistogramJSON][] }[]>;
  /** The scrape targets' health as Prometheus sees it. */
  targets(): Promise<{ health: string; lastError: string; scrapeUrl: string }[]>;
  stop(): Promise<void>;
}

/** A native histogram as Prometheus' HTTP API returns it. */
export interface NativeHistogramJSON {
  count: string;
  sum: string;
  /** [boundary rule (0: (l, u], 1: [l, u), 3: [l, u]), lower, upper, count] */
  buckets?: [number, string, string, string][];
}

export const PROMETHEUS_INSTALL_HINT =
  "prometheus not found on PATH: install it with `apt-get install -y prometheus`";

export function prometheusBinary(): string | undefined {
  return findOnPath("prometheus");
}

export async function startPrometheus(opts: {
  /** host:port targets to scrape at /metrics. */
  targets: string[];
  scrapeInterval?: string;
  jobName?: string;
  bearerToken?: string;
  /** Extra command-line flags, e.g. --enable-feature=native-histograms. */
  flags?: string[];
}): Promise<PrometheusServer> {
  const binary = prometheusBinary();
  if (!binary) throw new Error(PROMETHEUS_INSTALL_HINT);
  const dir = mkdtempSync(join(tmpdir(), "prom-e2e-"));
  const interval = opts.scrapeInterval ?? "1s";
  const auth = opts.bearerToken
    ? `    authorization:\n      credentials: ${JSON.stringify(opts.bearerToken)}\n`
    : "";
  writeFileSync(
    join(dir, "prometheus.yml"),
    `global:
  scrape_interval: ${interval}
  scrape_timeout: ${interval}
  evaluation_interval: ${interval}
scrape_configs:
  - job_name: ${JSON.stringify(opts.jobName ?? "worker")}
    metrics_path: /metrics
${auth}    static_configs:
      - targets: ${JSON.stringify(opts.targets)}
`,
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = "";
  const child = spawn(
    binary,
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
      ...(opts.flags ?? []),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const onLog = (b: Buffer) => {
    log = (log + b.toString("utf8")).slice(-20_000);
  };
  child.stdout?.on("data", onLog);
  child.stderr?.on("data", onLog);

  const stop = async () => {
    await stopChild(child, 5_000);
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited early:\n${log}`);
    }
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`prometheus API ${path}: ${body.error}`);
    return body.data;
  };

  const instant = (promql: string, time?: string) =>
    `/api/v1/query?query=${encodeURIComponent(promql)}${time === undefined ? "" : `&time=${time}`}`;

  return {
    url,
    async query(promql, time) {
      const data = await api<{
        result: { metric: Record<string, string>; value: [number, string] }[];
      }>(instant(promql, time));
      return data.result;
    },
    async queryHistograms(promql, time) {
      const data = await api<{
        result: { metric: Record<string, string>; histogram: [number, NativeHistogramJSON] }[];
      }>(instant(promql, time));
      return data.result;
    },
    async rawHistograms(selector) {
      const data = await api<{
        result: {
          metric: Record<string, string>;
          histograms?: [number, NativeHistogramJSON][];
        }[];
      }>(instant(selector));
      return data.result.map((r) => ({ metric: r.metric, histograms: r.histograms ?? [] }));
    },
    async targets() {
      const data = await api<{
        activeTargets: { health: string; lastError: string; scrapeUrl: string }[];
      }>("/api/v1/targets");
      return data.activeTargets;
    },
    stop,
  };
}

/** Polls `read` until it returns `want` (or the time is up), returning the last value seen. */
export async function eventually<T>(
  read: () => Promise<T>,
  want: T,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (last !== want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    last = await read();
  }
  return last;
}
