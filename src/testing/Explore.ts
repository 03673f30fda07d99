/**
 * Exploring the interleavings of a scenario — seeded random, PCT, or a bounded exhaustive search —
 * and replaying the counterexample it finds, bit for bit.
 *
 * @since 0.1.0
 */
import type { Decisions } from "../effects/ControlledScheduler.ts"
import type { RunOutcome } from "../effects/DeterministicRuntime.ts"
import { fifo, pct, random, replay as replayStrategy, runSeed, type Strategy } from "../effects/Strategy.ts"
import { isFailure, runScenario, type Scenario, type ScenarioRun, type TraceEvent } from "./Scenario.ts"

/** The exploration strategies. @category models */
export type StrategyName = "random" | "pct" | "dfs"

/**
 * Options of `explore`.
 *
 * @category models
 */
export interface ExploreOptions {
  readonly strategy?: StrategyName | undefined
  /** Schedules to run at most (default 1000). */
  readonly runs?: number | undefined
  /** Wall-clock budget in ms; exploration stops when it is spent. */
  readonly timeBudgetMs?: number | undefined
  /** Base seed (default 1); run i uses a seed derived from it and i. */
  readonly seed?: number | undefined
  /** random: probability of preempting a fiber at each Effect operation (default 0). */
  readonly preemption?: number | undefined
  /** pct: bug depth d (default 3). */
  readonly depth?: number | undefined
  /** dfs: at most this many choices that differ from FIFO per schedule (default 2, as loom advises). */
  readonly bound?: number | undefined
  /** Steps after which a run counts as a livelock. */
  readonly maxSteps?: number | undefined
  /** Whether a deadlock counts as a failure (default true). */
  readonly deadlockIsFailure?: boolean | undefined
}

/**
 * Everything needed to reproduce a failing run, as stored in a counterexample file.
 *
 * @category models
 */
export interface Counterexample {
  readonly format: "beehive-effect/counterexample@1"
  readonly scenario: string
  readonly strategy: string
  readonly seed: number
  /** The run of the exploration that failed. */
  readonly run: number
  readonly choices: ReadonlyArray<number>
  readonly preemptions: ReadonlyArray<number>
  readonly outcome: RunOutcome
  /** Fibers still waiting at a deadlock. */
  readonly waiting: ReadonlyArray<string>
  readonly trace: ReadonlyArray<TraceEvent>
  /** For counterexamples found by fast-check: the values that replay its search. */
  readonly fastCheck?:
    | { readonly seed: number; readonly path: string; readonly replayPath?: string | undefined }
    | undefined
  /** The commands of a state-machine counterexample, as fast-check printed them. */
  readonly commands?: string | undefined
  /** The step limit the run had, when it was not the default (a "StepLimit" replays only under it). */
  readonly maxSteps?: number | undefined
  /** The input that drives the run, for runners that need one (a state machine's concrete commands). */
  readonly input?: unknown
  /** For a scenario of the user's: the module that exports it (a path), so that replay can load it. */
  readonly source?: string | undefined
}

/**
 * The result of an exploration.
 *
 * @category models
 */
export interface ExploreResult {
  readonly scenario: string
  readonly strategy: string
  /** Schedules run. */
  readonly schedules: number
  readonly elapsedMs: number
  /** dfs: every schedule within the bound was run. */
  readonly exhausted: boolean
  /** Distinct traces seen (a measure of coverage). */
  readonly distinctTraces: number
  readonly failure: Counterexample | undefined
}

const fingerprint = (trace: ReadonlyArray<TraceEvent>): string =>
  trace.map((e) => `${e.time}|${e.fiber}|${e.kind}|${e.op}|${e.detail ?? ""}`).join("\n")

const counterexample = (
  scenario: Scenario,
  strategy: string,
  seed: number,
  run: number,
  result: ScenarioRun,
  maxSteps: number | undefined
): Counterexample => ({
  format: "beehive-effect/counterexample@1",
  ...(maxSteps === undefined ? {} : { maxSteps }),
  scenario: scenario.name,
  strategy,
  seed,
  run,
  choices: result.decisions.choices,
  preemptions: result.decisions.preemptions,
  outcome: result.outcome,
  waiting: result.waiting,
  trace: result.trace
})

// The next schedule of a depth-first search: the last choice point that can still take a later
// alternative (within the bound on non-FIFO choices) does, and everything after it starts over.
const nextPrefix = (decisions: Decisions, bound: number): Array<number> | undefined => {
  const { choices, arities } = decisions
  for (let j = choices.length - 1; j >= 0; j--) {
    const choice = choices[j] as number
    if (choice + 1 >= (arities[j] as number)) continue
    const prefix = choices.slice(0, j)
    const deviations = prefix.filter((c) => c !== 0).length + 1
    if (deviations <= bound) return [...prefix, choice + 1]
  }
  return undefined
}

