// `npm start` (scripts/start.ts: the local stack and the example Worker under wrangler dev)
// stops everything it started when the npm process itself is sent SIGINT or SIGTERM, as a
// process manager or an IDE's stop button does (a terminal's Ctrl-C reaches the whole process
// group; this reaches npm alone).
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { repoRoot } from "../consumer/consumer.ts";

let started: ChildProcess | undefined;

afterEach(() => {
  // Whatever is left of the process group (on a failure) goes.
  if (started?.pid !== undefined && groupAlive(started.pid)) process.kill(-started.pid, "SIGKILL");
  started = undefined;
});

/** True while any process of the group `pgid` lives. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe("npm start", () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`stops everything when npm alone is sent ${signal}`, async () => {
      // In a process group of its own, so that the signal reaches npm and nothing else.
      const npm = spawn("npm", ["start"], {
        cwd: repoRoot,
        env: { ...process.env, PORT: String(await freePort()) },
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      });
      started = npm;
      let out = "";
      npm.stdout!.on("data", (b: Buffer) => {
        out += b.toString();
      });
      npm.stderr!.on("data", (b: Buffer) => {
        out += b.toString();
      });
      const exited = once(npm, "exit");
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`npm start never got ready:\n${out}`)),
          90_000,
        );
        const check = () => {
          if (out.includes("Ctrl-C stops everything")) {
            clearTimeout(timer);
            resolve();
          }
        };
        npm.stdout!.on("data", check);
        void exited.then(() => reject(new Error(`npm start exited early:\n${out}`)));
      });
      process.kill(npm.pid!, signal);
      const outcome = await Promise.race([
        exited.then(() => "exited"),
        new Promise((r) => setTimeout(() => r("still running"), 15_000)),
      ]);
      expect(outcome, out).toBe("exited");
      // wrangler, workerd, the local server and redis-server: all gone with it.
      const deadline = Date.now() + 10_000;
      while (groupAlive(npm.pid!) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(groupAlive(npm.pid!)).toBe(false);
    }, 150_000);
  }
});
