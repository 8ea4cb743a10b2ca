// Spawns a throwaway redis-server from PATH: loopback only, no persistence, on a free port we
// pick ourselves (redis-server refuses `--port 0`).
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { stopChild } from "./stop-child.ts";

export interface RedisServer {
  port: number;
  url: string;
  /** SIGTERM, then SIGKILL if it lingers; resolves once the process has exited. */
  stop(): Promise<void>;
  /** SIGKILL right now (for fault tests); the process is gone a moment later. */
  kill(): void;
  /** Stop if running, then start again on the same port. */
  restart(): Promise<void>;
}

/** redis-server is not on PATH; the message says how to get one. */
export class RedisServerNotFound extends Error {
  constructor() {
    super(
      [
        "redis-server was not found on PATH. Install it, or run one in Docker:",
        "  Debian/Ubuntu: sudo apt-get install redis-server",
        "  macOS:         brew install redis",
        "  Docker:        docker run -p 6379:6379 redis",
        "                 then pass --redis-url redis://127.0.0.1:6379 (redisUrl in the API)",
      ].join("\n"),
    );
    this.name = "RedisServerNotFound";
  }
}

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;

/** Every redis-server we started and have not seen exit; killed if this process exits. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAll(): void {
  for (const child of liveChildren) child.kill("SIGKILL");
}

/** Kill our redis-servers when this process exits, also by a signal it does not handle. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAll();
      // Nobody else handles it: restore the default (terminate) by re-raising it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

export function findOnPath(binary: string): string | undefined {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A port that was free a moment ago on 127.0.0.1 (the caller retries if it is taken since). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves true when the server at port answers PING with +PONG. */
function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    let reply = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("latin1");
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
  });
}

/** Spawns redis-server on port and waits until it answers PING; rejects with its output if it dies. */
async function spawnReady(binary: string, port: number): Promise<ChildProcess> {
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--daemonize",
    "no",
    "--dir",
    tmpdir(),
    "--logfile",
    "",
  ];
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
  let output = "";
  const keepTail = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-4_000);
  };
  child.stdout?.on("data", keepTail);
  child.stderr?.on("data", keepTail);
  let spawnError: Error | undefined;
  child.once("error", (err) => {
    spawnError = err;
  });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError) throw spawnError;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited during startup:\n${output.trim()}`);
    }
    if (await pingOnce(port)) return child;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  throw new Error(`redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms`);
}

export async function startRedisServer(opts: { port?: number } = {}): Promise<RedisServer> {
  const binary = findOnPath("redis-server");
  if (!binary) throw new RedisServerNotFound();
  installExitHook();

  let child: ChildProcess | undefined;
  let port = opts.port ?? 0;
  if (opts.port !== undefined) {
    child = await spawnReady(binary, opts.port);
  } else {
    // The probed port can be taken between probe and spawn; try a few.
    for (let attempt = 1; !child; attempt++) {
      port = await freePort();
      try {
        child = await spawnReady(binary, port);
      } catch (err) {
        if (attempt >= 5) throw err;
      }
    }
  }

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child) await stopChild(child, STOP_GRACE_MS);
    },
    kill() {
      child?.kill("SIGKILL");
    },
    async restart() {
      if (child) await stopChild(child, STOP_GRACE_MS);
      child = await spawnReady(binary, port);
    },
  };
}
