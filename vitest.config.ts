import { defineConfig } from "vitest/config";

// Tests run in forked processes: the native addon keeps a thread pool per
// process, and forks keep that pool out of vitest's own worker threads.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ["default"] : ["default"],
  },
});
