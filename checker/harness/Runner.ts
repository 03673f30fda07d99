/**
 * Runs a list of model commands against the model and the implementation side by side, under a
 * recorded schedule, and reports the first place they disagree, with a trace a person can read.
 * Used by the state-machine properties and by `npm run replay`.
 */

import { initialState, type State } from "../../spec/model/State.ts"
import { type Command, step } from "../../spec/model/Step.ts"
import { replay as replayStrategy, type Strategy } from "../../src/effects/Strategy.ts"
import type { TraceEvent } from "../../src/testing/Scenario.ts"
import { RealSystem } from "./Real.ts"
import { describeModel } from "./Summaries.ts"

/** The decisions that drive the scheduler during a run. */
export interface Schedule {
  readonly choices: ReadonlyArray<number>
  readonly preemptions: ReadonlyArray<number>
}

export interface RunReport {
  readonly trace: ReadonlyArray<TraceEvent>
  /** Why the implementation left the model, if it did. */
  readonly mismatch: string | undefined
  readonly decisions: Schedule
  readonly commands: ReadonlyArray<Command>
}

/** A command as one readable line. */
export const describeCommand = (c: Command): string => {
  switch (c._tag) {
    case "AddModule":
      return `${c.op}: addModule(${c.module}, capacity ${c.capacity})`
    case "AddModuleGroup":
      return `${c.op}: addModuleGroup(${c.module}, ${c.group})`
    case "Cleanup":
      return `${c.op}: cleanup(${c.module})`
    case "Send":
      return `${c.op}: send(${c.module}, #${c.id})`
    case "Receive":
      return `${c.op}: receive(${c.module})`
    case "SendSync":
      return `${c.op}: sendSync(${c.module}, #${c.id}, ${c.timeoutMs}ms)`
    case "SendResp":
      return `${c.op}: sendResp(#${c.id} re #${c.parentId}${c.from === undefined ? "" : `, from ${c.from}`})`
    case "SendToGroup":
      return `${c.op}: sendToGroup(${c.group}, #${c.id})`
    case "SendToGroupSync":
      return `${c.op}: sendToGroupSync(${c.group}, #${c.id}, ${c.timeoutMs}ms)`
    case "Advance":
      return `advance ${c.ms}ms`
    case "Interrupt":
      return `interrupt ${c.target}`
    case "Shutdown":
      return `${c.op}: shutdown`
  }
}

/**
 * Compares the model and the implementation after a command: every outcome the model has must be the
 * implementation's, no operation may end in one and not the other, and the observable states must
 * be equal. Returns the first difference.
 */
export const compare = (model: State, real: RealSystem): string | undefined => {
  const actual = real.outcomes()
  for (const [op, expected] of Object.entries(model.outcomes)) {
    if (actual[op] !== expected) return `${op}: model ${expected}, implementation ${actual[op] ?? "still running"}`
  }
  for (const [op, got] of Object.entries(actual)) {
    if (model.outcomes[op] === undefined) return `${op}: implementation ended with ${got}, model still running`
  }
  const expected = describeModel(model)
  const got = real.snapshot()
  if (expected !== got) return `state: model ${expected}\n       implementation ${got}`
  // R-SYNC-6, R-GSYNC-7: with no call pending, no deadline timer may remain.
  if (model.calls.length === 0 && real.pendingTimers !== 0)
    return `${real.pendingTimers} timer(s) left with no call pending`
  return undefined
}

/** A stateful run, one command at a time (what fast-check's commands drive). */
export class Run {
  model: State = initialState()
  readonly real: RealSystem
  readonly trace: Array<TraceEvent> = []
  readonly commands: Array<Command> = []
  private reported = new Set<string>()

  constructor(strategy: Strategy) {
    this.real = new RealSystem(strategy)
  }

  private event(kind: TraceEvent["kind"], fiber: string, op: string, detail?: string) {
    this.trace.push({
      seq: this.trace.length,
      time: this.real.sim.now,
      fiber,
      kind,
      op,
      ...(detail === undefined ? {} : { detail })
    })
  }

  /** Applies a command to both sides; returns the first difference, if any. */
  apply(command: Command): string | undefined {
    this.commands.push(command)
    const fiber = "op" in command ? command.op : command._tag === "Interrupt" ? command.target : "clock"
    this.event("invoke", fiber, describeCommand(command))
    const [next] = step(this.model, command) as [State]
    this.model = next
    this.real.apply(command)
    const outcomes = this.real.outcomes()
    for (const [op, outcome] of Object.entries(outcomes)) {
      if (this.reported.has(op)) continue
      this.reported.add(op)
      this.event(
        outcome.startsWith("ok") ? "return" : "fail",
        op,
        this.commands.find((c) => "op" in c && c.op === op)?._tag ?? op,
        outcome
      )
    }
    const mismatch = compare(this.model, this.real)
    if (mismatch !== undefined) this.event("check", "main", "implementation follows the model", mismatch)
    return mismatch
  }
}

/** Replays commands under a schedule from scratch; stops at the first difference. */
export const runCommands = (commands: ReadonlyArray<Command>, schedule: Schedule): RunReport => {
  const run = new Run(replayStrategy(schedule.choices, schedule.preemptions))
  let mismatch: string | undefined
  for (const command of commands) {
    mismatch = run.apply(command)
    if (mismatch !== undefined) break
  }
  const decisions = run.real.sim.decisions()
  return {
    trace: run.trace,
    mismatch,
    decisions: { choices: decisions.choices, preemptions: decisions.preemptions },
    commands: run.commands
  }
}
