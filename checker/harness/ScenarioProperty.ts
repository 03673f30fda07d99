/**
 * Properties over scenario families: fast-check generates the scenario's input and the schedule (a
 * list of choices among ready tasks and a few preemption points, both shrinking towards FIFO); a run
 * that fails (a violated check, a defect, a deadlock, a livelock) is shrunk, written as a
 * counterexample file and reported with its timeline.
 *
 * Preemption points are fitted to the run (measure, then choose): a first run under the generated
 * choices without preemption counts the contended operations it passes (where another task is ready),
 * and each generated point is a fraction of that count, so it falls inside the run wherever the run
 * ends; points drawn as absolute operation numbers mostly fell past the end of the run. The failing
 * run's decisions are stored as absolute operation numbers, as every counterexample file keeps them.
 */
import fc from "fast-check"
import { fitPoints, metered, preemptingAt, refitPoints, replay } from "../../src/effects/Strategy.ts"
import { type Counterexample, coverageMeter, formatTimeline, type ScheduleCoverage } from "../../src/testing/Explore.ts"
import { isFailure, runScenario, type Scenario, type ScenarioRun } from "../../src/testing/Scenario.ts"
import { fcParams } from "../fcParams.ts"
import { scenarios } from "../scenarios/index.ts"
import { writeCounterexample } from "./Artifacts.ts"

export interface PropertyOptions {
  readonly runs: number
  /** Whether fibers may be preempted at Effect operations (default true). */
  readonly preemption?: boolean | undefined
}

/** Resolution of a generated preemption point: a fraction of the run in steps of 1/65,536. */
const fractionSteps = 0x10000

const none = fc.constant([] as Array<number>)

/**
 * The schedule part of a property's input: choices among ready tasks, and, in half of the runs, 1 to
 * 6 preemption points as fractions of the run's contended operations (in 1/65,536ths), shrinking
 * towards no preemption, then towards the earliest operation. Half, because a preempted run costs a
 * measuring run too: the other half keeps the suite's time while the preempted half has all its
 * points inside the run.
 */
export const scheduleArbitrary = (preemption: boolean) =>
  fc.tuple(
    fc.array(fc.nat({ max: 7 }), { maxLength: 64 }),
    preemption ? fc.oneof(none, fc.array(fc.nat({ max: fractionSteps - 1 }), { minLength: 1, maxLength: 6 })) : none
  )

/**
 * Runs `scenario` under `choices`, preempting at the generated `fractions` of the contended operations
 * measured on the same choices without preemption. A failing measurement is the result (it needs no
 * preemption at all). When a preemption shortens the run so that later points are not reached, they
 * are moved into what is left of it and the run made once more (`refitPoints`). `drawn` is how many
 * distinct points were drawn.
 */
export const runFitted = (
  scenario: () => Scenario,
  choices: ReadonlyArray<number>,
  fractions: ReadonlyArray<number>
): { readonly result: ScenarioRun; readonly drawn: number } => {
  if (fractions.length === 0) return { result: runScenario(scenario(), replay(choices)), drawn: 0 }
  const measuring = metered(replay(choices))
  const measured = runScenario(scenario(), measuring.strategy)
  if (isFailure(measured.outcome)) return { result: measured, drawn: 0 }
  const points = fitPoints(
    fractions.map((f) => f / fractionSteps),
    measuring.contended()
  )
  const preempting = metered(preemptingAt(replay(choices), points))
  const preempted = runScenario(scenario(), preempting.strategy)
  // The points a preemption left past the run's shortened end are moved into it, once (R-DET-4).
  if (isFailure(preempted.outcome) || points.every((p) => p < preempting.contended()))
    return { result: preempted, drawn: points.length }
  const refitted = refitPoints(points, measuring.contended(), preempting.contended())
  return { result: runScenario(scenario(), preemptingAt(replay(choices), refitted)), drawn: points.length }
}

/**
 * Checks that every run of the named scenario family succeeds; throws with a counterexample file
 * otherwise. Returns the schedule coverage of the runs (fitted runs only, not their measurements).
 */
export const checkScenarios = <I>(name: string, input: fc.Arbitrary<I>, options: PropertyOptions): ScheduleCoverage => {
  const make = scenarios[name]
  if (make === undefined) throw new Error(`no scenario ${name}`)
  const meter = coverageMeter()
  const run = (value: I, choices: ReadonlyArray<number>, fractions: ReadonlyArray<number>) =>
    runFitted(() => make(value), choices, fractions)
  const property = fc.property(input, scheduleArbitrary(options.preemption ?? true), (value, [choices, fractions]) => {
    const { result, drawn } = run(value, choices, fractions)
    meter.record(result.decisions, drawn)
    if (isFailure(result.outcome)) throw new Error(JSON.stringify(result.outcome))
  })
  const details = fc.check(property, fcParams(options.runs))
  if (!details.failed || details.counterexample === null) return meter.coverage()
  const [value, [choices, fractions]] = details.counterexample
  const { result } = run(value, choices, fractions)
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
