import { defineConfig } from "vitest/config";

// Node-side tests: unit tests and tests against a real redis-server behind the local
// Upstash REST server (started once per run by test/global-setup.ts).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          include: ["test/**/*.test.ts"],
          exclude: ["test/workerd/**"],
          globalSetup: ["test/global-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
