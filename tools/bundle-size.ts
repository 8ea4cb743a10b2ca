// How much of a Worker's bundle this library is: bundles an entry the way wrangler would
// (esbuild, minified, workerd conditions), with @upstash/redis and hono left external so only
// this library (and the entry's few lines) is counted, and breaks the gzip size down by module.
//
//   node tools/bundle-size.ts   the README's quick-start Worker against the repository's src/
//
// test/consumer/size.test.ts measures the same Worker against the packed tarball, installed,
// and holds the limit the README states.
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { decode } from "@jridgewell/sourcemap-codec";
import { build, type Plugin } from "esbuild";
import { readmeSnippet } from "./readme-snippets.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** What stays out of the count: the peers a Worker bundles anyway. */
const EXTERNAL = ["@upstash/redis", "hono", "hono/*"];

export interface ModuleSize {
  /** Path relative to the resolve root (e.g. "src/registry.ts", or "dist/…" from a tarball). */
  module: string;
  /** Minified bytes in the bundle. */
  bytes: number;
  /** gzip of the whole bundle minus gzip of the bundle without this module's bytes. */
  gzipShare: number;
}

export interface BundleSize {
  bytes: number;
  gzip: number;
  modules: ModuleSize[];
  /** The same shares by what the code is for (FEATURES), largest first. */
  features: { feature: string; gzipShare: number }[];
}

/**
 * What each module is for, by its path inside src/ (or dist/): the first pattern that matches.
 * A feature's share is measured like a module's (gzip without all of its bytes), so shares
 * overlap a little and do not add up to the total exactly.
 */
const FEATURES: Array<[string, RegExp]> = [
  ["Lua scripts", /^store\/lua\.generated\./],
  [
    "native histograms and their protobuf exposition",
    /^(native\/|exposition\/(accept-)?protobuf\.)/,
  ],
  [
    "scrape: decode, render, negotiate, serve",
    /^(store\/decode\.|exposition\/|adapters\/metrics-endpoint\.)/,
  ],
  ["flush: encode, schedule, retry, exactly once", /^(flush\/|store\/)/],
  ["Hono middleware", /^adapters\/hono\./],
  ["registry, metrics, labels, validation (the prom-client API)", /^/],
];

function featureOf(module: string): string {
  const inside = /(?:^|\/)(?:src|dist)\/(.*)$/.exec(module)?.[1];
  if (inside === undefined) return "the entry's own lines and bundler glue";
  return FEATURES.find(([, pattern]) => pattern.test(inside))![0];
}

export interface MeasureOptions {
  /** The entry module's code (TypeScript). */
  contents: string;
  /** Where its imports resolve from; module paths are shown relative to it. */
  resolveDir: string;
  /** Resolve "prometheus-upstash[/sub]" to the repository's src/ instead of node_modules. */
  fromSource?: boolean;
}

export async function measureBundle(options: MeasureOptions): Promise<BundleSize> {
  const result = await build({
    stdin: {
      contents: options.contents,
      resolveDir: options.resolveDir,
      sourcefile: "entry.ts",
      loader: "ts",
    },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: EXTERNAL,
    plugins: options.fromSource ? [fromSourcePlugin] : [],
    sourcemap: "external",
    outfile: "bundle.js",
    absWorkingDir: options.resolveDir,
    write: false,
    logLevel: "silent",
  });
  const js = result.outputFiles.find((f) => f.path.endsWith(".js"))!.text;
  const map = JSON.parse(result.outputFiles.find((f) => f.path.endsWith(".map"))!.text) as {
    sources: string[];
    mappings: string;
  };
  const root = options.resolveDir;
  const sourceNames = map.sources.map((s) => relative(root, resolve(root, s)));
  const byModule = attributeBytes(js, map.mappings, sourceNames);
  const gzip = gzipSize(js);
  const shareOf = (ranges: Array<[number, number]>) => gzip - gzipSize(without(js, ranges));
  const modules = [...byModule].map(([module, ranges]) => ({
    module,
    bytes: ranges.reduce((n, [from, to]) => n + Buffer.byteLength(js.slice(from, to)), 0),
    gzipShare: shareOf(ranges),
  }));
  modules.sort((a, b) => b.gzipShare - a.gzipShare || b.bytes - a.bytes);
  const rangesByFeature = new Map<string, Array<[number, number]>>();
  for (const [module, ranges] of byModule) {
    const feature = featureOf(module);
    const all = rangesByFeature.get(feature) ?? [];
    rangesByFeature.set(feature, all);
    all.push(...ranges);
  }
  const features = [...rangesByFeature].map(([feature, ranges]) => ({
    feature,
    gzipShare: shareOf(ranges),
  }));
  features.sort((a, b) => b.gzipShare - a.gzipShare);
  return { bytes: Buffer.byteLength(js), gzip, modules, features };
}

