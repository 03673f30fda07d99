/**
 * Exploring the interleavings of a scenario — seeded random, PCT, or a bounded exhaustive search —
 * and replaying the counterexample it finds, bit for bit; with the schedule coverage the runs reached.
 *
 * @since 0.1.0
 */
import type { Decisions } from "../effects/ControlledScheduler.ts"
import type { RunOutcome } from "../effects/DeterministicRuntime.ts"
import {
  fifo,
  fitPoints,
  metered,
  pct,
  preemptingAt,
  random,
  replay as replayStrategy,
  rng,
  runSeed,
  type Strategy
} from "../effects/Strategy.ts"
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
  /**
   * random: probability of preempting a fiber at each Effect operation (default 0). Kept for callers
   * tuned to it; `preemptions`, which takes precedence, fits the preemptions to the run instead.
   */
  readonly preemption?: number | undefined
  /**
   * random: preempt each schedule at up to this many contended operations (default 0). Measure, then
   * choose: a run under the schedule's choices without preemption counts the contended operations
   * (where another task is ready) and is checked like any schedule; then `preemptedPerMeasure` runs
   * under the same choices preempt at 1 to `preemptions` of those operations, drawn uniformly.
   */
  readonly preemptions?: number | undefined
  /** pct: bug depth d (default 3). */
  readonly depth?: number | undefined
  /** dfs: at most this many choices that differ from FIFO per schedule (default 2). */
  readonly bound?: number | undefined
  /**
   * dfs: at most this many preemptions per schedule, each at a contended operation (default 2, as
   * loom's preemption bound). pct: 0 keeps the change points off operations (by default they fall on
   * choice points and contended operations alike).
   */
  readonly preemptionBound?: number | undefined
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
 * How much of the schedule space a set of runs reached. A preemption is drawn when a strategy picks
 * the operation before the run (fitted random points, generated points of a property) and fires when
 * the run reaches it and the scheduler preempts there; strategies that decide at the operation itself
 * (a per-operation probability, PCT, the bounded search) draw only what fires.
 *
 * @category models
 */
export interface ScheduleCoverage {
  /** Schedules run. */
  readonly runs: number
  /** Choice points (two or more tasks ready) met, over all runs. */
  readonly choicePoints: number
  readonly preemptionsDrawn: number
  readonly preemptionsFired: number
  /** Distinct decision sequences (choices taken, preemptions fired) among the runs. */
  readonly distinctInterleavings: number
}

/** No runs yet. @category constructors */
export const emptyCoverage: ScheduleCoverage = {
  runs: 0,
  choicePoints: 0,
  preemptionsDrawn: 0,
  preemptionsFired: 0,
  distinctInterleavings: 0
}

/**
 * The coverage of two sets of runs together. Distinct interleavings add up, which is exact when the
 * two sets ran different inputs (a campaign's explorations, one per input).
 *
 * @category combinators
 */
export const addCoverage = (a: ScheduleCoverage, b: ScheduleCoverage): ScheduleCoverage => ({
  runs: a.runs + b.runs,
  choicePoints: a.choicePoints + b.choicePoints,
  preemptionsDrawn: a.preemptionsDrawn + b.preemptionsDrawn,
  preemptionsFired: a.preemptionsFired + b.preemptionsFired,
  distinctInterleavings: a.distinctInterleavings + b.distinctInterleavings
})

/**
 * Records runs one by one into a `ScheduleCoverage`: what a property harness (a scenario property, the
 * state machine) uses to report the same figures as `explore`. `drawn` defaults to the preemptions
 * that fired.
 *
 * @category constructors
 */
export const coverageMeter = (): {
  readonly record: (decisions: Pick<Decisions, "choices" | "preemptions">, drawn?: number) => void
  readonly coverage: () => ScheduleCoverage
} => {
  const seen = new Set<string>()
  let coverage = emptyCoverage
  return {
    record: (decisions, drawn = decisions.preemptions.length) => {
      seen.add(`${decisions.choices.join(",")}|${decisions.preemptions.join(",")}`)
      coverage = {
        runs: coverage.runs + 1,
        choicePoints: coverage.choicePoints + decisions.choices.length,
        preemptionsDrawn: coverage.preemptionsDrawn + drawn,
        preemptionsFired: coverage.preemptionsFired + decisions.preemptions.length,
        distinctInterleavings: seen.size
      }
    },
    coverage: () => coverage
  }
}