/**
 * Runs `scenario` under many schedules and stops at the first failing one, returning it as a
 * counterexample that `replay` reproduces. Synchronous; never throws on a failing scenario.
 *
 * @category running
 */
export const explore = (scenario: Scenario, options: ExploreOptions = {}): ExploreResult => {
  const strategyName = options.strategy ?? "random"
  const runs = options.runs ?? 1000
  const seed = options.seed ?? 1
  const started = performance.now()
  const deadline = options.timeBudgetMs === undefined ? Number.POSITIVE_INFINITY : started + options.timeBudgetMs
  const deadlockIsFailure = options.deadlockIsFailure ?? true
  const traces = new Set<string>()
  const failed = (result: ScenarioRun) =>
    isFailure(result.outcome) && (deadlockIsFailure || result.outcome._tag !== "Deadlock")
  const run = (strategy: Strategy) => {
    const result = runScenario(scenario, strategy, { maxSteps: options.maxSteps })
    traces.add(fingerprint(result.trace))
    return result
  }
  const done = (schedules: number, exhausted: boolean, failure?: Counterexample): ExploreResult => ({
    scenario: scenario.name,
    strategy: strategyName,
    schedules,
    elapsedMs: performance.now() - started,
    exhausted,
    distinctTraces: traces.size,
    failure
  })

  if (strategyName === "dfs") {
    const bound = options.bound ?? 2
    let prefix: Array<number> | undefined = []
    let schedules = 0
    while (prefix !== undefined && schedules < runs && performance.now() < deadline) {
      const result = run(replayStrategy(prefix))
      schedules++
      if (failed(result))
        return done(
          schedules,
          false,
          counterexample(scenario, `dfs(bound=${bound})`, seed, schedules - 1, result, options.maxSteps)
        )
      prefix = nextPrefix(result.decisions, bound)
    }
    return done(schedules, prefix === undefined)
  }

  // PCT needs the number of choice points of a run; a FIFO run measures it.
  const steps = strategyName === "pct" ? Math.max(1, run(fifo).decisions.choices.length) : 0
  let schedules = 0
  for (let i = 0; i < runs && performance.now() < deadline; i++) {
    const s = runSeed(seed, i)
    const strategy = strategyName === "pct" ? pct(s, options.depth ?? 3, steps) : random(s, options.preemption ?? 0)
    const result = run(strategy)
    schedules++
    if (failed(result))
      return done(schedules, false, counterexample(scenario, strategy.name, seed, i, result, options.maxSteps))
  }
  return done(schedules, false)
}

/**
 * The result of replaying a counterexample: the run, and whether it reproduced the recorded trace
 * and outcome exactly.
 *
 * @category models
 */
export interface ReplayResult {
  readonly run: ScenarioRun
  readonly reproduced: boolean
}

/**
 * Re-runs a counterexample's recorded decisions and compares the trace, event by event.
 *
 * @category running
 */
export const replay = (scenario: Scenario, example: Counterexample): ReplayResult => {
  const run = runScenario(scenario, replayStrategy(example.choices, example.preemptions), {
    maxSteps: example.maxSteps
  })
  const reproduced =
    fingerprint(run.trace) === fingerprint(example.trace) &&
    JSON.stringify(run.outcome) === JSON.stringify(example.outcome)
  return { run, reproduced }
}

const describeEvent = (e: TraceEvent): string => {
  switch (e.kind) {
    case "invoke":
      return `→ ${e.op}`
    case "return":
      return `← ${e.op} = ${e.detail ?? ""}`
    case "fail":
      return `✗ ${e.op} failed: ${e.detail ?? ""}`
    case "check":
      return e.detail === "holds" ? `✓ check: ${e.op}` : `‼ check: ${e.op} — VIOLATED`
    case "spawn":
      return "starts"
    case "end":
      return `ends: ${e.detail ?? ""}`
    case "note":
      return `· ${e.op}`
  }
}

const describeOutcome = (example: Pick<Counterexample, "outcome" | "waiting">): string => {
  switch (example.outcome._tag) {
    case "Failure":
      return `FAILED: ${example.outcome.message}`
    case "Deadlock":
      return `DEADLOCK: still waiting: ${example.waiting.join("; ")}`
    case "StepLimit":
      return `STEP LIMIT after ${example.outcome.steps} steps`
    case "Success":
      return "completed"
  }
}

/**
 * A counterexample as a readable timeline: one line per event, virtual time first.
 *
 * @category getters
 */
export const formatTimeline = (
  example: Pick<Counterexample, "trace" | "outcome" | "waiting" | "scenario" | "strategy">
): string => {
  const width = Math.max(4, ...example.trace.map((e) => e.fiber.length))
  const lines = example.trace.map(
    (e) => `${String(e.time).padStart(7)} ms  ${e.fiber.padEnd(width)}  ${describeEvent(e)}`
  )
  const outcome = describeOutcome(example)
  return [`scenario ${example.scenario} under ${example.strategy}`, ...lines, outcome].join("\n")
}
