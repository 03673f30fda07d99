/**
 * SendSync deadlines (R-SYNC-1, R-SYNC-4, R-SYNC-5, R-SYNC-6): each caller sends one request to its
 * own callee, which answers after a delay. A response accepted before the deadline is returned the
 * moment it is sent; without one, the call times out exactly at the deadline, never earlier; the
 * default deadline is 30 s; no slot and no timer remains.
 */
import { Effect, Exit, Fiber } from "effect"
import * as Message from "../../src/model/Message.ts"
import { formatTimeout, type Scenario } from "../../src/testing/Scenario.ts"

export interface SendSyncDeadlineInput {
  /**
   * Per caller: its timeout (0 means the 30 s default) and its callee's answer delay; a negative delay
   * answers at once, in the same step as the receive (so possibly before the caller has suspended:
   * the case Go loses).
   */
  readonly calls: ReadonlyArray<{ readonly timeoutMs: number; readonly delayMs: number }>
}

export const sendSyncDeadline = (input: SendSyncDeadlineInput): Scenario => ({
  name: "sendsync-deadline",
  run: (ctx) =>
    Effect.gen(function* () {
      const b = ctx.beehive
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
              b.sendResp(Message.make({ header: { id: `resp${i}`, parentId: request.header.id, timestamp: 1 } }))
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
                `sendSync(${callee}, #req${i}, ${formatTimeout(timeoutMs)})`,
                b.sendSync(callee, Message.make({ header: { id: `req${i}` } }), timeoutMs)
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
        const deadline = timeoutMs > 0 ? timeoutMs : 30_000
        const succeeded = Exit.isSuccess(exit)
        yield* ctx.check(
          succeeded === answer.accepted,
          `call ${i}: it returned the response iff sendResp accepted it (R-SYNC-4)`
        )
        if (succeeded) {
          yield* ctx.check(end === Math.max(0, answer.at), `call ${i}: the response is returned the moment it is sent`)
          yield* ctx.check(exit.value.header.id === `resp${i}`, `call ${i}: it returned its own response`)
        } else {
          yield* ctx.check(
            end - start === deadline,
            `call ${i}: the timeout came exactly at the deadline (${deadline} ms) (R-SYNC-5)`
          )
          const error = exit.cause.reasons[0] as { error?: { _tag?: string; phase?: string } }
          yield* ctx.check(
            error.error?._tag === "SyncTimeout" && error.error.phase === "response",
            `call ${i}: it failed with SyncTimeout in the response phase`
          )
        }
        if (delayMs < deadline)
          yield* ctx.check(succeeded, `call ${i}: a response sent before the deadline was returned`)
        if (delayMs > deadline) yield* ctx.check(!succeeded, `call ${i}: a response after the deadline was refused`)
      }
      yield* ctx.quiesce
      const snapshot = yield* b.snapshot
      yield* ctx.check(snapshot.pendingCalls.length === 0, "no reply slot remains (R-SYNC-6)")
      yield* ctx.check(ctx.pendingTimers() === 0, "no timer remains")
    })
})