/**
 * Choice points per run and the fraction of drawn preemptions that fired (1 when none was drawn).
 *
 * @category getters
 */
export const coverageRates = (
  c: ScheduleCoverage
): { readonly choicePointsPerRun: number; readonly fired: number } => ({
  choicePointsPerRun: c.runs === 0 ? 0 : c.choicePoints / c.runs,
  fired: c.preemptionsDrawn === 0 ? 1 : c.preemptionsFired / c.preemptionsDrawn
})

/**
 * The coverage on one line, e.g. `412 runs, 18.3 choice points/run, 1,020 preemptions drawn, 1,003
 * fired (98%), 405 distinct interleavings`.
 *
 * @category getters
 */
export const formatCoverage = (c: ScheduleCoverage): string => {
  const { choicePointsPerRun, fired } = coverageRates(c)
  return (
    `${c.runs} runs, ${choicePointsPerRun.toFixed(1)} choice points/run, ${c.preemptionsDrawn} preemptions drawn, ` +
    `${c.preemptionsFired} fired (${Math.round(fired * 100)}%), ${c.distinctInterleavings} distinct interleavings`
  )
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
  /** dfs: every schedule within both bounds (choices and preemptions) was run. */
  readonly exhausted: boolean
  /** Distinct traces seen (a measure of coverage). */
  readonly distinctTraces: number
  readonly coverage: ScheduleCoverage
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

// One decision of a bounded search's schedule, in the order the run met it: the index taken at a
// choice point, or whether to preempt (1) or not (0) at a contended operation.
interface Decision {
  readonly value: number
  readonly arity: number
  readonly preemption: boolean
}

// Follows a tape of decisions (then FIFO, no preemption) and records every decision the run met, so
// that the search can backtrack over choices and preemptions alike. Operations where no other task
// is ready are not decisions: a preemption there changes nothing.
const tapeStrategy = (tape: ReadonlyArray<number>, preemptions: boolean) => {
  const met: Array<Decision> = []
  const next = () => (met.length < tape.length ? (tape[met.length] as number) : 0)
  const strategy: Strategy = {
    name: "dfs",
    choose: (ready) => {
      const value = next() % ready.length
      met.push({ value, arity: ready.length, preemption: false })
      return value
    },
    preempt: (_op, others) => {
      if (!preemptions || (others ?? 1) === 0) return false
      const value = next() === 1 ? 1 : 0
      met.push({ value, arity: 2, preemption: true })
      return value === 1
    }
  }
  return { strategy, met }
}

// The decisions a run met, kept by the bounded search as numbers rather than objects (tens of them per
// run, for up to `knownTapes` runs: as objects they cost the garbage collector more than the runs they
// save): each decision is its value and its arity, negated for a preemption.
const packDecisions = (met: ReadonlyArray<Decision>): Int32Array => {
  const packed = new Int32Array(met.length * 2)
  for (let i = 0; i < met.length; i++) {
    const decision = met[i] as Decision
    packed[2 * i] = decision.value
    packed[2 * i + 1] = decision.preemption ? -decision.arity : decision.arity
  }
  return packed
}

const unpackDecisions = (packed: Int32Array): Array<Decision> => {
  const met: Array<Decision> = []
  for (let i = 0; i < packed.length; i += 2) {
    const arity = packed[i + 1] as number
    met.push({ value: packed[i] as number, arity: Math.abs(arity), preemption: arity < 0 })
  }
  return met
}

// A schedule of the bounded search that deviates from FIFO (or preempts) at its tape's last entry:
// its children deviate once more, at a decision after that one, within both bounds, the latest
// decision first (the order a depth-first search backtracks in). Every schedule with k deviations has
// exactly one parent (itself without its last deviation), so the tree holds each schedule once.
interface Node {
  readonly tape: ReadonlyArray<number>
  readonly deviations: number
  readonly preemptions: number
}

const children = function* (
  node: Node,
  met: ReadonlyArray<Decision>,
  bound: number,
  preemptionBound: number
): Generator<Node> {
  for (let j = met.length - 1; j >= node.tape.length; j--) {
    const decision = met[j] as Decision
    const deviations = node.deviations + (decision.preemption ? 0 : 1)
    const preemptions = node.preemptions + (decision.preemption ? 1 : 0)
    if (deviations > bound || preemptions > preemptionBound) continue
    const prefix = met.slice(0, j).map((m) => m.value)
    for (let value = 1; value < decision.arity; value++) yield { tape: [...prefix, value], deviations, preemptions }
  }
}

/** Schedules whose decisions the bounded search keeps, so as not to run them again at the next level. */
const knownTapes = 200_000

/**
 * How many runs under fitted preemptions follow each measuring run of `explore`'s random strategy
 * with `preemptions`: the measurement is itself a schedule (checked, counted), and reusing it for
 * several preempted runs keeps most of the budget on preempted schedules.
 *
 * @category models
 */
export const preemptedPerMeasure = 3

/**
 * Runs `scenario` under many schedules and stops at the first failing one, returning it as a
 * counterexample that `replay` reproduces. Synchronous; never throws on a failing scenario.
 *
 * - random: seeded random choices; preemptions at each operation with probability `preemption`, or
 *   fitted to the run with `preemptions` (measure, then choose: see `ExploreOptions.preemptions`).
 * - pct: PCT of depth `depth` over the length of a FIFO run, counted in choice points and contended
 *   operations (unless `preemptionBound` is 0).
 * - dfs: every schedule with at most `bound` choices that differ from FIFO and at most
 *   `preemptionBound` preemptions, each at a contended operation the run actually reaches, fewer
 *   preemptions first, then fewer deviations; `exhausted` says that all of them were run. A bug that needs one fiber stopped
 *   inside a one-operation window is found with `preemptionBound >= 1`.
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
  const meter = coverageMeter()
  const failed = (result: ScenarioRun) =>
    isFailure(result.outcome) && (deadlockIsFailure || result.outcome._tag !== "Deadlock")
  const run = (strategy: Strategy, drawn?: number) => {
    const result = runScenario(scenario, strategy, { maxSteps: options.maxSteps })
    traces.add(fingerprint(result.trace))
    meter.record(result.decisions, drawn)
    return result
  }
  const done = (schedules: number, exhausted: boolean, failure?: Counterexample): ExploreResult => ({
    scenario: scenario.name,
    strategy: strategyName,
    schedules,
    elapsedMs: performance.now() - started,
    exhausted,
    distinctTraces: traces.size,
    coverage: meter.coverage(),
    failure
  })
  const fail = (name: string, schedule: number, result: ScenarioRun) =>
    done(schedule + 1, false, counterexample(scenario, name, seed, schedule, result, options.maxSteps))

  if (strategyName === "dfs") {
    const bound = options.bound ?? 2
    const preemptionBound = options.preemptionBound ?? 2
    // The default preemption bound goes unnamed, so that names from before it existed still read the same.
    const name = `dfs(bound=${bound}${preemptionBound === 2 ? "" : `, preemptionBound=${preemptionBound}`})`
    // The decisions each schedule met, by tape: a run is a pure function of its decisions (R-DET-1),
    // so a schedule of a lower level that the next level passes through is not run again. At most
    // `knownTapes` are kept; past that, such schedules are re-run (the search is the same either way).
    const known = new Map<string, Int32Array>()
    const runTape = (tape: ReadonlyArray<number>, record: boolean) => {
      const { strategy, met } = tapeStrategy(tape, preemptionBound > 0)
      const result = record ? run(strategy) : runScenario(scenario, strategy, { maxSteps: options.maxSteps })
      if (known.size < knownTapes) known.set(tape.join(","), packDecisions(met))
      return { result, met }
    }
    // Iterative bounding, as CHESS does: every schedule without preemption before any with one, and
    // within each number of preemptions, fewer choice deviations first. A bug is found with the
    // fewest preemptions, then deviations, that show it, and a budget too small to exhaust the bounds
    // is spent on the simplest schedules. Each level passes through the schedules of lower levels to
    // learn which decisions they meet (kept from their runs, or run again), without counting them again.
    let schedules = 0
    let failure: ExploreResult | undefined
    let cut = false
    // Whether a schedule met at this level leaves a later choice point (a preemptible operation) it
    // could deviate at: without one, no schedule has a deviation (a preemption) more.
    let moreDeviations = false
    let morePreemptions = false
    const visit = (node: Node, preemptions: number, deviations: number): void => {
      if (failure !== undefined || cut) return
      const leaf = node.preemptions === preemptions && node.deviations === deviations
      if ((leaf && schedules >= runs) || performance.now() >= deadline) {
        cut = true
        return
      }
      const ran = leaf ? undefined : known.get(node.tape.join(","))
      const { result, met } =
        ran === undefined ? runTape(node.tape, leaf) : { result: undefined, met: unpackDecisions(ran) }
      const later = met.slice(node.tape.length)
      if (node.deviations === deviations && later.some((m) => !m.preemption)) moreDeviations = true
      if (node.preemptions === preemptions && later.some((m) => m.preemption)) morePreemptions = true
      if (leaf) {
        if (result !== undefined && failed(result)) failure = fail(name, schedules, result)
        schedules++
        return
      }
      for (const child of children(node, met, deviations, preemptions)) visit(child, preemptions, deviations)
    }
    const root: Node = { tape: [], deviations: 0, preemptions: 0 }
    for (let preemptions = 0; preemptions <= preemptionBound; preemptions++) {
      morePreemptions = false
      for (let deviations = 0; deviations <= bound; deviations++) {
        moreDeviations = false
        visit(root, preemptions, deviations)
        if (failure !== undefined) return failure
        if (cut) return done(schedules, false)
        if (!moreDeviations) break
      }
      if (!morePreemptions) break
    }
    return done(schedules, true)
  }

  const fitted = strategyName === "random" && (options.preemptions ?? 0) > 0
  if (fitted) {
    const most = options.preemptions as number
    let schedules = 0
    for (let i = 0; schedules < runs && performance.now() < deadline; i++) {
      const s = runSeed(seed, i)
      const measuring = metered(random(s))
      const measured = run(measuring.strategy)
      if (failed(measured)) return fail(measuring.strategy.name, schedules, measured)
      schedules++
      for (let j = 0; j < preemptedPerMeasure && schedules < runs && performance.now() < deadline; j++) {
        const draw = rng(runSeed(s, j))
        const count = 1 + Math.floor(draw() * most)
        const points = fitPoints(
          Array.from({ length: count }, () => draw()),
          measuring.contended()
        )
        if (points.length === 0) break
        const strategy = preemptingAt(random(s), points)
        const result = run(strategy, points.length)
        if (failed(result)) return fail(strategy.name, schedules, result)
        schedules++
      }
    }
    return done(schedules, false)
  }

  // PCT needs the length of a run; a FIFO run measures it (a measurement, not one of the schedules).
  const measuring = metered(fifo)
  let steps = 1
  if (strategyName === "pct") {
    const measured = runScenario(scenario, measuring.strategy, { maxSteps: options.maxSteps })
    traces.add(fingerprint(measured.trace))
    steps = Math.max(1, measured.decisions.choices.length)
  }
  const contended = (options.preemptionBound ?? 1) > 0 ? measuring.contended() : 0
  let schedules = 0
  for (let i = 0; i < runs && performance.now() < deadline; i++) {
    const s = runSeed(seed, i)
    const strategy =
      strategyName === "pct" ? pct(s, options.depth ?? 3, steps, contended) : random(s, options.preemption ?? 0)
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
