/**
 * Properties over scenario families: fast-check generates the scenario's input and the schedule (a
 * list of choices among ready tasks and a few preemption points, both shrinking towards FIFO); a run
 * that fails (a violated check, a defect, a deadlock, a livelock) is shrunk, written as a
 * counterexample file and reported with its timeline.
 */
import fc from "fast-check"
import { replay } from "../../src/effects/Strategy.ts"
import { type Counterexample, formatTimeline } from "../../src/testing/Explore.ts"
import { isFailure, runScenario } from "../../src/testing/Scenario.ts"
import { fcParams } from "../fcParams.ts"
import { scenarios } from "../scenarios/index.ts"
import { writeCounterexample } from "./Artifacts.ts"

export interface PropertyOptions {
  readonly runs: number
  /** Whether fibers may be preempted at Effect operations (default true). */
  readonly preemption?: boolean | undefined
}

export const scheduleArbitrary = (preemption: boolean) =>
  fc.tuple(
    fc.array(fc.nat({ max: 7 }), { maxLength: 64 }),
    preemption ? fc.array(fc.nat({ max: 3000 }), { maxLength: 6 }) : fc.constant([] as Array<number>)
  )

/** Checks that every run of the named scenario family succeeds; throws with a counterexample file otherwise. */
export const checkScenarios = <I>(name: string, input: fc.Arbitrary<I>, options: PropertyOptions): void => {
  const make = scenarios[name]
  if (make === undefined) throw new Error(`no scenario ${name}`)
  const run = (value: I, choices: ReadonlyArray<number>, preemptions: ReadonlyArray<number>) =>
    runScenario(make(value), replay(choices, preemptions))
  const property = fc.property(
    input,
    scheduleArbitrary(options.preemption ?? true),
    (value, [choices, preemptions]) => {
      const result = run(value, choices, preemptions)
      if (isFailure(result.outcome)) throw new Error(JSON.stringify(result.outcome))
    }
  )
  const details = fc.check(property, fcParams(options.runs))
  if (!details.failed || details.counterexample === null) return
  const [value, [choices, preemptions]] = details.counterexample
  const result = run(value, choices, preemptions)
  const example: Counterexample = {
    format: "beehive-effect/counterexample@1",
    scenario: name,
    strategy: "replay",
    seed: details.seed,
    run: details.numRuns,
    choices: result.decisions.choices,
    preemptions: result.decisions.preemptions,
    outcome: result.outcome,
    waiting: result.waiting,
    trace: result.trace,
    fastCheck: { seed: details.seed, path: details.counterexamplePath ?? "" },
    input: value
  }
  const file = writeCounterexample(name, example)
  throw new Error(
    `${name}: ${JSON.stringify(result.outcome)}\ninput: ${JSON.stringify(value)}\n` +
      `counterexample: ${file} (npm run replay -- ${file})\n` +
      `fast-check: seed ${details.seed}, path "${details.counterexamplePath}"\n\n${formatTimeline(example)}`
  )
}
