/**
 * A copy of the sendsync-deadline scenario (checker/scenarios/sendSyncDeadline.ts) whose calls go
 * through a planted request/response layer with a one-operation window: the deadline decides the call
 * in one Effect operation and releases the reply slot in the next, and `sendResp` trusts the slot's
 * presence. A response sent exactly in between is accepted (`true`) by a call that fails with
 * `SyncTimeout`, breaking R-SYNC-4. Only a preemption of the deadline between those two operations
 * shows it: a bug of the kind issue 9 planted, which escaped the suite, kept out of the library.
 */
import { Effect, Exit, Fiber } from "effect"
import { SyncTimeout } from "../../src/model/Errors.ts"
import * as Message from "../../src/model/Message.ts"
import type { Scenario } from "../../src/testing/Scenario.ts"

interface Slot {
  decided: boolean
  settle: ((outcome: Message.Message | "timeout") => void) | undefined
}

export interface PlantedWindowInput {
  /** Per caller: its timeout and its callee's answer delay (as in sendsync-deadline). */
  readonly calls: ReadonlyArray<{ readonly timeoutMs: number; readonly delayMs: number }>
  /** Whether the deadline releases the slot in the step that decides (the correct layer). */
  readonly atomic?: boolean | undefined
}

/** The planted scenario; `name` tells copies apart in a campaign report. */
export const plantedWindow = (input: PlantedWindowInput, name = "planted-window"): Scenario => ({
  name,
  run: (ctx) =>
    Effect.gen(function* () {
      const b = ctx.beehive
      const slots = new Map<string, Slot>()
      const decide = (slot: Slot, outcome: Message.Message | "timeout") => {
        if (slot.decided) return
        slot.decided = true
        slot.settle?.(outcome)
      }
      const sendSync = (module: string, message: Message.Message, timeoutMs: number) =>
        Effect.gen(function* () {
          const id = message.header.id
          const slot: Slot = { decided: false, settle: undefined }
          slots.set(id, slot)
          yield* b.send(module, message)
          const release = Effect.sync(() => slots.delete(id))
          // The planted window: deciding and releasing are two operations, unless `atomic`.
          const expire = input.atomic
            ? Effect.sync(() => {
                decide(slot, "timeout")
                slots.delete(id)
              })
            : Effect.sync(() => decide(slot, "timeout")).pipe(Effect.andThen(release))
          // Detached: the caller ends as soon as the deadline decides, and must not cut the release short.
          const deadline = yield* Effect.forkDetach(Effect.sleep(timeoutMs).pipe(Effect.andThen(expire)))
          const outcome = yield* Effect.callback<Message.Message | "timeout">((resume) => {
            slot.settle = (o) => resume(Effect.succeed(o))
          })
          if (outcome !== "timeout") {
            yield* Fiber.interrupt(deadline)
            yield* release
            return outcome
          }
          return yield* Effect.fail(new SyncTimeout({ msgId: id, module, timeoutMs, phase: "response" }))
        })
      const sendResp = (response: Message.Message) =>
        Effect.sync(() => {
          const slot = slots.get(response.header.parentId)
          if (slot === undefined) return false
          decide(slot, response)
          return true
        })

      const fibers = []
      for (const [i, { timeoutMs, delayMs }] of input.calls.entries()) {
        const callee = `callee${i}`
        const caller = `caller${i}`
        yield* b.addModule(callee)
        const answer = { accepted: undefined as boolean | undefined, at: -1 }
        const responder = yield* ctx.spawn(
          callee,
          Effect.gen(function* () {
            const request = yield* ctx.op(callee, `receive(${callee})`, b.receive(callee))
            if (delayMs >= 0) yield* Effect.sleep(delayMs)
            answer.at = ctx.now()
            answer.accepted = yield* ctx.op(
              callee,
              `sendResp(re #${request.header.id})`,
              sendResp(Message.make({ header: { id: `resp${i}`, parentId: request.header.id, timestamp: 1 } }))
            )
          })
        )
        const call = yield* ctx.spawn(
          caller,
          Effect.gen(function* () {
            const start = ctx.now()
            const exit = yield* Effect.exit(
              ctx.op(
                caller,
                `sendSync(${callee}, #req${i}, ${timeoutMs}ms)`,
                sendSync(callee, Message.make({ header: { id: `req${i}` } }), timeoutMs)
              )
            )
            return { exit, start, end: ctx.now() }
          })
        )
        fibers.push({ responder, call, timeoutMs, delayMs, answer, i })
      }
      for (const { responder, call, timeoutMs, delayMs, answer, i } of fibers) {
        const { exit, start, end } = yield* Fiber.join(call)
        yield* Fiber.join(responder)
        const succeeded = Exit.isSuccess(exit)
        yield* ctx.check(
          succeeded === answer.accepted,
          `call ${i}: it returned the response iff sendResp accepted it (R-SYNC-4)`
        )
        if (succeeded) {
          yield* ctx.check(end === Math.max(0, answer.at), `call ${i}: the response is returned the moment it is sent`)
        } else {
          yield* ctx.check(end - start === timeoutMs, `call ${i}: the timeout came exactly at the deadline (R-SYNC-5)`)
        }
        if (delayMs < timeoutMs)
          yield* ctx.check(succeeded, `call ${i}: a response sent before the deadline was returned`)
        if (delayMs > timeoutMs) yield* ctx.check(!succeeded, `call ${i}: a response after the deadline was refused`)
      }
      yield* ctx.quiesce
      yield* ctx.check(slots.size === 0, "no reply slot remains (R-SYNC-6)")
      yield* ctx.check(ctx.pendingTimers() === 0, "no timer remains")
    })
})
