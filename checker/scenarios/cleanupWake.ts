/**
 * What a fiber woken by a cleanup sees (R-CLEAN-2, R-CLEAN-3): the cleanup is one step that removes
 * the module from the module table and from every group before it closes the mailbox, so a receiver
 * or a sender that the close fails with `ModuleClosed` — and that runs at once, inside that step —
 * already finds the module gone: not in the snapshot, not in any group, `send` and `receive` fail with
 * `ModuleNotFound`, and a group broadcast no longer addresses it. (Go closes after unregistering too,
 * but a 20 ms sleep apart; closing first would let a woken fiber deliver into, or find, a module that
 * is being torn down.)
 */
import { Effect, Exit, Fiber } from "effect"
import * as Message from "../../src/model/Message.ts"
import type { Scenario, ScenarioContext } from "../../src/testing/Scenario.ts"

export interface CleanupWakeInput {
  readonly capacity: number
  /** Receivers that wait on the (empty) module. */
  readonly receivers: number
  /** Messages per sender; the senders beyond the capacity wait for room. */
  readonly senders: ReadonlyArray<number>
  /** Yields before each cleanup fiber cleans up. */
  readonly cleanups: ReadonlyArray<number>
  /** Whether the module is also in a second group "h" of its own. */
  readonly twoGroups: boolean
}

const tagOf = (exit: Exit.Exit<unknown, unknown>): string | undefined =>
  Exit.isFailure(exit) ? (exit.cause.reasons[0] as { error?: { _tag?: string } }).error?._tag : undefined

/** Checks, from the fiber that just saw the module fail, that the module is gone in every respect. */
const observeGone = (ctx: ScenarioContext, who: string) =>
  Effect.gen(function* () {
    const b = ctx.beehive
    const snapshot = yield* b.snapshot
    yield* ctx.check(
      snapshot.modules.every((m) => m.name !== "m"),
      `${who}: once woken by the cleanup, m is no longer in the module table (R-CLEAN-2)`
    )
    yield* ctx.check(
      [...snapshot.groups.values()].every((members) => !members.includes("m")),
      `${who}: once woken by the cleanup, m is in no group (R-CLEAN-2)`
    )
    const send = yield* Effect.exit(b.send("m", Message.make({ header: { id: `${who}-probe` } })))
    yield* ctx.check(tagOf(send) === "ModuleNotFound", `${who}: a send to m now fails with ModuleNotFound (R-CLEAN-2)`)
    const receive = yield* Effect.exit(b.receive("m"))
    yield* ctx.check(
      tagOf(receive) === "ModuleNotFound",
      `${who}: a receive on m now fails with ModuleNotFound (R-CLEAN-2)`
    )
    const broadcast = yield* b.sendToGroup("g", Message.make({ header: { id: `${who}-all` } }))
    yield* ctx.check(
      broadcast.delivered.join() === "peer" && broadcast.gone.length === 0,
      `${who}: a broadcast to g now reaches only the peer (R-CLEAN-2, R-GROUP-2)`
    )
  })

export const cleanupWake = (input: CleanupWakeInput): Scenario => ({
  name: "cleanup-wake",
  beehive: { capacity: input.capacity },
  run: (ctx) =>
    Effect.gen(function* () {
      const b = ctx.beehive
      yield* b.addModule("m")
      yield* b.addModule("peer", { capacity: 64 })
      yield* b.addModuleGroup("m", "g")
      yield* b.addModuleGroup("peer", "g")
      if (input.twoGroups) yield* b.addModuleGroup("m", "h")
      const fibers = []
      for (let r = 0; r < input.receivers; r++) {
        const name = `receiver${r}`
        fibers.push(
          yield* ctx.spawn(
            name,
            Effect.gen(function* () {
              while (true) {
                // Not wrapped in ctx.op: the observation must run in the step the failure arrives in.
                const exit = yield* Effect.exit(b.receive("m"))
                if (Exit.isSuccess(exit)) continue
                yield* ctx.note(name, `receive(m) failed: ${tagOf(exit)}`)
                return yield* observeGone(ctx, name)
              }
            })
          )
        )
      }
      for (const [s, n] of input.senders.entries()) {
        const name = `sender${s}`
        fibers.push(
          yield* ctx.spawn(
            name,
            Effect.gen(function* () {
              for (let k = 0; k < n; k++) {
                const exit = yield* Effect.exit(b.send("m", Message.make({ header: { id: `s${s}-${k}` } })))
                if (Exit.isSuccess(exit)) continue
                yield* ctx.note(name, `send(m) failed: ${tagOf(exit)}`)
                return yield* observeGone(ctx, name)
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
              yield* Effect.exit(ctx.op(`cleaner${c}`, "cleanup(m)", b.cleanup("m")))
            })
          )
        )
      }
      yield* Fiber.joinAll(fibers)
      yield* observeGone(ctx, "main")
    })
})
