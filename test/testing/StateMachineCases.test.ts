/**
 * The state machine's case counts (checker/harness/Cases.ts) say what a run reached: each case is
 * counted when, and only when, its situation occurs. The floors of StateMachine.test.ts rest on them.
 */
import { describe, expect, it } from "vitest"
import { Run, type RunStep } from "../../checker/harness/Runner.ts"
import type { Command } from "../../spec/model/Step.ts"
import { replay } from "../../src/effects/Strategy.ts"

const runOf = (steps: ReadonlyArray<RunStep>): Run => {
  const run = new Run(replay([], []))
  for (const step of steps) expect(run.applyStep(step)).toBeUndefined()
  return run
}

const setup: ReadonlyArray<Command> = [
  { _tag: "AddModule", op: "s1", module: "a", capacity: 2 },
  { _tag: "AddModule", op: "s2", module: "b", capacity: 2 },
  { _tag: "AddModule", op: "s3", module: "c", capacity: 2 },
  { _tag: "AddModuleGroup", op: "s4", module: "a", group: "g" },
  { _tag: "AddModuleGroup", op: "s5", module: "b", group: "g" }
]

describe("the state machine's case counts", () => {
  it("R-GSYNC-5 R-GSYNC-6: a member that took its copy, was cleaned up and answered counts as gone, after receiving; a non-member's answer as a non-member's", () => {
    const run = runOf([
      ...setup,
      { _tag: "SendToGroupSync", op: "op1", group: "g", id: "q", timeoutMs: 50, source: "a" },
      { _tag: "Receive", op: "op2", module: "a" },
      { _tag: "Cleanup", op: "op3", module: "a" },
      { _tag: "SendResp", op: "op4", id: "r1", parentId: "q", from: "a" },
      { _tag: "SendResp", op: "op5", id: "r2", parentId: "q", from: "c" }
    ])
    expect(run.cases).toEqual({
      sourceInOwnGroup: 1,
      goneMemberAnswers: 1,
      goneAfterReceiving: 1,
      nonMemberAnswers: 1
    })
  })

  it("R-SYNC-1 R-SYNC-2 R-SYNC-4 R-RECV-4: duplicate and reused ids, default and non-positive timeouts, an answer at the deadline instant, a waiting receive interrupted", () => {
    const run = runOf([
      ...setup,
      { _tag: "SendSync", op: "op1", module: "b", id: "x", timeoutMs: 10 },
      { _tag: "SendSync", op: "op2", module: "b", id: "x", timeoutMs: undefined },
      {
        _tag: "Round",
        commands: [
          { _tag: "SendResp", op: "op3", id: "r", parentId: "x", from: "b" },
          { _tag: "Advance", ms: 10 }
        ],
        early: true
      },
      { _tag: "SendSync", op: "op4", module: "b", id: "x", timeoutMs: 0 },
      { _tag: "Receive", op: "op5", module: "c" },
      { _tag: "Interrupt", target: "op5" }
    ])
    expect(run.cases).toEqual({
      duplicateId: 1,
      reusedId: 1,
      defaultTimeout: 1,
      zeroOrNegativeTimeout: 1,
      answerAtDeadline: 1,
      receiverInterrupted: 1
    })
  })
})
