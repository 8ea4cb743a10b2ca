// The shipped local-development command, as a user meets it: `npx prometheus-upstash dev` in a
// fresh folder where the packed tarball is installed (npm and Node are the machine's, the lowest
// supported Node), read the two variables it prints, run a user's tiny Hono Worker under
// `wrangler dev` against them (as `--var`s, then as the .dev.vars file the docs suggest), see a
// request on /metrics, then stop everything and find no redis-server or server left behind.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type WranglerDev } from "../../scripts/wrangler-dev.ts";
import { freePort } from "../../tools/local-upstash/redis-server.ts";
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS } from "../../tools/workerd-compat.ts";
import { parseChecked } from "../helpers/exposition.ts";
import { consumerProject, machineNode, userEnv } from "./consumer.ts";

const USER_WORKER = `import { Hono } from "hono";
import { prometheus } from "prometheus-upstash/hono";

const { registerMetrics, printMetrics } = prometheus();
const app = new Hono();
app.use("*", registerMetrics);
app.get("/hello", (c) => c.text("hello"));
app.get("/metrics", printMetrics);
export default app;
`;

interface DevCommand {
  child: ChildProcess;
  vars: { UPSTASH_REDIS_REST_URL: string; UPSTASH_REDIS_REST_TOKEN: string };
  redisPort: number;
  restPort: number;
  stdout: () => string;
}

const started: ChildProcess[] = [];

/** `npx prometheus-upstash dev` in `cwd`, in a process group of its own; resolves once ready. */
function startDevCommand(cwd: string): Promise<DevCommand> {
  const child = spawn("npx", ["--no-install", "prometheus-upstash", "dev"], {
    cwd,
    env: userEnv(),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, like a command typed in a terminal
  });
  started.push(child);
  let out = "";
  let err = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 60 s:\n${out}\n${err}`)), 60_000);
    const check = () => {
      const url = /^UPSTASH_REDIS_REST_URL=(\S+)$/m.exec(out)?.[1];
      const token = /^UPSTASH_REDIS_REST_TOKEN=(\S+)$/m.exec(out)?.[1];
      const redisPort = /serving Redis at redis:\/\/127\.0\.0\.1:(\d+)/.exec(err)?.[1];
      if (!url || !token || !redisPort) return;
      clearTimeout(timer);
      resolve({
        child,
        vars: { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token },
        redisPort: Number(redisPort),
        restPort: Number(new URL(url).port),
        stdout: () => out,
      });
    };
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      check();
    });
    child.stderr!.on("data", (c: Buffer) => {
      err += c.toString();
      check();
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`npx prometheus-upstash dev exited ${code}:\n${out}\n${err}`));
    });
  });
}

function redisProcessAlive(port: number): boolean {
  return spawnSync("pgrep", ["-f", `redis-server 127.0.0.1:${port}`]).status === 0;
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function expectAllGone(dev: DevCommand): Promise<void> {
  await expect.poll(() => redisProcessAlive(dev.redisPort), { timeout: 10_000 }).toBe(false);
  await expect.poll(() => accepting(dev.restPort), { timeout: 10_000 }).toBe(false);
  await expect
    .poll(() => dev.child.exitCode !== null || dev.child.signalCode !== null, { timeout: 10_000 })
    .toBe(true);
}

let project = "";
let worker: WranglerDev | undefined;

beforeAll(async () => {
  project = await consumerProject("web");
}, 600_000);

afterAll(async () => {
  await worker?.stop();
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}, 30_000);

describe("npx prometheus-upstash dev, from the packed tarball", { timeout: 180_000 }, () => {
  it("serves a user's Worker under wrangler dev, and stops with its parent npm (SIGTERM)", async () => {
    const { major } = await machineNode();
    expect(major).toBeGreaterThanOrEqual(20);
    const dev = await startDevCommand(project);
    // stdout carries the two variables and nothing else, so `> .dev.vars` works.
    expect(dev.stdout().trim().split("\n")).toHaveLength(2);

    const dir = join(project, "dev-command-worker");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "index.ts"), USER_WORKER);
    writeFileSync(
      join(dir, "wrangler.toml"),
      [
        'name = "dev-command-worker"',
        'main = "index.ts"',
        `compatibility_date = "${COMPATIBILITY_DATE}"`,
        `compatibility_flags = ${JSON.stringify(COMPATIBILITY_FLAGS)}`,
        "",
      ].join("\n"),
    );
    worker = await startWranglerDev({
      cwd: dir,
      port: await freePort(),
      inspectorPort: await freePort(),
      vars: dev.vars,
    });

    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${worker.url}/hello`);
      expect(await res.text()).toBe("hello");
    }
    // The flush runs in waitUntil after each response: poll until both have landed.
    let count: number | undefined;
    const deadline = Date.now() + 20_000;
    while (count !== 2 && Date.now() < deadline) {
      const families = parseChecked(await (await fetch(`${worker.url}/metrics`)).text());
      count = families
        .find((f) => f.name === "http_requests_total")
        ?.samples.find((s) => s.labels.route === "/hello" && s.labels.status === "200")?.value;
      if (count !== 2) await new Promise((r) => setTimeout(r, 200));
    }
    expect(count).toBe(2);
    await worker.stop();
    worker = undefined;

    // SIGTERM to npm alone (a process manager, an IDE's stop button): nothing stays behind.
    dev.child.kill("SIGTERM");
    await expectAllGone(dev);
  });

  it("stops when npm itself dies (SIGKILL: no signal passed on), leaving nothing behind", async () => {
    const dev = await startDevCommand(project);
    dev.child.kill("SIGKILL");
    await expect.poll(() => redisProcessAlive(dev.redisPort), { timeout: 10_000 }).toBe(false);
    await expect.poll(() => accepting(dev.restPort), { timeout: 10_000 }).toBe(false);
  });

  it("writes .dev.vars that wrangler dev reads, and stops on Ctrl-C (SIGINT to its group)", async () => {
    const dev = await startDevCommand(project);
    const dir = join(project, "dev-command-worker");
    // What docs/local-development.md tells a user: the command's stdout is the .dev.vars file.
    writeFileSync(join(dir, ".dev.vars"), dev.stdout());
    worker = await startWranglerDev({
      cwd: dir,
      port: await freePort(),
      inspectorPort: await freePort(),
    });
    expect(await (await fetch(`${worker.url}/hello`)).text()).toBe("hello");
    await expect
      .poll(
        async () =>
          (await (await fetch(`${worker!.url}/metrics`)).text()).includes('route="/hello"'),
        {
          timeout: 20_000,
        },
      )
      .toBe(true);
    await worker.stop();
    worker = undefined;

    expect(redisProcessAlive(dev.redisPort)).toBe(true);
    process.kill(-dev.child.pid!, "SIGINT");
    await expectAllGone(dev);
  });
});
