// The start/stop tooling: startRedisServer, startUpstashServer options, startLocalStack and the
// `npm run local-upstash` command (the shipped `prometheus-upstash dev`, run from src/dev/cli.ts).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { Redis } from "@upstash/redis";
import { afterEach, describe, expect, it } from "vitest";
import { RedisServerNotFound } from "../../src/dev/index.ts";
import {
  startLocalStack,
  startRedisServer,
  startUpstashServer,
} from "../../tools/local-upstash/index.ts";
import { freePort } from "../../tools/local-upstash/redis-server.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = "src/dev/cli.ts";

// CLI processes this file started; a failed test must not leave one (and its redis) running.
const started: ChildProcess[] = [];
function startCli(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  started.push(child);
  return child;
}
afterEach(() => {
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  }
});

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

/** True when a redis-server process for this port is alive (pgrep). */
function redisProcessAlive(port: number): boolean {
  return spawnSync("pgrep", ["-f", `redis-server 127.0.0.1:${port}`]).status === 0;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

interface Ready {
  url: string;
  token: string;
  /** Port of the redis-server the CLI reports on stderr. */
  redisPort: number;
}

/** Resolves once the CLI printed both env lines (stdout) and the Redis it serves (stderr). */
function readyLines(child: ChildProcess): Promise<Ready> {
  let out = "";
  let err = "";
  return new Promise((resolve, reject) => {
    const check = () => {
      const url = /^UPSTASH_REDIS_REST_URL=(http:\/\/127\.0\.0\.1:\d+)$/m.exec(out)?.[1];
      const token = /^UPSTASH_REDIS_REST_TOKEN=(\S+)$/m.exec(out)?.[1];
      const redisPort = /serving Redis at redis:\/\/127\.0\.0\.1:(\d+)/.exec(err)?.[1];
      if (url && token && redisPort) resolve({ url, token, redisPort: Number(redisPort) });
    };
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      check();
    });
    child.stderr?.on("data", (c: Buffer) => {
      err += c.toString();
      check();
    });
    child.once("exit", (code) => reject(new Error(`exited ${code} before ready:\n${out}\n${err}`)));
  });
}

describe("startRedisServer", () => {
  it("starts on a free loopback port, answers, restarts on the same port, and stops", async () => {
    const server = await startRedisServer();
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(await accepting(server.port)).toBe(true);
    expect(redisProcessAlive(server.port)).toBe(true);

    server.kill();
    await new Promise((r) => setTimeout(r, 100));
    expect(await accepting(server.port)).toBe(false);

    await server.restart();
    expect(await accepting(server.port)).toBe(true);

    await server.stop();
    expect(await accepting(server.port)).toBe(false);
    expect(redisProcessAlive(server.port)).toBe(false);
    await server.stop(); // idempotent
  });

  it("starts on a port it is given", async () => {
    const port = await freePort();
    const server = await startRedisServer({ port });
    expect(server.port).toBe(port);
    await server.stop();
  });

  it("says how to install redis-server when it is not on PATH", async () => {
    const saved = process.env["PATH"];
    process.env["PATH"] = "/nonexistent";
    try {
      const error = await startRedisServer().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RedisServerNotFound);
      expect((error as Error).message).toContain("sudo apt-get install redis-server");
      expect((error as Error).message).toContain("brew install redis");
      expect((error as Error).message).toContain("docker run -p 6379:6379 redis");
    } finally {
      process.env["PATH"] = saved;
    }
  });
});

describe("startUpstashServer", () => {
  it("refuses a non-loopback host unless allowRemote", async () => {
    await expect(
      startUpstashServer({ redisUrl: "redis://127.0.0.1:1", host: "0.0.0.0" }),
    ).rejects.toThrow(/refusing to bind 0\.0\.0\.0/);
  });

  it("fails with a clear error when Redis is unreachable at start", async () => {
    const port = await freePort();
    await expect(startUpstashServer({ redisUrl: `redis://127.0.0.1:${port}` })).rejects.toThrow(
      new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${port}`),
    );
  });

  it("uses the token and port it is given", async () => {
    const redis = await startRedisServer();
    const port = await freePort();
    const server = await startUpstashServer({ redisUrl: redis.url, token: "given-token", port });
    try {
      expect(server).toMatchObject({ token: "given-token", port, url: `http://127.0.0.1:${port}` });
      const client = new Redis({ url: server.url, token: "given-token" });
      expect(await client.ping()).toBe("PONG");
      expect(server.requests()).toBe(1);
    } finally {
      await server.stop();
      await redis.stop();
    }
  });
});

