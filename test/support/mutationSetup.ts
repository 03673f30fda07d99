/**
 * Setup of mutation-testing runs (vitest.mutation.config.ts): every fast-check run that does not get
 * its parameters from `fcParams` still uses the suite's fixed seed, so a mutant's verdict never
 * depends on chance.
 */
import fc from "fast-check"

fc.configureGlobal({ seed: 20261125 })
