// The README's quick-start Worker, as it stands, built by `wrangler dev` from the installed
// tarball with Node compatibility off (both flags: at this compatibility date workerd turns
// nodejs_compat on by default, and without no_nodejs_compat_v2 node:buffer, node:crypto, …
// stay importable). A Node import anywhere on the middleware's path fails here. It counts
// requests, flushes them through waitUntil, and answers scrapes from Prometheus 2 and 3.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type WranglerDev } from "../../scripts/wrangler-dev.ts";
import { startUpstashServer, type UpstashServer } from "../../tools/local-upstash/index.ts";
import { freePort } from "../../tools/local-upstash/redis-server.ts";
import { readmeSnippet } from "../../tools/readme-snippets.ts";
import { COMPATIBILITY_FLAGS } from "../../tools/workerd-compat.ts";
import { parseChecked, sampleValue } from "../helpers/exposition.ts";
import {
  PROMETHEUS_2_ACCEPT,
  PROMETHEUS_3_ACCEPT,
  PROMETHEUS_3_PROTO_FIRST_ACCEPT,
  prometheus3MediaType,
} from "../helpers/scrapers.ts";
import { sharedStack } from "../helpers/stack.ts";
import { consumerProject } from "./consumer.ts";

let upstash: UpstashServer | undefined;
let worker: WranglerDev | undefined;
let output = "";

beforeAll(async () => {
  // A folder with exactly what the README's install line installs.
  const dir = join(await consumerProject("web"), "quick-start-worker");
  mkdirSync(dir, { recursive: true });
  mkdirSync(join(dir, "src"), { recursive: true });
  writeFileSync(join(dir, "src", "index.ts"), readmeSnippet("quick-start"));
  // The README's wrangler.toml as it stands (its date is the bundled workerd's, checked in
  // package.test.ts), with Node compatibility turned off on top.
  writeFileSync(
    join(dir, "wrangler.toml"),
    `${readmeSnippet("wrangler-toml")}compatibility_flags = ${JSON.stringify(COMPATIBILITY_FLAGS)}\n`,
  );
  // The quick start uses the default key prefix, as the example Worker's tests do on the
  // run-wide server: this Worker gets a database of its own on the same redis-server.
  upstash = await startUpstashServer({ redisUrl: `${sharedStack().redisUrl}/1` });
  worker = await startWranglerDev({
    cwd: dir,
    port: await freePort(),
    inspectorPort: await freePort(),
    vars: { UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token },
    onOutput: (chunk) => {
      output += chunk;
    },
  });
}, 600_000);

afterAll(async () => {
  await worker?.stop();
  await upstash?.stop();
}, 30_000);

const scrape = (accept?: string) =>
  fetch(`${worker!.url}/metrics`, accept === undefined ? {} : { headers: { Accept: accept } });

describe("the README's quick-start Worker, from the packed tarball, without nodejs_compat", {
  timeout: 120_000,
}, () => {
  it("was built without any Node module", () => {
    // wrangler warns (and leaves the import to fail at run time) when a node: module is
    // imported with Node compatibility off.
    expect(output).not.toMatch(/node:\w+/);
  });

  it("counts requests across flushes and serves them on /metrics", async () => {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${worker!.url}/not-here`);
      expect(res.status).toBe(404);
      await res.arrayBuffer();
    }
    // The flushes run in waitUntil, after each response: poll until the third has landed.
    let count: number | undefined;
    const deadline = Date.now() + 15_000;
    while (count !== 3 && Date.now() < deadline) {
      const text = await (await scrape()).text();
      const families = parseChecked(text);
      const total = families.find((f) => f.name === "http_requests_total");
      count = total?.samples.find((s) => s.labels.status === "404")?.value;
      if (count !== 3) await new Promise((r) => setTimeout(r, 200));
    }
    expect(count).toBe(3);
  });

  it("answers Prometheus 2 and 3 in a format each parses", async () => {
    // Asking for protobuf first (native histograms on) gets protobuf.
    const proto = await scrape(PROMETHEUS_3_PROTO_FIRST_ACCEPT);
    expect(proto.status).toBe(200);
    expect(prometheus3MediaType(proto.headers.get("content-type"))).toBe(
      "application/vnd.google.protobuf",
    );
    expect(new TextDecoder().decode(await proto.arrayBuffer())).toContain("http_requests_total");
    for (const accept of [PROMETHEUS_3_ACCEPT, PROMETHEUS_2_ACCEPT]) {
      const res = await scrape(accept);
      expect(res.status).toBe(200);
      const contentType = res.headers.get("content-type");
      expect(contentType).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8");
      expect(prometheus3MediaType(contentType)).toBe("application/openmetrics-text");
      const families = parseChecked(await res.text());
      expect(
        sampleValue(families, "http_requests_total", {
          method: "GET",
          status: "404",
          ok: "false",
          route: "/*",
        }),
      ).toBe(3);
    }
    const plain = await scrape();
    expect(prometheus3MediaType(plain.headers.get("content-type"))).toBe("text/plain");
    parseChecked(await plain.text());
  });
});
