// TypeScript users of the packed tarball: the README's snippets, unchanged, and every entry
// point compile against the published types with `skipLibCheck: false` (so the .d.ts files are
// checked too) under moduleResolution bundler, node16 and nodenext; the web entry points
// compile without @types/node installed. publint and arethetypeswrong (ESM-only profile)
// check the tarball itself.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readmeSnippet } from "../../tools/readme-snippets.ts";
import { type ConsumerKind, consumerProject, packed, repoBin, run, userEnv } from "./consumer.ts";

/** README blocks a TypeScript project must be able to paste as they are. */
const SNIPPETS = {
  app: ["quick-start", "workers", "vercel", "lambda", "node", "direct"],
  // Without @types/node: everything but prometheus-upstash/node.
  web: ["quick-start", "workers", "vercel", "lambda", "direct"],
} as const;

/** Every public entry point and the types a user names, beyond what the snippets touch. */
const ENTRY_POINTS = `
import { Counter, Gauge, Histogram, Registry, Summary, negotiateContentType, register } from "prometheus-upstash";
import type { MetricJSON, RegistryOptions } from "prometheus-upstash";
import { prometheus, type PrometheusOptions } from "prometheus-upstash/hono";
import { flushAfterResponse, metricsHandler, withMetrics as vercel } from "prometheus-upstash/vercel";
import { flushBeforeReturn, withMetrics as lambda } from "prometheus-upstash/lambda";

const options: RegistryOptions = { prefix: "app" };
const registry = new Registry(options);
const json: Promise<MetricJSON[]> = registry.getMetricsAsJSON();
const hono: PrometheusOptions = { registry, flushAfterRequest: false };
export const parts = [Counter, Gauge, Histogram, Summary, negotiateContentType, register, json, prometheus(hono)];
export const adapters = [flushAfterResponse, metricsHandler, vercel, flushBeforeReturn, lambda];
import { pushMetrics, pushStats, RemoteWriteError, startPushing, type PushOptions, type PushResult } from "prometheus-upstash/remote-write";
const push: PushOptions = { url: "https://receiver.invalid/api/v1/push", job: "app", native: true };
const pushed: (r: Registry) => Promise<PushResult> = (r) => pushMetrics(r, push);
export const remoteWrite = [pushed, pushStats, RemoteWriteError, startPushing];
`;

const NODE_ENTRY_POINT = `
import { startAutoFlush, type AutoFlushOptions } from "prometheus-upstash/node";
const options: AutoFlushOptions = { signals: ["SIGTERM"], intervalMs: 1000 };
export const start = [startAutoFlush, options];
`;

const DEV_ENTRY_POINT = `
import { startLocalUpstash, UPSTASH_LIMITS, type LocalUpstash } from "prometheus-upstash/dev";
const start: () => Promise<LocalUpstash> = () =>
  startLocalUpstash({ port: 8079, limits: { maxReplyBytes: UPSTASH_LIMITS.maxReplyBytes / 2 } });
export const dev = [start];
`;

const RESOLUTIONS = {
  bundler: { module: "esnext", moduleResolution: "bundler" },
  node16: { module: "node16", moduleResolution: "node16" },
  nodenext: { module: "nodenext", moduleResolution: "nodenext" },
} as const;

const projects: Partial<Record<ConsumerKind, string>> = {};

beforeAll(async () => {
  for (const kind of ["app", "web"] as const) {
    const dir = join(await consumerProject(kind), "typescript");
    mkdirSync(join(dir, "src"), { recursive: true });
    for (const name of SNIPPETS[kind]) {
      writeFileSync(join(dir, "src", `readme-${name}.ts`), readmeSnippet(name));
    }
    writeFileSync(join(dir, "src", "entry-points.ts"), ENTRY_POINTS);
    if (kind === "app") {
      writeFileSync(join(dir, "src", "entry-point-node.ts"), NODE_ENTRY_POINT);
      writeFileSync(join(dir, "src", "entry-point-dev.ts"), DEV_ENTRY_POINT);
    }
    for (const [resolution, settings] of Object.entries(RESOLUTIONS)) {
      const tsconfig = {
        compilerOptions: {
          ...settings,
          target: "es2022",
          lib: ["es2023", "dom"],
          types: kind === "app" ? ["node"] : [],
          strict: true,
          skipLibCheck: false,
          noEmit: true,
        },
        include: ["src"],
      };
      writeFileSync(join(dir, `tsconfig.${resolution}.json`), JSON.stringify(tsconfig, null, 2));
    }
    projects[kind] = dir;
  }
}, 600_000);

async function tsc(kind: ConsumerKind, resolution: string): Promise<string> {
  const dir = projects[kind]!;
  const result = await run(repoBin("tsc"), ["-p", `tsconfig.${resolution}.json`], {
    cwd: dir,
    env: userEnv(),
  });
  return (
    `${result.stdout}${result.stderr}`.trim() + (result.code === 0 ? "" : `\n(exit ${result.code})`)
  );
}

describe("TypeScript consumers of the packed tarball (skipLibCheck: false)", {
  timeout: 120_000,
}, () => {
  for (const resolution of Object.keys(RESOLUTIONS)) {
    it(`compile the README snippets and every entry point (moduleResolution ${resolution})`, async () => {
      expect(await tsc("app", resolution)).toBe("");
    });

    it(`compile the web entry points without @types/node (moduleResolution ${resolution})`, async () => {
      expect(await tsc("web", resolution)).toBe("");
    });
  }
});

describe("the tarball's package.json and exports", { timeout: 120_000 }, () => {
  it("pass publint (strict)", async () => {
    const { tarball } = await packed();
    const result = await run(repoBin("publint"), ["run", tarball, "--strict"], {
      cwd: projects.app!,
      env: userEnv(),
    });
    expect(result.stdout + result.stderr).toContain("All good!");
    expect(result.code).toBe(0);
  });

  it("pass arethetypeswrong (ESM-only profile)", async () => {
    const { tarball } = await packed();
    const result = await run(
      repoBin("attw"),
      [
        tarball,
        "--profile",
        "esm-only",
        "--no-definitely-typed",
        "--format",
        "ascii",
        "--no-color",
      ],
      { cwd: projects.app!, env: userEnv() },
    );
    expect(result.stderr).toBe("");
    expect(result.code, result.stdout).toBe(0);
  });
});
