// What a user gets from npm, rather than the repository's src/: the library packed by `npm pack`
// (whose prepack step builds dist/), installed from that tarball into fresh folders outside the
// repository by npm running on the lowest supported Node, the way a user's project gets it.
// Packing and each install happen once per test run, by whichever consumer test needs them first
// (test files run in separate workers: a lock directory in the run's scratch directory decides).
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";
import { readmeInstallPackages } from "../../tools/readme-snippets.ts";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface PackageJson {
  name: string;
  version: string;
  license?: string;
  engines?: { node?: string };
  repository?: { type?: string; url?: string };
  homepage?: string;
  bugs?: { url?: string };
  keywords?: string[];
  files?: string[];
  exports?: Record<string, { types?: string; default?: string }>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies: Record<string, string>;
}

export const repoPackage = JSON.parse(
  readFileSync(join(repoRoot, "package.json"), "utf8"),
) as PackageJson;

/** The lowest Node major the package declares (`engines.node` must read ">=N"). */
export function nodeFloor(pkg: PackageJson = repoPackage): number {
  const match = /^>=\s*(\d+)(?:\.0){0,2}$/.exec(pkg.engines?.node ?? "");
  if (!match) throw new Error(`engines.node should read ">=N", got ${pkg.engines?.node}`);
  return Number(match[1]);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs a command to its end; never rejects for a non-zero exit (see runChecked). */
export function run(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString("utf8");
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a command and rejects, with its output, unless it exits 0. */
export async function runChecked(
  command: string,
  args: string[],
  options: RunOptions,
): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} (in ${options.cwd}) exited ${result.code}\n` +
        `--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
    );
  }
  return result;
}

const isRepoBin = (dir: string) => dir.split(/[\\/]/).includes("node_modules");

/**
 * The environment of a user's shell: none of the npm_* variables our own `npm test` set (they
 * would point a nested npm at this repository), and no node_modules/.bin on PATH.
 */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== "NODE_OPTIONS") env[key] = value;
  }
  env.PATH = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => dir !== "" && !isRepoBin(dir))
    .join(delimiter);
  return { ...env, ...extra };
}

/** `name` on PATH outside any node_modules (the machine's own), resolved through symlinks. */
function machineBinary(name: string): string | undefined {
  for (const dir of userEnv().PATH!.split(delimiter)) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return realpathSync(candidate);
  }
  return undefined;
}

async function nodeMajor(bin: string): Promise<number> {
  const { stdout } = await runChecked(bin, ["--version"], { cwd: repoRoot, env: userEnv() });
  return Number(/^v(\d+)\./.exec(stdout.trim())?.[1]);
}

/**
 * The machine's own Node (first on PATH outside node_modules), which the consumer tests take
 * as the lowest supported one: npm installs with it, and the floor smoke runs on it.
 */
export async function machineNode(): Promise<{ bin: string; major: number }> {
  const bin = machineBinary("node");
  if (bin === undefined) throw new Error("no node on PATH outside node_modules");
  return { bin, major: await nodeMajor(bin) };
}

/** A binary of the repository's devDependencies (bun, deno, wrangler, tsc, attw, …). */
export function repoBin(name: string): string {
  return join(repoRoot, "node_modules", ".bin", name);
}

/** npm as a user runs it: the machine's npm CLI on the machine's Node. */
export async function userNpm(
  args: string[],
  cwd: string,
  timeoutMs = 300_000,
): Promise<RunResult> {
  const npm = machineBinary("npm");
  if (npm === undefined) throw new Error("npm not found on PATH outside node_modules");
  // The npm launcher is a JS file (bin/npm-cli.js); run it with the machine's Node (not the
  // Node 22 of node_modules/.bin), so --engine-strict judges the package by that Node.
  return runChecked((await machineNode()).bin, [npm, ...args], {
    cwd,
    env: userEnv(),
    timeoutMs,
  });
}

function runDir(): string {
  return inject("runDir");
}

/**
 * Runs `work` once per test run, across test files: the first caller takes a lock directory
 * and does it; the others wait for its result (or its error).
 */
async function once<T>(name: string, work: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
  const done = join(runDir(), `${name}.json`);
  let owner = true;
  try {
    mkdirSync(join(runDir(), `${name}.lock`));
  } catch {
    owner = false;
  }
  if (owner) {
    const publish = (outcome: { value?: T; error?: string }) => {
      writeFileSync(`${done}.tmp`, JSON.stringify(outcome));
      renameSync(`${done}.tmp`, done);
    };
    try {
      const value = await work();
      publish({ value });
      return value;
    } catch (error) {
      publish({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      throw error;
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(done)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${name}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const outcome = JSON.parse(readFileSync(done, "utf8")) as { value?: T; error?: string };
  if (outcome.error !== undefined)
    throw new Error(`${name} failed in another test file:\n${outcome.error}`);
  return outcome.value as T;
}

export interface Packed {
  /** Path of the .tgz. */
  tarball: string;
  /** Paths inside the package, e.g. "dist/index.js", "LICENSE". */
  files: string[];
}

/** `npm pack` of the repository (its prepack step builds dist/ afresh), once per run. */
export function packed(): Promise<Packed> {
  return once("pack", async () => {
    const dest = join(runDir(), "pack");
    mkdirSync(dest, { recursive: true });
    // Our own npm, from this repository: it is the maintainer's `npm pack` / `npm publish`.
    const { stdout } = await runChecked("npm", ["pack", "--json", "--pack-destination", dest], {
      cwd: repoRoot,
    });
    const [info] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
    return { tarball: join(dest, info.filename), files: info.files.map((f) => f.path) };
  });
}

/**
 * The folders a user's project would be, with the tarball installed by `npm install
 * --engine-strict` on the machine's Node (the lowest supported). `web` is exactly the README's install line
 * (what the quick start tells a Workers user to install; no Node types around); `app` has
 * what a full project may add (@vercel/functions, @types/node).
 */
function consumerPackages(kind: ConsumerKind): string[] {
  const readme = readmeInstallPackages();
  return kind === "web" ? readme : [...readme, "@vercel/functions", "@types/node"];
}

export type ConsumerKind = "app" | "web";

export function consumerProject(kind: ConsumerKind): Promise<string> {
  return once(`install-${kind}`, async () => {
    const { tarball } = await packed();
    const dir = join(runDir(), kind);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "package.json"),
      `${JSON.stringify({ name: `consumer-${kind}`, private: true, type: "module" }, null, 2)}\n`,
    );
    // This package from the tarball; the others at this repository's devDependency versions,
    // which npm's cache holds.
    const specs = consumerPackages(kind).map((name) => {
      if (name === repoPackage.name) return tarball;
      const version = repoPackage.devDependencies[name];
      if (version === undefined)
        throw new Error(`${name} is not a devDependency: no version to pin`);
      return `${name}@${version}`;
    });
    await userNpm(
      ["install", "--engine-strict", "--prefer-offline", "--no-audit", "--no-fund", ...specs],
      dir,
    );
    return dir;
  });
}

/** Where the installed package lives in a consumer folder. */
export function installedPackage(consumerDir: string): string {
  return join(consumerDir, "node_modules", repoPackage.name);
}
