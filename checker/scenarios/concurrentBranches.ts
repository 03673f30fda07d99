/**
 * Concurrency mode, in the spirit of PULSE and quickcheck-state-machine: a sequential prefix, then
 * two or three branches run concurrently under the controlled scheduler, then every module is
 * cleaned up. The recorded history (invocations and responses of every operation) must be
 * linearizable against the sequential specification (spec/model/Sequential.ts).
 */
import { Effect, Exit, Fiber } from "effect"
import { type SeqOp, type SeqResult, type SeqState, seqStep } from "../../spec/model/Sequential.ts"
import * as Message from "../../src/model/Message.ts"
import type { Scenario } from "../../src/testing/Scenario.ts"
import { checkLinearizable, type HistoryEntry } from "../harness/Linearizability.ts"

export interface BranchesInput {
  readonly prefix: ReadonlyArray<SeqOp>
  readonly branches: ReadonlyArray<ReadonlyArray<SeqOp>>
}

const resultOf = (exit: Exit.Exit<unknown, unknown>): SeqResult => {
  if (Exit.isSuccess(exit)) {
    const v = exit.value as
      | { header?: { id: string }; undelivered?: ReadonlyArray<{ header: { id: string } }> }
      | undefined
    if (v?.header !== undefined) return { _tag: "ok", value: v.header.id }
    if (v?.undelivered !== undefined) return { _tag: "ok", value: v.undelivered.map((m) => m.header.id) }
    return { _tag: "ok" }
  }
  const error = (exit.cause.reasons[0] as { error?: { _tag?: string } } | undefined)?.error?._tag
  return error === "ModuleAlreadyExists" ? { _tag: "exists" } : { _tag: "absent" }
}

const label = (op: SeqOp) =>
  op._tag === "AddModule"
    ? `addModule(${op.module}, ${op.capacity})`
    : op._tag === "Send"
      ? `send(${op.module}, #${op.id})`
      : op._tag === "Receive"
        ? `receive(${op.module})`
        : `cleanup(${op.module})`

export const concurrentBranches = (input: BranchesInput): Scenario => ({
  name: "concurrent-branches",
  preemptAtOperations: true,
  run: (ctx) =>
    Effect.gen(function* () {
      const b = ctx.beehive
      const history: Array<HistoryEntry> = []
      let tick = 0
      const perform = (thread: string, op: SeqOp) =>
        Effect.gen(function* () {
          const effect: Effect.Effect<unknown, unknown> =
            op._tag === "AddModule"
              ? b.addModule(op.module, { capacity: op.capacity })
              : op._tag === "Send"
                ? b.send(op.module, Message.make({ header: { id: op.id } }))
                : op._tag === "Receive"
                  ? b.receive(op.module)
                  : b.cleanup(op.module)
          const invoke = ++tick
          const exit = yield* Effect.exit(ctx.op(thread, label(op), effect))
          history.push({ id: history.length, thread, op, invoke, response: ++tick, result: resultOf(exit) })
        })
      // The prefix runs sequentially, so it skips what would wait (nothing could wake it).
      let state: SeqState = new Map()
      for (const op of input.prefix) {
        const mailbox = state.get(op.module)
        if (op._tag === "Send" && mailbox !== undefined && mailbox.queue.length >= mailbox.capacity) continue
        if (op._tag === "Receive" && (mailbox === undefined || mailbox.queue.length === 0)) continue
        yield* perform("prefix", op)
        const last = history[history.length - 1] as HistoryEntry
        state = seqStep(state, op, last.result as SeqResult) ?? state
      }
      const fibers = []
      for (const [i, branch] of input.branches.entries()) {
        fibers.push(
          yield* ctx.spawn(
            `branch${i}`,
            Effect.gen(function* () {
              for (const op of branch) yield* perform(`branch${i}`, op)
            })
          )
        )
      }
      // Whatever still waits (a receive on an empty mailbox, a send to a full one) is ended by
      // cleaning up; a branch may add a module again and wait on it, hence the rounds.
      for (let round = 0; round < 10 && fibers.some((f) => f.pollUnsafe() === undefined); round++) {
        yield* ctx.quiesce
        for (const module of ["a", "b"]) yield* perform("main", { _tag: "Cleanup", module })
      }
      yield* Fiber.joinAll(fibers)
      const result = checkLinearizable(history, new Map())
      yield* ctx.check(
        result.ok,
        `the history is linearizable${result.module ? ` (not on module ${result.module})` : ""}`
      )
    })
})
