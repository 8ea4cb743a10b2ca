// What npm shows and ships: the README a user reads first (install line, quick start, links
// that work on npmjs.com), the package.json fields npm resolves them with, the LICENSE, source
// and declaration maps that lead into the shipped TypeScript, and a declared dependency for
// every module the published code and types import.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  README,
  readmeInstallPackages,
  readmeSnippet,
  readmeSnippets,
} from "../../tools/readme-snippets.ts";
import { COMPATIBILITY_DATE } from "../../tools/workerd-compat.ts";
import {
  consumerProject,
  installedPackage,
  nodeFloor,
  type PackageJson,
  packed,
  repoPackage,
  repoRoot,
} from "./consumer.ts";

const readme = readFileSync(README, "utf8");
const GITHUB = "https://github.com/prometheus-upstash/prometheus-upstash";
const RAW = "https://raw.githubusercontent.com/prometheus-upstash/prometheus-upstash/main/";

/** The package name an import specifier names ("hono/route" → "hono"), or undefined for paths. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("/")) return undefined;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

function importsOf(code: string): string[] {
  const found = [
    ...code.matchAll(/\bfrom\s*["']([^"']+)["']/g),
    ...code.matchAll(/\bimport\s*\(\s*(?:\/\*[^*]*\*\/\s*)*["']([^"']+)["']/g),
    ...code.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
  ];
  return [...new Set(found.map((m) => m[1]!))];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

let pkgDir = "";
let shipped: PackageJson;
let files: Set<string>;

beforeAll(async () => {
  pkgDir = installedPackage(await consumerProject("web"));
  shipped = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as PackageJson;
  files = new Set((await packed()).files);
}, 600_000);

describe("the README a user meets first", () => {
  const sections = readme.split(/^(?=## )/m).slice(1);
  const quickStart = sections[0] ?? "";

  it("is read top to bottom: at most 300 lines", () => {
    expect(readme.trimEnd().split("\n").length).toBeLessThanOrEqual(300);
  });

  it("opens with a user's quick start: install, a Worker, wrangler, its secrets, a local run", () => {
    expect(quickStart).toMatch(/^## Quick start\n/);
    expect(quickStart).toContain("<!-- snippet: install -->");
    expect(quickStart).toContain("<!-- snippet: quick-start -->");
    expect(quickStart).toContain("<!-- snippet: wrangler-toml -->");
    expect(quickStart).toContain("npm install --save-dev wrangler");
    expect(quickStart).toContain("wrangler secret put UPSTASH_REDIS_REST_URL");
    expect(quickStart).toContain("wrangler secret put UPSTASH_REDIS_REST_TOKEN");
    expect(quickStart).toMatch(/workers\.dev\/metrics/);
    expect(quickStart).toContain(".dev.vars");
    expect(quickStart).toContain("await registry.flush()");
  });

  it("ends with the repository's own two commands, in a section of their own", () => {
    const own = sections.findIndex((s) => s.startsWith("## Working on this repository\n"));
    expect(own).toBeGreaterThanOrEqual(sections.length - 2);
    expect(sections[own]).toMatch(/^npm start /m);
    expect(sections[own]).toMatch(/^npm test /m);
    const scripts = (
      JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    expect(scripts.start).toBeDefined();
    expect(scripts.test).toBe("vitest run");
    expect(readFileSync(join(repoRoot, ".ci/run"), "utf8")).toMatch(/^npm test$/m);
  });

  it("gives a wrangler.toml whose compatibility date the bundled workerd supports", () => {
    const toml = readmeSnippet("wrangler-toml");
    expect(toml).toMatch(/^name = "[\w-]+"$/m);
    expect(toml).toMatch(/^main = "src\/index\.ts"$/m);
    expect(toml).toContain(`compatibility_date = "${COMPATIBILITY_DATE}"`);
  });

  it("gives a Prometheus config promtool loads and PromQL that parses (no Grafana variables)", () => {
    const dir = mkdtempSync(join(tmpdir(), "readme-prometheus-"));
    try {
      writeFileSync(join(dir, "prometheus.yml"), readmeSnippet("prometheus-config"));
      execFileSync("promtool", ["check", "config", join(dir, "prometheus.yml")], { stdio: "pipe" });
      for (const name of ["promql", "promql-native"]) {
        const queries = readmeSnippet(name)
          .split("\n")
          .filter((l) => l.trim() !== "");
        const rules = queries.map(
          (expr, i) =>
            `      - record: readme:${name.replace("-", "_")}:${i}\n        expr: ${JSON.stringify(expr)}`,
        );
        const file = join(dir, `${name}.rules.yml`);
        writeFileSync(file, `groups:\n  - name: readme\n    rules:\n${rules.join("\n")}\n`);
        execFileSync("promtool", ["check", "rules", file], { stdio: "pipe" });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("installs this package, its required peers and everything the quick start imports", () => {
    const install = readmeInstallPackages();
    expect(install[0]).toBe(repoPackage.name);
    const required = Object.keys(repoPackage.peerDependencies ?? {}).filter(
      (name) => !repoPackage.peerDependenciesMeta?.[name]?.optional,
    );
    for (const name of required) expect(install).toContain(name);
    for (const specifier of importsOf(readmeSnippet("quick-start"))) {
      expect(install).toContain(packageOf(specifier));
    }
  });

  it("has only links and images that work on npmjs.com (absolute, or anchors that exist)", () => {
    const headings = new Set(
      [...readme.matchAll(/^#+ (.+)$/gm)].map((m) =>
        m[1]!
          .toLowerCase()
          .replace(/[^\w\- ]/g, "")
          .replace(/ /g, "-"),
      ),
    );
    const tracked = new Set(
      execFileSync("git", ["ls-files"], { cwd: repoRoot, encoding: "utf8" }).split("\n"),
    );
    const targets = [...readme.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) {
      if (target.startsWith("#")) {
        expect(headings, `anchor ${target}`).toContain(target.slice(1));
        continue;
      }
      expect(target, "relative links break on npm").toMatch(/^https:\/\//);
      // Links into this repository must name something it has.
      const inRepo = target.startsWith(`${GITHUB}/`)
        ? /^\/(?:blob|tree)\/main\/(.+)$/.exec(target.slice(GITHUB.length))?.[1]
        : target.startsWith(RAW)
          ? target.slice(RAW.length)
          : undefined;
      if (inRepo !== undefined) {
        const exists = tracked.has(inRepo) || [...tracked].some((f) => f.startsWith(`${inRepo}/`));
        expect(exists, `${target} names no tracked file`).toBe(true);
      }
    }
  });

  it("marks each snippet once, before a fence of code", () => {
    const marks = [...readme.matchAll(/<!-- snippet: ([\w-]+) -->/g)].map((m) => m[1]!);
    expect([...readmeSnippets().keys()].sort()).toEqual([...new Set(marks)].sort());
    expect(marks.length).toBe(new Set(marks).size);
  });
});

describe("the package.json npm shows", () => {
  it("names the repository, homepage, issue tracker and keywords", () => {
    expect(shipped.repository).toEqual({ type: "git", url: `git+${GITHUB}.git` });
    expect(shipped.homepage).toBe(`${GITHUB}#readme`);
    expect(shipped.bugs).toEqual({ url: `${GITHUB}/issues` });
    expect(shipped.keywords).toEqual(expect.arrayContaining(["prometheus", "upstash"]));
  });

  it("declares the lowest Node the published code runs on, as one floor", () => {
    // runtimes.test.ts runs the smoke on the machine's Node and requires it to be this floor,
    // and every consumer folder is installed by `npm install --engine-strict` on it (Node 20
    // here). Below it, Node 18 lacks the global `crypto` (getRandomValues, subtle) the
    // library uses: "ReferenceError: crypto is not defined" on the first flush.
    expect(shipped.engines).toEqual({ node: `>=${nodeFloor(shipped)}` });
  });
});

describe("the files npm ships", () => {
  it("include an MIT LICENSE", () => {
    expect(files).toContain("LICENSE");
    const license = readFileSync(join(pkgDir, "LICENSE"), "utf8");
    expect(license).toMatch(/^MIT License\n/);
    expect(shipped.license).toBe("MIT");
  });

  it("ship src/ only as the target of source and declaration maps, every file of it used", () => {
    const used = new Set<string>();
    const outputs = filesUnder(join(pkgDir, "dist")).filter(
      (f) => f.endsWith(".js") || f.endsWith(".d.ts"),
    );
    expect(outputs.length).toBeGreaterThan(0);
    for (const output of outputs) {
      const text = readFileSync(output, "utf8");
      const name = relative(pkgDir, output);
      const mapRef = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1];
      expect(mapRef, `${name} has no map`).toBe(`${output.split("/").at(-1)}.map`);
      const mapPath = resolve(dirname(output), mapRef!);
      expect(files, `${name}'s map is not shipped`).toContain(relative(pkgDir, mapPath));
      const map = JSON.parse(readFileSync(mapPath, "utf8")) as { sources: string[] };
      for (const source of map.sources) {
        const target = relative(pkgDir, resolve(dirname(mapPath), source));
        expect(target).toMatch(/^src\/.+\.ts$/);
        expect(files, `${name} maps to ${target}, not shipped`).toContain(target);
        used.add(target);
      }
    }
    const shippedSources = [...files].filter((f) => f.startsWith("src/"));
    expect(shippedSources.sort()).toEqual([...used].sort());
  });

  it("import nothing that package.json does not declare", () => {
    const declared = new Set([
      ...Object.keys(shipped.dependencies ?? {}),
      ...Object.keys(shipped.peerDependencies ?? {}),
    ]);
    for (const file of filesUnder(join(pkgDir, "dist"))) {
      if (!file.endsWith(".js") && !file.endsWith(".d.ts")) continue;
      const name = relative(pkgDir, file);
      const code = readFileSync(file, "utf8");
      for (const specifier of importsOf(code)) {
        if (specifier.startsWith("node:")) {
          // The one Node-only module of the library, and the local development server
          // (`prometheus-upstash dev`, its own entry); their types come from @types/node.
          expect(name, `${specifier} imported`).toMatch(
            /^dist\/(adapters\/node\.(js|d\.ts)|dev\/[\w-]+\.(js|d\.ts))$/,
          );
          continue;
        }
        const dependency = packageOf(specifier);
        if (dependency !== undefined)
          expect(declared, `${name} imports ${specifier}`).toContain(dependency);
      }
      if (name.endsWith(".d.ts")) {
        for (const [, types] of code.matchAll(/\/\/\/ <reference types="([^"]+)"/g)) {
          expect(declared, `${name} references types ${types}`).toContain(`@types/${types}`);
        }
        if (/\bNodeJS\./.test(code)) {
          expect(declared, `${name} names the NodeJS namespace`).toContain("@types/node");
          expect(code, `${name} must load Node's types itself`).toContain(
            '/// <reference types="node"',
          );
        }
      }
    }
    // Peers that only some entry points need are optional, so Workers users are not asked for them.
    for (const name of ["hono", "@vercel/functions", "@types/node"]) {
      expect(shipped.peerDependenciesMeta?.[name]?.optional, name).toBe(true);
    }
  });
});
