// scripts/wrangler-dev.ts starts every `wrangler dev` with a state directory of its own: under
// wrangler's default (`<cwd>/.wrangler/state`) two at once share workerd's SQLite files, and
// one of them could fail to start with SQLITE_BUSY (seen in CI, in the native e2e test's pair
// of Workers). Two instances in one folder here: both serve, neither writes state into the
// folder, and each removes its own on stop.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startWranglerDev, type WranglerDev } from "../../scripts/wrangler-dev.ts";
import { freePort } from "../../tools/local-upstash/redis-server.ts";

const folder = mkdtempSync(join(tmpdir(), "wrangler-pair-"));
writeFileSync(join(folder, "worker.js"), 'export default { fetch: () => new Response("ok") };\n');
writeFileSync(
  join(folder, "wrangler.toml"),
  [
    'name = "pair"',
    'main = "worker.js"',
    'compatibility_date = "2026-11-02"',
    'compatibility_flags = ["no_nodejs_compat"]',
  ].join("\n"),
);
const workers: WranglerDev[] = [];

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  rmSync(folder, { recursive: true, force: true });
}, 30_000);

describe("wrangler dev, two at once in one folder", () => {
  it("both serve, keep their state apart from the folder and from each other, and remove it", async () => {
    const start = async () =>
      startWranglerDev({ cwd: folder, port: await freePort(), inspectorPort: await freePort() });
    workers.push(...(await Promise.all([start(), start()])));
    for (const w of workers) expect(await (await fetch(w.url)).text()).toBe("ok");

    expect(existsSync(join(folder, ".wrangler", "state"))).toBe(false);
    const [a, b] = workers.map((w) => w.persistTo);
    expect(a).not.toBe(b);
    for (const dir of [a, b]) expect(existsSync(join(dir!, "v3"))).toBe(true);

    await Promise.all(workers.splice(0).map((w) => w.stop()));
    for (const dir of [a, b]) expect(existsSync(dir!)).toBe(false);
  }, 120_000);
});
