/**
 * Replaying a counterexample file: the recorded commands of a state-machine failure, a scenario of
 * the checker's catalogue rebuilt from its input, or a user's scenario loaded from its module.
 */
import { readFileSync } from "node:fs"
import type { Command } from "../spec/model/Step.ts"
import { type Counterexample, formatTimeline, replay } from "../src/testing/Explore.ts"
import type { Scenario } from "../src/testing/Scenario.ts"
import { runCommands } from "./harness/Runner.ts"
import { machineFor } from "./harness/StateMachine.ts"
import { scenarios } from "./scenarios/index.ts"
import { loadScenarios } from "./userScenarios.ts"

export interface Replayed {
  /** The replay matched the recorded trace and outcome exactly. */
  readonly reproduced: boolean
  /** The recorded run as a timeline (what failed when the file was written). */
  readonly recorded: string
  /** This code's run of the same input and schedule, as a timeline. */
  readonly timeline: string
  /** How this code's run ended. */
  readonly outcome: Counterexample["outcome"]
  readonly example: Counterexample
}

/** Reads and checks a counterexample file; throws with a clear message if it is not one. */
export const readCounterexample = (file: string): Counterexample => {
  let example: Counterexample
  try {
    example = JSON.parse(readFileSync(file, "utf8")) as Counterexample
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`)
  }
  if (example?.format !== "beehive-effect/counterexample@1") throw new Error(`${file} is not a counterexample file`)
  return example
}

/** Replays a counterexample file. */
export const replayFile = async (file: string): Promise<Replayed> => {
  const example = readCounterexample(file)
  if (Array.isArray(example.input) && example.source === undefined) {
    const report = runCommands(example.input as ReadonlyArray<Command>, example, machineFor(example.scenario))
    const replayed = {
      ...example,
      trace: report.trace,
      outcome:
        report.mismatch === undefined
          ? ({ _tag: "Success" } as const)
          : { _tag: "Failure" as const, message: report.mismatch }
    }
    const reproduced =
      JSON.stringify(report.trace) === JSON.stringify(example.trace) &&
      JSON.stringify(replayed.outcome) === JSON.stringify(example.outcome)
    return {
      reproduced,
      recorded: formatTimeline(example),
      timeline: formatTimeline(replayed),
      outcome: replayed.outcome,
      example
    }
  }
  let scenario: Scenario | undefined
  if (example.source !== undefined) {
    scenario = (await loadScenarios(example.source)).find((s) => s.name === example.scenario)
    if (scenario === undefined) throw new Error(`${example.source} no longer exports scenario "${example.scenario}"`)
  } else {
    const make = scenarios[example.scenario]
    if (make === undefined)
      throw new Error(`unknown scenario "${example.scenario}"; known: ${Object.keys(scenarios).join(", ")}`)
    scenario = make(example.input)
  }
  const result = replay(scenario, example)
  return {
    reproduced: result.reproduced,
    recorded: formatTimeline(example),
    outcome: result.run.outcome,
    timeline: formatTimeline({
      ...example,
      trace: result.run.trace,
      outcome: result.run.outcome,
      waiting: result.run.waiting
    }),
    example
  }
}
