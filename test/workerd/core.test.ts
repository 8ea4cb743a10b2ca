// The core inside workerd: several Registry objects on one Redis stand for several isolates.
// Each records on its own, flushes in one request, and any of them scrapes the global sums.

import { env } from "cloudflare:workers";
import { Redis } from "@upstash/redis";
import { expect, it } from "vitest";
import { Counter, Gauge, Histogram, Registry, Summary } from "../../src/index.ts";

const bindings = env as unknown as Record<string, string>;

/** One "isolate": its own registry and metric objects, a shared key prefix. */
function isolate(prefix: string) {
  const redis = new Redis({
    url: bindings.UPSTASH_REDIS_REST_URL!,
    token: bindings.UPSTASH_REDIS_REST_TOKEN!,
  });
  const registry = new Registry({ redis, prefix });
  const registers = [registry];
  return {
    registry,
    jobs: new Counter({ name: "jobs_total", help: "Jobs", labelNames: ["kind"], registers }),
    latency: new Histogram({
      name: "job_seconds",
      help: "Job time",
      buckets: [0.1, 1],
      registers,
    }),
    busy: new Gauge({ name: "busy_workers", help: "Busy", aggregate: "sum", registers }),
    size: new Summary({ name: "job_bytes", help: "Job size", registers }),
  };
}

it("sums the values of several registries (isolates) sharing one Redis", async () => {
  const prefix = `wd-core-${crypto.randomUUID().slice(0, 8)}`;
  const isolates = [isolate(prefix), isolate(prefix), isolate(prefix)];
  isolates.forEach((iso, i) => {
    iso.jobs.inc({ kind: "email" }, i + 1); // 1 + 2 + 3
    iso.jobs.labels("sms").inc();
    iso.latency.observe(0.05);
    iso.latency.observe(0.5 * (i + 1)); // 0.5, 1, 1.5
    iso.busy.set(i + 1); // summed over live instances: 6
    iso.size.observe(100 * (i + 1));
  });
  await Promise.all(isolates.map((iso) => iso.registry.flush()));
  // A second round from one isolate adds to what is there.
  isolates[0]!.jobs.inc({ kind: "email" });
  await isolates[0]!.registry.flush();

  for (const iso of isolates) {
    expect(iso.registry.stats.failedFlushes).toBe(0);
  }
  const text = await isolates[2]!.registry.metrics();
  expect(text).toContain('jobs_total{kind="email"} 7');
  expect(text).toContain('jobs_total{kind="sms"} 3');
  expect(text).toContain('job_seconds_bucket{le="0.1"} 3');
  expect(text).toContain('job_seconds_bucket{le="1"} 5');
  expect(text).toContain('job_seconds_bucket{le="+Inf"} 6');
  expect(text).toContain("job_seconds_count 6");
  expect(text).toMatch(/^job_seconds_sum 3\.15(0*\d?)?$/m);
  expect(text).toContain("busy_workers 6");
  expect(text).toContain("job_bytes_sum 600");
  expect(text).toContain("job_bytes_count 3");
});
