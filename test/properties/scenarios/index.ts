/**
 * The named scenarios of the property suite, by name, so that a counterexample file can find its
 * scenario again (`npm run replay`).
 */
import type { Scenario } from "../../../src/testing/Scenario.ts"

export const scenarios: Record<string, Scenario> = {}

/** Registers scenarios under their names. */
export const register = (...list: ReadonlyArray<Scenario>): void => {
  for (const s of list) scenarios[s.name] = s
}