export function gzipSize(text: string): number {
  return gzipSync(text, { level: 9 }).length;
}

/** A table of the breakdown, largest share first. */
export function formatBundleSize(size: BundleSize): string {
  const lines = [`${size.gzip} B gzip, ${size.bytes} B minified`, "  gzip  feature"];
  for (const f of size.features) lines.push(`${String(f.gzipShare).padStart(6)}  ${f.feature}`);
  lines.push("  gzip  minified  module");
  for (const m of size.modules) {
    lines.push(`${String(m.gzipShare).padStart(6)}  ${String(m.bytes).padStart(8)}  ${m.module}`);
  }
  return lines.join("\n");
}

// "prometheus-upstash/hono" → src/adapters/hono.ts, per package.json's exports.
const fromSourcePlugin: Plugin = {
  name: "prometheus-upstash-from-source",
  setup(b) {
    const subpaths: Record<string, string> = {
      "": "src/index.ts",
      "/hono": "src/adapters/hono.ts",
      "/vercel": "src/adapters/vercel.ts",
      "/lambda": "src/adapters/lambda.ts",
      "/node": "src/adapters/node.ts",
    };
    b.onResolve({ filter: /^prometheus-upstash(\/.*)?$/ }, (args) => {
      const file = subpaths[args.path.slice("prometheus-upstash".length)];
      return file === undefined ? undefined : { path: resolve(repoRoot, file) };
    });
  },
};

/**
 * Which output bytes came from which source: every mapping segment covers the output from its
 * column to the next segment's, and belongs to its source. A segment without a source (e.g. the
 * inside of a multi-line template literal, which tsc's source maps leave unmapped) continues
 * the module before it; bytes before the first mapping are "(glue)".
 */
function attributeBytes(
  js: string,
  mappings: string,
  sources: string[],
): Map<string, Array<[number, number]>> {
  const out = new Map<string, Array<[number, number]>>();
  const add = (name: string, from: number, to: number) => {
    if (to <= from) return;
    const ranges = out.get(name) ?? [];
    ranges.push([from, to]);
    out.set(name, ranges);
  };
  const lines = js.split("\n");
  let lineStart = 0;
  let owner = "(glue)";
  decode(mappings).forEach((segments, line) => {
    const text = lines[line] ?? "";
    let cursor = 0;
    for (const segment of segments) {
      add(owner, lineStart + cursor, lineStart + segment[0]);
      cursor = segment[0];
      if (segment.length > 1) owner = sources[segment[1]!]!;
    }
    add(owner, lineStart + cursor, lineStart + text.length);
    lineStart += text.length + 1;
  });
  return out;
}

function without(js: string, ranges: Array<[number, number]>): string {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  let kept = "";
  let at = 0;
  for (const [from, to] of sorted) {
    kept += js.slice(at, from);
    at = to;
  }
  return kept + js.slice(at);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const contents = readmeSnippet("quick-start");
  console.log(
    formatBundleSize(await measureBundle({ contents, resolveDir: repoRoot, fromSource: true })),
  );
}