describe("startLocalStack", () => {
  it("starts its own redis-server and stops it", async () => {
    const stack = await startLocalStack({ token: "t" });
    const port = Number(new URL(stack.redisUrl).port);
    expect(redisProcessAlive(port)).toBe(true);
    const client = new Redis({ url: stack.url, token: "t" });
    await client.set("k", "v");
    expect(await client.get("k")).toBe("v");
    await stack.stop();
    expect(redisProcessAlive(port)).toBe(false);
  });

  it("uses a redis-server it is given and leaves it running", async () => {
    const redis = await startRedisServer();
    const stack = await startLocalStack({ redisUrl: redis.url });
    expect(stack.redisUrl).toBe(redis.url);
    await stack.stop();
    expect(await accepting(redis.port)).toBe(true);
    await redis.stop();
  });
});

describe("npm run local-upstash", () => {
  it("prints the two env lines, serves the real client, and leaves no redis-server after SIGTERM", async () => {
    const child = startCli("npm", ["run", "local-upstash", "--", "--token", "cli-token"]);
    const { url, token, redisPort } = await readyLines(child);
    expect(token).toBe("cli-token");
    expect(redisProcessAlive(redisPort)).toBe(true);

    const client = new Redis({ url, token });
    await client.hset("h", { a: 1 });
    expect(await client.hgetall("h")).toEqual({ a: 1 });

    // SIGTERM to npm itself (it does not pass the signal through `sh -c`; the CLI follows its
    // parent out).
    child.kill("SIGTERM");
    await exited(child);
    await expect.poll(() => redisProcessAlive(redisPort), { timeout: 5_000 }).toBe(false);
    await expect.poll(() => accepting(Number(new URL(url).port)), { timeout: 5_000 }).toBe(false);
  });

  it("stops on SIGINT, with a random token and a given port", async () => {
    const port = await freePort();
    const child = startCli(process.execPath, [CLI, "dev", "--port", String(port)]);
    const { url, token, redisPort } = await readyLines(child);
    expect(url).toBe(`http://127.0.0.1:${port}`);
    expect(token.length).toBeGreaterThanOrEqual(24);
    child.kill("SIGINT");
    expect(await exited(child)).toBe(0);
    expect(redisProcessAlive(redisPort)).toBe(false);
  });

  it("uses --redis-url instead of starting a redis-server", async () => {
    const redis = await startRedisServer();
    const child = startCli(process.execPath, [CLI, "dev", "--redis-url", redis.url]);
    const { url, token } = await readyLines(child);
    const client = new Redis({ url, token });
    await client.set("via-cli", "yes");
    child.kill("SIGTERM");
    await exited(child);
    expect(await accepting(redis.port)).toBe(true);
    await redis.stop();
  });

  it("takes Upstash's size limits as flags, e.g. --max-reply-bytes", async () => {
    const child = startCli(process.execPath, [CLI, "dev", "--max-reply-bytes", "100"]);
    const { url, token } = await readyLines(child);
    const client = new Redis({ url, token, enableAutoPipelining: false });
    await client.set("long", "x".repeat(100));
    await expect(client.get("long")).rejects.toThrow(
      /^ERR max request size exceeded\. Limit: 100 bytes, Actual: 149 bytes/,
    );
    child.kill("SIGTERM");
    await exited(child);
  });

  it("refuses a limit that is not a positive number of bytes", () => {
    const result = spawnSync(process.execPath, [CLI, "dev", "--max-key-bytes", "0"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("--max-key-bytes must be a whole number from 1 to");
  });

  it("exits non-zero saying how to install redis-server (Debian, macOS, Docker) when it is missing", () => {
    const result = spawnSync(process.execPath, [CLI, "dev"], {
      cwd: ROOT,
      env: { ...process.env, PATH: "/nonexistent" },
      encoding: "utf8",
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^prometheus-upstash dev: redis-server was not found on PATH/);
    expect(result.stderr).toContain("apt-get install redis-server");
    expect(result.stderr).toContain("brew install redis");
    expect(result.stderr).toContain("docker run -p 6379:6379 redis");
    expect(result.stderr).toContain("--redis-url redis://127.0.0.1:6379");
  });

  it("names the command it runs, and prints its usage otherwise", () => {
    for (const args of [[], ["serve"], ["dev", "--nope"]]) {
      const result = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8" });
      expect(result.status).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain("Usage: prometheus-upstash dev [options]");
    }
    const help = spawnSync(process.execPath, [CLI, "--help"], { cwd: ROOT, encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("--redis-url");
  });
});
