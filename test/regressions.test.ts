import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { runCommands } from "../checker/harness/Runner.ts"
import { machineFor } from "../checker/harness/StateMachine.ts"
import { scenarios } from "../checker/scenarios/index.ts"
import type { Command } from "../spec/model/Step.ts"
import { replay as replayStrategy } from "../src/effects/Strategy.ts"
import type { Counterexample } from "../src/testing/Explore.ts"
import { runScenario, type TraceEvent } from "../src/testing/Scenario.ts"

const invocations = (trace: ReadonlyArray<TraceEvent>): Array<string> =>
  trace.filter((e) => e.kind === "invoke").map((e) => `${e.fiber}: ${e.op}`)

const dir = join(import.meta.dirname, "regressions")
const files = readdirSync(dir).filter((f) => f.endsWith(".json"))

describe("regressions: every kept counterexample of a fixed bug now passes under its recorded schedule", () => {
  it("R-DET-5 the regression folder is not empty", () => expect(files.length).toBeGreaterThan(0))

  for (const file of files) {
    it(`R-DET-5 ${file}`, () => {
      const example = JSON.parse(readFileSync(join(dir, file), "utf8")) as Counterexample
      if (Array.isArray(example.input)) {
        const report = runCommands(example.input as ReadonlyArray<Command>, example, machineFor(example.scenario))
        expect(report.mismatch).toBeUndefined()
        // Checked to the end: a pass is not a run whose model states outgrew the oracle's bound.
        expect(report.unchecked).toBeUndefined()
      } else {
        const make = scenarios[example.scenario]
        expect(make, `scenario ${example.scenario}`).toBeDefined()
        const run = runScenario(make!(example.input), replayStrategy(example.choices, example.preemptions))
        expect(run.outcome).toEqual({ _tag: "Success" })
        // The recorded schedule still drives the operations that failed, in the same order: a pass
        // is not a schedule that drifted away from the bug.
        const recorded = invocations(example.trace)
        expect(invocations(run.trace).slice(0, recorded.length)).toEqual(recorded)
      }
    })
  }
})
