// Bundles the example Worker the way wrangler would (workerd conditions, ESM, no Node), for
// tests and benchmarks that run it in Miniflare.
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

const entry = fileURLToPath(new URL("../worker/index.ts", import.meta.url));

export function bundleExampleWorker(plugins: Plugin[] = []): Promise<string> {
  return bundleWorker(entry, plugins);
}

/** Any Worker entry (e.g. a test fixture around the example Worker), bundled the same way. */
export async function bundleWorker(entryFile: string, plugins: Plugin[] = []): Promise<string> {
  const result = await build({
    entryPoints: [entryFile],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    write: false,
    logLevel: "silent",
    plugins,
  });
  return result.outputFiles[0]!.text;
}
