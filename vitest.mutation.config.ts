import { defineConfig } from "vitest/config"

/**
 * The test run StrykerJS uses for every mutant (`npm run mutation`): the whole suite minus the tests
 * that only exercise other processes or files. The README snippets, the CLI's end-to-end test, the
 * examples and the replay of a counterexample in a fresh process run the built `dist/`, which no
 * mutant reaches; the spec checks read only markdown, test sources and SPIN models; the socket suite
 * (real sockets, child processes) belongs to src/contexts/socket, which is not mutated. Everything
 * else, all of it exercising src/contexts and src/effects in-process, stays in.
 */
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: [
      "**/node_modules/**",
      "test/readme.test.ts",
      "test/cli.test.ts",
      "test/examples.test.ts",
      "test/spec/**",
      "test/socket/**",
      "bench/**",
      "examples/**"
    ],
    testTimeout: 30_000,
    // Fixed fast-check seed (also the suite's default) and a flag for the few tests that run dist/.
    env: { FC_SEED: "20261125", BEEHIVE_MUTATION: "1" },
    setupFiles: ["test/support/mutationSetup.ts"]
  }
})
