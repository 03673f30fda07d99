/**
 * The state-machine property: random command sequences, run under a schedule that fast-check also
 * generates (a list of choices among ready tasks and a few preemption points; both shrink towards
 * FIFO), must keep the implementation equal to the model after every command. A failure is written
 * as a counterexample file with everything needed to replay it.
 */
import fc from "fast-check"
import { replay } from "../../src/effects/Strategy.ts"
import type { Counterexample } from "../../src/testing/Explore.ts"
import { fcParams } from "../fcParams.ts"
import { replayPathOf, writeCounterexample } from "./Artifacts.ts"
import { commandArbitraries, type Names, preambleArbitrary, preambleCommands } from "./Commands.ts"
import { Run } from "./Runner.ts"

export interface StateMachineOptions {
  readonly runs: number
  readonly maxCommands?: number | undefined
  readonly shutdown?: boolean | undefined
  /** Whether the schedule may preempt fibers at Effect operations. */
  readonly preemption?: boolean | undefined
  /** fast-check seed (default: the suite's, or FC_SEED). */
  readonly seed?: number | undefined
  /** Where a counterexample goes (default: counterexamples/ or COUNTEREXAMPLE_DIR). */
  readonly outDir?: string | undefined
}

const scheduleArbitraries = (preemption: boolean) =>
  [
    fc.array(fc.nat({ max: 7 }), { maxLength: 48 }),
    preemption ? fc.array(fc.nat({ max: 4000 }), { maxLength: 6 }) : fc.constant([] as Array<number>)
  ] as const

/** Runs the property; on failure writes a counterexample and throws with its path and the trace. */
export const checkStateMachine = (name: string, options: StateMachineOptions): void => {
  const [choices, preemptions] = scheduleArbitraries(options.preemption ?? true)
  const commands = fc.commands(commandArbitraries({ shutdown: options.shutdown }), {
    maxCommands: options.maxCommands ?? 40,
    size: "+1"
  })
  const start = (preamble: readonly [number, number, number] | null, tape: Array<number>, preempt: Array<number>) => {
    const run = new Run(replay(tape, preempt))
    for (const command of preambleCommands(preamble)) {
      const mismatch = run.apply(command)
      if (mismatch !== undefined) throw new Error(`in the preamble: ${mismatch}`)
    }
    return run
  }
  const property = fc.property(preambleArbitrary, commands, choices, preemptions, (preamble, cmds, tape, preempt) => {
    const run = start(preamble, tape, preempt)
    fc.modelRun(() => ({ model: { n: 0 } as Names, real: run }), cmds)
  })
  const params: fc.Parameters<Parameters<typeof property.run>[0]> = fcParams(options.runs)
  const details = fc.check(property, options.seed === undefined ? params : { ...params, seed: options.seed })
  if (!details.failed || details.counterexample === null) return
  const [preamble, cmds, tape, preempt] = details.counterexample
  let run = new Run(replay(tape, preempt))
  let mismatch = "no mismatch on re-run"
  try {
    run = start(preamble, tape, preempt)
    fc.modelRun(() => ({ model: { n: 0 } as Names, real: run }), cmds)
  } catch (e) {
    // The outcome is the difference itself, as a replay of the commands reports it.
    mismatch = [...run.trace].reverse().find((event) => event.kind === "check")?.detail ?? (e as Error).message
  }
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
    input: run.commands
  }
  const file = writeCounterexample(name, example, options.outDir)
  throw new Error(
    `${name} failed: ${mismatch}\ncounterexample: ${file}\n` +
      `replay: npm run replay -- ${file}\n` +
      `fast-check: seed ${details.seed}, path "${details.counterexamplePath}", replayPath "${replayPathOf(cmds)}"\n` +
      `commands: ${String(cmds)}\nschedule: choices ${JSON.stringify(tape)}, preemptions ${JSON.stringify(preempt)}`
  )
}
