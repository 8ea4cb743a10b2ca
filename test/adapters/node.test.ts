// startAutoFlush in real child processes (Node 22, the project's runtime): flushes on its
// interval, on SIGTERM (then exits as SIGTERM would), when the loop empties, and keeps gauges
// alive while the process lives — and only while it lives.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { Redis } from "@upstash/redis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Counter, Gauge, Registry } from "../../src/index.ts";
import { sharedStack, uniquePrefix } from "../helpers/stack.ts";

const CHILD = fileURLToPath(new URL("./fixtures/auto-flush-child.ts", import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
});

async function spawnChild(env: Record<string, string>): Promise<ChildProcess> {
  const { url, token } = sharedStack();
  // process.execPath is the project's Node 22 (vitest runs on it): the same as `npx node`,
  // minus the npm wrapper that would stand between us and the signals.
  const child = spawn(process.execPath, ["--no-warnings", CHILD], {
    env: { ...process.env, UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  let out = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`child exited early (${code}): ${out}`)));
  });
  return child;
}

/** Reads what the child wrote, through a registry of our own with the same definitions. */
function reader(prefix: string) {
  const { url, token } = sharedStack();
  const registry = new Registry({ redis: new Redis({ url, token }), prefix });
  new Counter({ name: "jobs_total", help: "Jobs done", registers: [registry] });
  new Gauge({ name: "workers_alive", help: "Live", aggregate: "sum", registers: [registry] });
  return async () => {
    const text = await registry.metrics();
    const value = (name: string) => {
      const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
      return m ? Number(m[1]) : undefined;
    };
    return { jobs: value("jobs_total"), alive: value("workers_alive") };
  };
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await read();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    v = await read();
  }
  return v;
}

describe("node startAutoFlush", () => {
  it("flushes on its interval while the process runs", async () => {
    const prefix = uniquePrefix("node-interval");
    const read = reader(prefix);
    const child = await spawnChild({
      PREFIX: prefix,
      INTERVAL_MS: "200",
      INCREMENTS: "3",
      STAY: "yes",
    });
    const seen = await until(read, (v) => v.jobs === 3, 3_000);
    expect(seen.jobs).toBe(3);
    expect(child.exitCode).toBeNull(); // still running: the interval did it, not an exit
  });

  it("flushes on SIGTERM, then exits the way SIGTERM would", async () => {
    const prefix = uniquePrefix("node-sigterm");
    const read = reader(prefix);
    // An interval far away: only the signal can make this flush happen.
    const child = await spawnChild({
      PREFIX: prefix,
      INTERVAL_MS: "600000",
      INCREMENTS: "5",
      STAY: "yes",
    });
    expect((await read()).jobs).toBe(0);
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: null, signal: "SIGTERM" });
    expect((await read()).jobs).toBe(5);
  });

  it("flushes when the event loop empties (beforeExit)", async () => {
    const prefix = uniquePrefix("node-exit");
    const read = reader(prefix);
    const child = await spawnChild({
      PREFIX: prefix,
      INTERVAL_MS: "600000",
      INCREMENTS: "2",
      STAY: "no",
    });
    const [code] = child.exitCode !== null ? [child.exitCode] : await once(child, "exit");
    expect(code).toBe(0);
    expect((await read()).jobs).toBe(2);
  });

  it("keeps a live process's gauges past their expiry, and lets a dead one's expire", async () => {
    const prefix = uniquePrefix("node-gauge");
    const read = reader(prefix);
    const child = await spawnChild({
      PREFIX: prefix,
      INTERVAL_MS: "250",
      GAUGE_EXPIRE_S: "1",
      STAY: "yes",
    });
    expect((await until(read, (v) => v.alive === 1, 3_000)).alive).toBe(1);
    // Three expiry periods later the value is still there: the timer keeps rewriting it.
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await read()).alive).toBe(1);
    // A process killed outright never flushes again; its gauge is gone after the expiry.
    child.kill("SIGKILL");
    await once(child, "exit");
    const after = await until(read, (v) => v.alive !== 1, 3_000);
    expect(after.alive ?? 0).toBe(0);
  });
});

