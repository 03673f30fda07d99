import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    // Vitest's default is one worker fewer than the cores: one on a 2-core machine. Many files here wait
    // on child processes, sockets and SPIN, so two workers use the machine (npm test: 4 min → under 3).
    maxWorkers: 2,
    reporters: ["default", ["json", { outputFile: "reports/vitest.json" }]],
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      reporter: ["text-summary", "json-summary"],
      reportsDirectory: "coverage",
      thresholds: { lines: 90, branches: 90 }
    }
  }
})
