// Any bundler: the packed tarball, installed into a fresh folder, bundled by Vite (Rolldown),
// Rollup and webpack as a user's build would (package.json's "sideEffects": false honoured,
// tree-shaking on), and the bundles run with Node. A metric defined without `registers` joins
// the default registry however little of the library the program imports.
import { copyFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { nodeResolve } from "@rollup/plugin-node-resolve";
import { rollup } from "rollup";
import { build as viteBuild } from "vite";
import { beforeAll, describe, expect, it } from "vitest";
import webpack from "webpack";
import { sharedStack } from "../helpers/stack.ts";
import { consumerProject, machineNode, runChecked, userEnv } from "./consumer.ts";

const fixtures = join(import.meta.dirname, "fixtures");
const ENTRIES = ["bundled-counter.mjs", "bundled-register.mjs"] as const;
let app = "";

beforeAll(async () => {
  app = await consumerProject("app");
  for (const file of ENTRIES) copyFileSync(join(fixtures, file), join(app, file));
}, 600_000);

type Bundler = (entry: string, outDir: string) => Promise<string>;

const bundlers: Record<string, Bundler> = {
  async vite(entry, outDir) {
    await viteBuild({
      root: app,
      configFile: false,
      logLevel: "warn",
      build: {
        outDir,
        emptyOutDir: true,
        minify: true,
        lib: { entry: join(app, entry), formats: ["es"], fileName: "bundle" },
        rolldownOptions: { external: [/^node:/] },
      },
    });
    return join(outDir, "bundle.js");
  },
  async rollup(entry, outDir) {
    const bundle = await rollup({
      input: join(app, entry),
      plugins: [nodeResolve({ rootDir: app })],
      external: [/^node:/],
      onwarn: () => {},
    });
    const file = join(outDir, "bundle.mjs");
    await bundle.write({ file, format: "es" });
    await bundle.close();
    return file;
  },
  async webpack(entry, outDir) {
    const stats = await new Promise<webpack.Stats | undefined>((resolve, reject) => {
      webpack(
        {
          mode: "production", // sideEffects and usedExports optimisations on
          context: app,
          entry: join(app, entry),
          target: "node20",
          output: { path: outDir, filename: "bundle.mjs", module: true },
          experiments: { outputModule: true },
        },
        (error, result) => (error ? reject(error) : resolve(result)),
      );
    });
    if (stats?.hasErrors()) throw new Error(stats.toString({ all: false, errors: true }));
    return join(outDir, "bundle.mjs");
  },
};

describe("the packed tarball bundled by other bundlers", { timeout: 180_000 }, () => {
  for (const [name, bundle] of Object.entries(bundlers)) {
    describe(name, () => {
      it("a counter without `registers` is created and counts", async () => {
        const outDir = join(app, `out-${name}-counter`);
        rmSync(outDir, { recursive: true, force: true });
        const file = await bundle("bundled-counter.mjs", outDir);
        const { bin } = await machineNode();
        const { stdout } = await runChecked(bin, [file], { cwd: app, env: userEnv() });
        expect(stdout).toContain("counted");
      });

      it("the default registry flushes and scrapes it", async () => {
        const outDir = join(app, `out-${name}-register`);
        rmSync(outDir, { recursive: true, force: true });
        const file = await bundle("bundled-register.mjs", outDir);
        const { url, token } = sharedStack();
        const metric = `bundled_${name}_${Date.now().toString(36)}_total`;
        const { bin } = await machineNode();
        const { stdout } = await runChecked(bin, [file], {
          cwd: app,
          env: userEnv({ SMOKE_URL: url, SMOKE_TOKEN: token, METRIC_NAME: metric }),
        });
        const text = JSON.parse(stdout.trim().split("\n").at(-1)!) as string;
        expect(text).toContain(`\n${metric} 3\n`);
      });
    });
  }
});
