/**
 * The state-machine property: random rounds of commands (the operations of a round race each other),
 * run under a schedule that fast-check also generates, must keep the implementation within the
 * states the model allows after every round: a linearizability check of the whole history over the
 * full API. The schedule is a tape of choices among ready tasks and a few preemption points fitted
 * to the run: a first run under the tape alone counts the operations at which a fiber can be
 * preempted while another task is ready, and the points are drawn among those (as fractions of the
 * run), so that they land where a preemption changes the interleaving instead of past the run's end.
 * A preemption may make the rest of the run shorter (a busy wait cut short, a connection closed
 * sooner); the points that run did not reach are then moved into it and the run made once more
 * (`refitPoints`). Every run must follow the model. A failure is written as a counterexample file
 * with everything needed to replay it.
 */
import fc from "fast-check"
import { fitPoints, metered, preemptingAt, refitPoints, replay, type Strategy } from "../../src/effects/Strategy.ts"
import type { Counterexample, ScheduleCoverage } from "../../src/testing/Explore.ts"
import { fcParams, shrinkSeconds } from "../fcParams.ts"
import { replayPathOf, writeCounterexample } from "./Artifacts.ts"
import type { CaseCounts, CaseName } from "./Cases.ts"
import { commandArbitraries, type Names, preambleArbitrary, preambleCommands } from "./Commands.ts"
import { remoteMachine, remotePacketMachine } from "./RemoteReal.ts"
import { type Machine, Run } from "./Runner.ts"

export interface StateMachineOptions {
  readonly runs: number
  readonly maxCommands?: number | undefined
  readonly shutdown?: boolean | undefined
  /** Operations per round at most (default 3; 1 makes the machine sequential). */
  readonly maxRound?: number | undefined
  /** Whether the schedule may preempt fibers at Effect operations. */
  readonly preemption?: boolean | undefined
  /** fast-check seed (default: the suite's, or FC_SEED). */
  readonly seed?: number | undefined
  /** Where a counterexample goes (default: counterexamples/ or COUNTEREXAMPLE_DIR). */
  readonly outDir?: string | undefined
}

/**
 * What the runs of a state-machine check explored (the second, preempted run of each input): the
 * schedule coverage every exploration reports, and how much of the machine raced.
 */
export interface StateMachineCoverage extends ScheduleCoverage {
  /** Runs in which at least one preemption fired. */
  readonly runsPreempted: number
  /** Rounds with more than one operation, and rounds in all. */
  readonly concurrentRounds: number
  readonly rounds: number
  /** Fault rounds by kind (two processes): `Reconnect`, `Crash`, `CloseClient`, `Stall`, `Resume`, `ReadSize`. */
  readonly faults: Readonly<Record<string, number>>
  /** Reads the network cut short, and runs with at least one (split and coalesced reads that happened). */
  readonly cutReads: number
  readonly runsWithCutReads: number
  /** Clients closed while the server did not read. */
  readonly closedWhileStalled: number
  /** How often the runs reached each case of the rules (see `Cases.ts`). */
  readonly cases: CaseCounts
  /**
   * Runs whose history more than `maxCandidates` model states explained at once: they were checked up
   * to that step only (never against a cut-down set of states, which reports differences that are none).
   */
  readonly uncheckedRuns: number
}

/** Preemption points are drawn as a fraction of the run, in this many steps. */
const fractionScale = 10_000

const scheduleArbitraries = (preemption: boolean) =>
  [
    fc.array(fc.nat({ max: 7 }), { maxLength: 256 }),
    preemption
      ? fc.array(fc.nat({ max: fractionScale - 1 }), { maxLength: 24, size: "max" })
      : fc.constant([] as Array<number>)
  ] as const

type Preamble = readonly [number, number, number] | null

const remoteCapacities = [2, 2, 2] as const

const faultTags = new Set(["Reconnect", "Crash", "CloseClient", "Stall", "Resume", "ReadSize"])

/**
 * The machine a state-machine counterexample was found with, by its property's name: the
 * two-process machine over packets for the `remote-packets-` ones, over streams for the other
 * `remote-` ones, else the one-process machine (undefined).
 */
export const machineFor = (scenario: string): Machine<unknown> | undefined =>
  scenario.startsWith("remote-packets-")
    ? (remotePacketMachine as Machine<unknown>)
    : scenario.startsWith("remote-")
      ? (remoteMachine as Machine<unknown>)
      : undefined

const execute = (
  machine: Machine<unknown> | undefined,
  preamble: Preamble,
  cmds: Iterable<fc.Command<Names, Run<unknown>>>,
  strategy: Strategy,
  onRun: (run: Run<unknown>) => void
): void => {
  const run = new Run<unknown>(strategy, machine)
  onRun(run)
  // Two processes: the server's modules and groups first (a, b, c at least), then the connection.
  const setup =
    machine !== undefined
      ? [...preambleCommands(preamble ?? remoteCapacities), { _tag: "Reconnect" as const }]
      : preambleCommands(preamble)
  for (const command of setup) {
    const mismatch = run.apply(command)
    if (mismatch !== undefined) throw new Error(`in the preamble: ${mismatch}`)
  }
  fc.modelRun(() => ({ model: { n: 0 } as Names, real: run }), cmds)
}

/**
 * Runs the property and returns what it explored; on failure writes a counterexample and throws
 * with its path and the trace.
 */
