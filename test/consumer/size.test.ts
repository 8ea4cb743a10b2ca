// The size claim: the README's quick-start Worker, bundled as wrangler would (esbuild,
// minified, hono and @upstash/redis external) from the installed tarball, carries no more of
// this library than the limit the README states. The breakdown by module is printed, so a
// change that crosses the limit shows where the bytes went (`npm run size` gives the same
// table for the repository's src/).
import { describe, expect, it } from "vitest";
import { formatBundleSize, measureBundle } from "../../tools/bundle-size.ts";
import { readmeSizeLimit, readmeSnippet } from "../../tools/readme-snippets.ts";
import { consumerProject } from "./consumer.ts";

describe("bundle size", () => {
  it("the quick-start Worker carries at most the README's stated gzip size of this library", async () => {
    const size = await measureBundle({
      contents: readmeSnippet("quick-start"),
      resolveDir: await consumerProject("web"),
    });
    console.log(`quick-start Worker, this library's share:\n${formatBundleSize(size)}`);
    // Every byte counted is this library's (or the snippet's few lines): the peers are external.
    for (const m of size.modules) {
      expect(m.module).toMatch(/^(entry\.ts|\(glue\)|node_modules\/prometheus-upstash\/)/);
      // …and none of it is the Node-only local development server (prometheus-upstash/dev).
      expect(m.module).not.toMatch(/^node_modules\/prometheus-upstash\/dist\/dev\//);
    }
    expect(size.gzip).toBeLessThanOrEqual(readmeSizeLimit());
  }, 600_000);
});
