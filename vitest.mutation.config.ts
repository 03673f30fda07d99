import { defineConfig } from "vitest/config"

/**
 * The test run StrykerJS uses for every mutant (`npm run mutation`): the whole suite minus the tests
 * that only exercise other processes or files. The README snippets, the CLI's end-to-end test, the
 * examples, the public declarations and the replay of a counterexample in a fresh process run the
 * built `dist/`, which no mutant reaches; the spec checks read only markdown, test sources and SPIN models; the socket tests
 * whose peer is a child process built from dist/ (Integration, Example) test dist/, not the mutant.
 * Everything else, all of it exercising src/ in-process (the socket context included, over the
 * memory transport and real sockets), stays in.
 */
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: [
      "**/node_modules/**",
      "test/package.test.ts",
      "test/bench.test.ts",
      "test/build.test.ts",
      "test/publicSurface.test.ts",
      "test/socket/StaleRace.test.ts",
      "test/cli.test.ts",
      "test/examples.test.ts",
      "test/spec/**",
      "test/socket/Integration.test.ts",
      "test/socket/Example.test.ts",
      "bench/**",
      "examples/**"
    ],
    testTimeout: 30_000,
    // Fixed fast-check seed (also the suite's default) and a flag for the few tests that run dist/.
    env: { FC_SEED: "20261125", BEEHIVE_MUTATION: "1" },
    setupFiles: ["test/support/mutationSetup.ts"]
  }
})
