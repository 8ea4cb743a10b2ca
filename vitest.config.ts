import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS } from "./tools/workerd-compat.ts";

// Two projects share one local stack (redis-server + local Upstash REST server), started once
// per run by test/global-setup.ts at the root: the root project always runs its global setup
// and every project inherits what it provides. (A project with the cloudflareTest plugin could
// not run it itself: the plugin's workerd resolve conditions break Node-only imports.)
export default defineConfig({
  test: {
    globalSetup: ["test/global-setup.ts"],
    projects: [
      {
        test: {
          name: "node",
          include: ["test/**/*.test.ts"],
          // Node-side tests: unit tests and tests against the real stack.
          exclude: ["test/workerd/**"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Tests inside workerd (@cloudflare/vitest-plugin). The run-wide local Upstash server
        // reaches the Worker as bindings, like the secrets of a deployed Worker.
        plugins: [
          cloudflareTest(({ inject }) => ({
            main: "./worker/index.ts",
            miniflare: {
              compatibilityDate: COMPATIBILITY_DATE,
              // The plugin turns nodejs_compat_v2 back on for its test runner (Vitest needs it),
              // so Node imports in src/ are caught by the Miniflare tests (test/adapters) and the
              // packed Worker under wrangler dev (test/consumer), which run without it. The
              // inspector module only quiets Vitest's optional probe for node:inspector.
              compatibilityFlags: [...COMPATIBILITY_FLAGS, "enable_nodejs_inspector_module"],
              bindings: {
                UPSTASH_REDIS_REST_URL: inject("upstashUrl"),
                UPSTASH_REDIS_REST_TOKEN: inject("upstashToken"),
              },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/workerd/**/*.test.ts"],
          testTimeout: 30_000,
        },
      },
    ],
  },
});
