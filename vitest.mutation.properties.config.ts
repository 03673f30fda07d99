import { defineConfig } from "vitest/config"

/**
 * The properties-only mutation run (`npm run mutation:properties`): a mutant counts as killed only
 * when a property or the checker finds it, never a hand-written example or a kept regression. What
 * it measures is how much of src/ the project's proof reaches on its own (issue 9). The properties
 * are test/properties (the checker's properties, the state machines, the socket and configuration
 * properties), test/fuzz (the codecs' round-trip and never-throw properties) and the NATS context's
 * properties against a real nats-server and its durable mailboxes' properties against one with
 * JetStream (test/nats/*Properties.test.ts): files made only of fast-check properties.
 */
export default defineConfig({
  test: {
    include: ["test/properties/**/*.test.ts", "test/fuzz/**/*.test.ts", "test/nats/*Properties.test.ts"],
    testTimeout: 60_000,
    env: { FC_SEED: "20261125", BEEHIVE_MUTATION: "1" },
    setupFiles: ["test/support/mutationSetup.ts"]
  }
})