export const checkStateMachine = (name: string, options: StateMachineOptions): StateMachineCoverage => {
  const [choices, fractions] = scheduleArbitraries(options.preemption ?? true)
  // A `remote-` name runs the modules behind the socket context (spec/model/Remote.ts).
  const machine = machineFor(name)
  const remote = machine !== undefined
  const packets = name.startsWith("remote-packets-")
  const commands = fc.commands(
    commandArbitraries({ shutdown: options.shutdown, maxRound: options.maxRound, remote, packets }),
    {
      maxCommands: options.maxCommands ?? 40,
      size: "+1"
    }
  )
  const coverage = {
    runs: 0,
    choicePoints: 0,
    preemptionsDrawn: 0,
    preemptionsFired: 0,
    runsPreempted: 0,
    concurrentRounds: 0,
    rounds: 0,
    faults: {} as Record<string, number>,
    cutReads: 0,
    runsWithCutReads: 0,
    closedWhileStalled: 0,
    cases: {} as CaseCounts,
    uncheckedRuns: 0
  }
  const schedules = new Set<string>()
  // The runs of one input (measured, preempted, refitted); `last` is the run that threw, if one did.
  let last: { run: Run<unknown>; points: ReadonlyArray<number> } | undefined
  const runsOf = (
    preamble: Preamble,
    cmds: Iterable<fc.Command<Names, Run<unknown>>>,
    tape: number[],
    drawn: number[]
  ) => {
    const meter = metered(replay(tape))
    execute(machine, preamble, cmds, meter.strategy, (run) => {
      last = { run, points: [] }
    })
    const points = fitPoints(
      drawn.map((d) => d / fractionScale),
      meter.contended()
    )
    const preempting = metered(points.length === 0 ? replay(tape) : preemptingAt(replay(tape), points))
    execute(machine, preamble, cmds, preempting.strategy, (run) => {
      last = { run, points }
    })
    // The points a preemption left past the run's shortened end are moved into it, once: that brings
    // 93% of the drawn points to fire across two processes (72% without), three times 93.5%.
    if (points.every((p) => p < preempting.contended())) return points
    const refitted = refitPoints(points, meter.contended(), preempting.contended())
    execute(machine, preamble, cmds, preemptingAt(replay(tape), refitted), (run) => {
      last = { run, points: refitted }
    })
    return points
  }
  const property = fc.property(preambleArbitrary, commands, choices, fractions, (preamble, cmds, tape, drawn) => {
    const points = runsOf(preamble, cmds, tape, drawn)
    const run = last?.run as Run<unknown>
    const decisions = run.real.sim.decisions()
    coverage.runs++
    coverage.choicePoints += decisions.choices.length
    coverage.preemptionsDrawn += points.length
    coverage.preemptionsFired += decisions.preemptions.length
    if (decisions.preemptions.length > 0) coverage.runsPreempted++
    if (run.unchecked !== undefined) coverage.uncheckedRuns++
    for (const s of run.steps) {
      coverage.rounds++
      if (s._tag === "Round" && s.commands.length > 1) coverage.concurrentRounds++
      if (faultTags.has(s._tag)) coverage.faults[s._tag] = (coverage.faults[s._tag] ?? 0) + 1
    }
    // The setup's first connection is no fault.
    if (remote) coverage.faults.Reconnect = (coverage.faults.Reconnect ?? 1) - 1
    const cut = run.real.cutReads ?? 0
    coverage.cutReads += cut
    if (cut > 0) coverage.runsWithCutReads++
    coverage.closedWhileStalled += run.real.closedWhileStalled ?? 0
    for (const [name, count] of Object.entries(run.cases) as Array<[CaseName, number]>)
      coverage.cases[name] = (coverage.cases[name] ?? 0) + count
    schedules.add(JSON.stringify([run.steps.length, decisions.choices, decisions.preemptions]))
  })
  const params: fc.Parameters<Parameters<typeof property.run>[0]> = fcParams(options.runs)
  const details = fc.check(property, options.seed === undefined ? params : { ...params, seed: options.seed })
  const result = { ...coverage, distinctInterleavings: schedules.size }
  if (!details.failed || details.counterexample === null) return result
  const [preamble, cmds, tape, drawn] = details.counterexample
  let mismatch = "no mismatch on re-run"
  try {
    runsOf(preamble, cmds, tape, drawn)
  } catch (e) {
    // The outcome is the difference itself, as a replay of the commands reports it.
    mismatch =
      [...(last?.run.trace ?? [])].reverse().find((event) => event.kind === "check")?.detail ?? (e as Error).message
  }
  const run = last?.run as Run<unknown>
  const decisions = run.real.sim.decisions()
  const example: Counterexample = {
    format: "beehive-effect/counterexample@1",
    scenario: name,
    strategy: "replay",
    seed: details.seed,
    run: details.numRuns,
    choices: decisions.choices,
    preemptions: decisions.preemptions,
    outcome: { _tag: "Failure", message: mismatch },
    waiting: [],
    trace: run.trace,
    fastCheck: { seed: details.seed, path: details.counterexamplePath ?? "", replayPath: replayPathOf(cmds) },
    commands: String(cmds),
    input: run.steps
  }
  const file = writeCounterexample(name, example, options.outDir)
  const shrinking = details.interrupted ? ` (shrinking stopped after ${shrinkSeconds} s: FC_SHRINK_SECONDS)` : ""
  throw new Error(
    `${name} failed: ${mismatch}${shrinking}\ncounterexample: ${file}\n` +
      `replay: npm run replay -- ${file}\n` +
      `fast-check: seed ${details.seed}, path "${details.counterexamplePath}", replayPath "${replayPathOf(cmds)}"\n` +
      `commands: ${String(cmds)}\nschedule: choices ${JSON.stringify(tape)}, ` +
      `preemptions at contended operations ${JSON.stringify(last?.points ?? [])}`
  )
}
