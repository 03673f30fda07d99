/**
 * Cleanup against concurrent senders, receivers and a second cleanup (R-CLEAN-2..6, R-SEND-2,
 * R-RECV-2): after the cleanup nothing reaches the module; every message the mailbox accepted is
 * received or handed back as undelivered, exactly once; refused messages appear nowhere; exactly one
 * of concurrent cleanups reports.
 */
import { Effect, Exit, Fiber } from "effect"
import * as Message from "../../src/model/Message.ts"
import type { Scenario } from "../../src/testing/Scenario.ts"

export interface CleanupRaceInput {
  readonly capacity: number
  /** Messages per sender. */
  readonly senders: ReadonlyArray<number>
  readonly receivers: number
  /** Yields before each cleanup fiber cleans up. */
  readonly cleanups: ReadonlyArray<number>
  readonly lateSend: boolean
}

const count = (xs: ReadonlyArray<string>, x: string) => xs.filter((y) => y === x).length

export const cleanupRace = (input: CleanupRaceInput): Scenario => ({
  name: "cleanup-race",
  preemptAtOperations: true,
  beehive: { capacity: input.capacity },
  run: (ctx) =>
    Effect.gen(function* () {
      const b = ctx.beehive
      yield* b.addModule("m")
      const accepted: Array<string> = []
      const refused: Array<string> = []
      const received: Array<string> = []
      const undelivered: Array<string> = []
      let reports = 0
      const fibers = []
      for (const [s, n] of input.senders.entries()) {
        fibers.push(
          yield* ctx.spawn(
            `sender${s}`,
            Effect.gen(function* () {
              for (let k = 0; k < n; k++) {
                const id = `s${s}-${k}`
                const exit = yield* Effect.exit(
                  ctx.op(`sender${s}`, `send(m, #${id})`, b.send("m", Message.make({ header: { id } })))
                )
                ;(Exit.isSuccess(exit) ? accepted : refused).push(id)
              }
            })
          )
        )
      }
      for (let r = 0; r < input.receivers; r++) {
        fibers.push(
          yield* ctx.spawn(
            `receiver${r}`,
            Effect.gen(function* () {
              while (true) {
                const exit = yield* Effect.exit(ctx.op(`receiver${r}`, "receive(m)", b.receive("m")))
                if (Exit.isFailure(exit)) return
                received.push(exit.value.header.id)
              }
            })
          )
        )
      }
      for (const [c, yields] of input.cleanups.entries()) {
        fibers.push(
          yield* ctx.spawn(
            `cleaner${c}`,
            Effect.gen(function* () {
              for (let k = 0; k < yields; k++) yield* Effect.yieldNow
              const exit = yield* Effect.exit(ctx.op(`cleaner${c}`, "cleanup(m)", b.cleanup("m")))
              if (Exit.isSuccess(exit)) {
                reports++
                undelivered.push(...exit.value.undelivered.map((m) => m.header.id))
              } else {
                const error = exit.cause.reasons[0] as { error?: { _tag?: string } }
                yield* ctx.check(
                  error.error?._tag === "ModuleNotFound",
                  "a losing cleanup fails with ModuleNotFound (R-CLEAN-6)"
                )
              }
            })
          )
        )
      }
      yield* Fiber.joinAll(fibers)
      if (input.lateSend) {
        const late = yield* Effect.exit(b.send("m", Message.make({ header: { id: "late" } })))
        yield* ctx.check(Exit.isFailure(late), "after the cleanup a send fails (R-CLEAN-2)")
      }
      yield* ctx.check(reports === 1, `exactly one cleanup reported (${reports}) (R-CLEAN-6)`)
      for (const id of accepted) {
        yield* ctx.check(
          count(received, id) + count(undelivered, id) === 1,
          `#${id} accepted: received or undelivered exactly once (R-CLEAN-4)`
        )
      }
      for (const id of [...received, ...undelivered]) {
        yield* ctx.check(accepted.includes(id), `#${id} was accepted before it was received or returned`)
      }
      yield* ctx.check(
        refused.every((id) => !received.includes(id) && !undelivered.includes(id)),
        "refused messages appear nowhere"
      )
      const snapshot = yield* b.snapshot
      yield* ctx.check(snapshot.modules.length === 0 && snapshot.groups.size === 0, "the module is gone (R-CLEAN-2)")
    })
})
