import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { stopChild } from "../tools/stop-child.ts";

// Runs `wrangler dev` as a child process we can stop cleanly: wrangler's own JS entry is run
// with this Node binary (the npm `wrangler` bin is a wrapper that re-spawns Node, and an
// `npm exec` wrapper would swallow our signals), offline, on loopback. Each one keeps its local
// state (workerd's SQLite files for cache, R2, traces…) in a directory of its own, removed when
// it stops: under the default, `<cwd>/.wrangler/state`, two at once (the e2e tests run two
// Workers, and test files run in parallel) could fail to start with SQLITE_BUSY.

export interface WranglerDevOptions {
  /** Port for the Worker (loopback). */
  port: number;
  /** Port for the devtools inspector; default wrangler's (9229, so it may clash with another). */
  inspectorPort?: number;
  /** Vars handed to the Worker as `env` bindings (`--var KEY:VALUE`). */
  vars?: Record<string, string>;
  /** Directory holding wrangler.toml; defaults to the repository root. */
  cwd?: string;
  /** Where wrangler's output goes; defaults to discarding it (it is kept for errors). */
  onOutput?: (chunk: string) => void;
  /** How long to wait for "Ready on"; default 60 s. */
  readyTimeoutMs?: number;
  /** `--test-scheduled`: the Worker's scheduled() runs on `GET /__scheduled`. */
  testScheduled?: boolean;
}

export interface WranglerDev {
  url: string;
  pid: number;
  /** This instance's own state directory (`--persist-to`), removed by stop(). */
  persistTo: string;
  /** Resolves when wrangler exits, for whatever reason. */
  exited: Promise<void>;
  /** Stops wrangler and anything it started (workerd); resolves when they are gone. */
  stop(): Promise<void>;
}

const repoRoot = join(dirname(new URL(import.meta.url).pathname), "..");

/** Environment that keeps wrangler from reaching the internet. */
export const wranglerOfflineEnv = {
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  // The banner is what runs wrangler's npm update check.
  WRANGLER_HIDE_BANNER: "true",
} as const;

function wranglerCliPath(): string {
  const require = createRequire(join(repoRoot, "package.json"));
  const pkg = require.resolve("wrangler/package.json");
  return join(dirname(pkg), "wrangler-dist", "cli.js");
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are control characters
const ansi = /\u001b\[[0-9;]*[A-Za-z]/g;

export async function startWranglerDev(options: WranglerDevOptions): Promise<WranglerDev> {
  const cwd = options.cwd ?? repoRoot;
  const persistTo = mkdtempSync(join(tmpdir(), "wrangler-state-"));
  const removeState = () => rmSync(persistTo, { recursive: true, force: true });
  const args = [
    "--no-warnings",
    wranglerCliPath(),
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--show-interactive-dev-session=false",
    "--log-level",
    "info",
    "--persist-to",
    persistTo,
  ];
  if (options.inspectorPort !== undefined) {
    args.push("--inspector-port", String(options.inspectorPort));
  }
  if (options.testScheduled) args.push("--test-scheduled");
  for (const [key, value] of Object.entries(options.vars ?? {})) {
    args.push("--var", `${key}:${value}`);
  }
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...wranglerOfflineEnv, CI: "1", NO_COLOR: "1", FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pid = child.pid;
  if (pid === undefined) {
    removeState();
    throw new Error("could not spawn wrangler");
  }

  let output = "";
  const onChunk = (buf: Buffer) => {
    const text = buf.toString("utf8");
    output += text;
    if (output.length > 200_000) output = output.slice(-100_000);
    options.onOutput?.(text);
  };
  child.stdout?.on("data", onChunk);
  child.stderr?.on("data", onChunk);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const descendants = new Set<number>();
  const stop = async () => {
    for (const d of descendantsOf(pid)) descendants.add(d);
    await stopChild(child, 10_000);
    // wrangler disposes workerd on SIGTERM; make sure of it all the same.
    if (!(await allGone([...descendants], 3_000))) {
      for (const d of descendants) killQuietly(d, "SIGKILL");
      await allGone([...descendants], 3_000);
    }
    removeState();
  };

  const url = await new Promise<string>((resolve, reject) => {
    const timeout = setTimeout(() => {
      cleanup();
      void stop().then(() =>
        reject(new Error(`wrangler dev did not become ready in time. Output:\n${output}`)),
      );
    }, options.readyTimeoutMs ?? 60_000);
    const watch = () => {
      const match = /Ready on (http:\/\/\S+)/.exec(output.replace(ansi, ""));
      if (match) {
        cleanup();
        resolve(match[1]!.replace(/\/$/, ""));
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      removeState();
      reject(new Error(`wrangler dev exited early (code ${code}). Output:\n${output}`));
    };
    const cleanup = () => {
      clearTimeout(timeout);
      child.stdout?.off("data", watch);
      child.stderr?.off("data", watch);
      child.off("exit", onExit);
    };
    child.stdout?.on("data", watch);
    child.stderr?.on("data", watch);
    child.once("exit", onExit);
  });
  // Record workerd while it runs, so stop() can reap it even if wrangler dies first.
  for (const d of descendantsOf(pid)) descendants.add(d);
  return { url, pid, persistTo, exited, stop };
}

function isAlive(pid: number): boolean {
  try {
    // A zombie still answers signal 0; /proc tells them apart.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

async function allGone(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isAlive)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Every live descendant of `root` (Linux /proc; elsewhere returns none). */
export function descendantsOf(root: number): number[] {
  const parentOf = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parentOf.set(Number(entry), Number(rest[1]));
    } catch {
      // process ended while we looked
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [pid, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}
