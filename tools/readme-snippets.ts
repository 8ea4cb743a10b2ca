// The README's code blocks that tests compile and run as they stand: each is marked with an
// HTML comment on the line before its fence, `<!-- snippet: name -->`, so editing the README
// edits what CI checks.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const README = join(dirname(fileURLToPath(import.meta.url)), "..", "README.md");

const MARKED_BLOCK = /^<!-- snippet: ([\w-]+) -->\n```(\w+)\n([\s\S]*?)^```$/gm;

/** Every marked block of the README by name: its language and code. */
export function readmeSnippets(
  text = readFileSync(README, "utf8"),
): Map<string, { lang: string; code: string }> {
  const out = new Map<string, { lang: string; code: string }>();
  for (const [, name, lang, code] of text.matchAll(MARKED_BLOCK)) {
    if (out.has(name!)) throw new Error(`README: two snippets named ${name}`);
    out.set(name!, { lang: lang!, code: code! });
  }
  return out;
}

/** One marked block's code; throws when the README lost it. */
export function readmeSnippet(name: string): string {
  const snippet = readmeSnippets().get(name);
  if (snippet === undefined)
    throw new Error(`README has no block marked <!-- snippet: ${name} -->`);
  return snippet.code;
}

/** The packages of the README's install line (`<!-- snippet: install -->`: `npm install a b …`). */
export function readmeInstallPackages(): string[] {
  const line = readmeSnippet("install").trim();
  const match = /^npm install((?: [@\w./-]+)+)$/.exec(line);
  if (!match) throw new Error(`README install line is not "npm install <packages>": ${line}`);
  return match[1]!.trim().split(" ");
}

/** The bundle-size limit the README states (`<!-- size-limit -->**N bytes gzip**`), in bytes. */
export function readmeSizeLimit(text = readFileSync(README, "utf8")): number {
  const match = /<!-- size-limit -->\*\*([\d,]+) bytes gzip\*\*/.exec(text);
  if (!match) throw new Error("README states no size limit (<!-- size-limit -->**N bytes gzip**)");
  return Number(match[1]!.replaceAll(",", ""));
}