const DONE_CHILD = fileURLToPath(new URL("./fixtures/done-child.ts", import.meta.url));

/**
 * Starts done-child.ts with exactly `env` for the UPSTASH_ variables (unset when absent) and
 * resolves once it printed "ready", with the time then.
 */
async function spawnDone(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; ready: number }> {
  const { UPSTASH_REDIS_REST_URL: _u, UPSTASH_REDIS_REST_TOKEN: _t, ...rest } = process.env;
  const child = spawn(process.execPath, ["--no-warnings", DONE_CHILD], {
    env: { ...rest, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  child.stderr!.resume();
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`child exited early (${code}): ${out}`)));
  });
  return { child, ready: Date.now() };
}

/** Milliseconds until the child exits, or Infinity when it is still alive after `limitMs`. */
async function msUntilExit(child: ChildProcess, since: number, limitMs: number): Promise<number> {
  const timer = new Promise<"alive">((r) => setTimeout(() => r("alive"), limitMs));
  const outcome = await Promise.race([once(child, "exit").then(() => "exited" as const), timer]);
  return outcome === "exited" ? Date.now() - since : Number.POSITIVE_INFINITY;
}

describe("startAutoFlush never keeps a process alive", () => {
  // A host that takes connections and never answers.
  let silent: Server;
  const held: Socket[] = [];
  let silentUrl = "";
  beforeAll(async () => {
    silent = createServer((socket) => held.push(socket));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const address = silent.address();
    silentUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });
  afterAll(() => {
    for (const s of held) s.destroy();
    silent.close();
  });

  it("exits when its work is done with the UPSTASH_ variables unset", async () => {
    const { child, ready } = await spawnDone({ EXIT_TIMEOUT_MS: "1000" });
    expect(await msUntilExit(child, ready, 15_000)).toBeLessThan(3_000);
    expect(child.exitCode).toBe(0);
  }, 20_000);

  it("exits when its work is done with a wrong token", async () => {
    const { url } = sharedStack();
    const { child, ready } = await spawnDone({
      UPSTASH_REDIS_REST_URL: url,
      UPSTASH_REDIS_REST_TOKEN: "wrong-token",
      EXIT_TIMEOUT_MS: "1000",
    });
    expect(await msUntilExit(child, ready, 15_000)).toBeLessThan(3_000);
    expect(child.exitCode).toBe(0);
  }, 20_000);

  it("exits within its exit timeout when Redis's host never answers", async () => {
    const { child, ready } = await spawnDone({
      UPSTASH_REDIS_REST_URL: silentUrl,
      UPSTASH_REDIS_REST_TOKEN: "token",
      EXIT_TIMEOUT_MS: "1000",
    });
    expect(await msUntilExit(child, ready, 15_000)).toBeLessThan(3_000);
    expect(child.exitCode).toBe(0);
  }, 20_000);

  for (const [what, env] of [
    ["unset variables", () => ({})],
    [
      "a wrong token",
      () => ({ UPSTASH_REDIS_REST_URL: sharedStack().url, UPSTASH_REDIS_REST_TOKEN: "x" }),
    ],
    [
      "a host that never answers",
      () => ({ UPSTASH_REDIS_REST_URL: silentUrl, UPSTASH_REDIS_REST_TOKEN: "t" }),
    ],
  ] as const) {
    it(`ends on SIGTERM within its exit timeout (default 3 s) with ${what}`, async () => {
      const { child } = await spawnDone({ ...env(), STAY: "yes" });
      // Let a few interval flushes (and their retries) get under way first.
      await new Promise((r) => setTimeout(r, 700));
      const sent = Date.now();
      child.kill("SIGTERM");
      expect(await msUntilExit(child, sent, 15_000)).toBeLessThan(4_000);
      expect(child.signalCode).toBe("SIGTERM");
    }, 20_000);
  }
});
