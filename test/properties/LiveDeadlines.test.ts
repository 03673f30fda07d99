/**
 * R-SYNC-5 on Effect's own clock, where a deadline is a `setTimeout` (the virtual clock's deadlines are
 * the state machine's): calls nobody answers, with short generated timeouts, started together or
 * apart; each fails with `SyncTimeout` and never before the clock reads its deadline, and a call
 * answered (with a deadline no load reaches) gets its answer. Node's timers may fire a millisecond before `Date.now()` reads
 * their end; the clock is the oracle, never the timer.
 */
import { Clock, Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Beehive } from "../../src/contexts/Beehive.ts"
import * as Message from "../../src/model/Message.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"

describe("R-SYNC-5 deadlines on the live clock", () => {
  it("R-SYNC-5 R-SYNC-1 an unanswered call fails with SyncTimeout no earlier than its deadline; an answered one gets its answer", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ timeoutMs: fc.integer({ min: 1, max: 12 }), answered: fc.boolean() }), {
          minLength: 1,
          maxLength: 6
        }),
        (calls) =>
          Effect.runPromise(
            Effect.scoped(
              Effect.gen(function* () {
                const beehive = yield* Beehive.make()
                yield* beehive.addModule("silent")
                yield* beehive.addModule("echo")
                yield* Effect.forkChild(
                  Effect.forever(
                    Effect.gen(function* () {
                      const request = yield* beehive.receive("echo")
                      yield* beehive.sendResp(yield* Message.newResponse(request, "ok"), "echo")
                    })
                  )
                )
                const fibers = yield* Effect.forEach(calls, ({ timeoutMs, answered }) =>
                  Effect.forkChild(
                    Effect.gen(function* () {
                      const started = yield* Clock.currentTimeMillis
                      // An answered call gets a deadline no load can reach: its timer must be stopped, not fire.
                      const exit = yield* Effect.exit(
                        answered
                          ? beehive.sendSync("echo", yield* Message.newMessage(), 60_000)
                          : beehive.sendSync("silent", yield* Message.newMessage(), timeoutMs)
                      )
                      return { exit, elapsed: (yield* Clock.currentTimeMillis) - started }
                    })
                  )
                )
                for (const [i, fiber] of fibers.entries()) {
                  const { exit, elapsed } = yield* Fiber.join(fiber)
                  const { timeoutMs, answered } = calls[i] as (typeof calls)[number]
                  if (answered) {
                    expect(Exit.isSuccess(exit) && exit.value.content).toBe("ok")
                    continue
                  }
                  expect(errorOf(exit)).toMatchObject({ _tag: "SyncTimeout", timeoutMs })
                  expect(elapsed, `call ${i} failed before its deadline`).toBeGreaterThanOrEqual(timeoutMs)
                }
              })
            )
          )
      ),
      fcParams(60)
    ))
})
