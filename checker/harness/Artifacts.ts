/**
 * Counterexample files: written when a property fails, replayed by `npm run replay -- FILE` and, for
 * fixed bugs, by the regression suite (test/regressions).
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Counterexample } from "../../src/testing/Explore.ts"

/** Where counterexamples go: $COUNTEREXAMPLE_DIR, or ./counterexamples. */
export const counterexampleDir = (): string => process.env.COUNTEREXAMPLE_DIR ?? join(process.cwd(), "counterexamples")

/** Writes a counterexample and returns its path. */
export const writeCounterexample = (name: string, example: Counterexample, dir = counterexampleDir()): string => {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name}-${example.fastCheck?.seed ?? example.seed}-${example.run}.json`)
  writeFileSync(file, `${JSON.stringify(example, null, 2)}\n`)
  return file
}

/** fast-check prints a command list's replay path inside its string form. */
export const replayPathOf = (commands: unknown): string | undefined =>
  /replayPath="([^"]*)"/.exec(String(commands))?.[1]
