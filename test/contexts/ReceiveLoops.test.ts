import { Effect, Fiber, Layer, Scheduler } from "effect"
import { describe, expect, it } from "vitest"
import { Beehive } from "../../src/contexts/Beehive.ts"
import { msg } from "../support/messages.ts"

type Looping = "Effect.forever" | "disableYield" | "disableYield, never yielding"

/**
 * How many of a full mailbox's messages a receive loop had taken when another fiber, forked just after
 * it, first ran: what the README ("A module's receive loop") says about how each loop gives way.
 */
const takenWhenOthersRun = (looping: Looping, queued: number) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const b = yield* Beehive
      yield* b.addModule("m")
      for (let i = 0; i < queued; i++) yield* b.send("m", msg(`m${i}`))
      let taken = 0
      const take = Effect.map(b.receive("m"), () => {
        taken++
      })
      const loop = Effect.forever(take, { disableYield: looping !== "Effect.forever" })
      yield* Effect.forkChild(
        looping === "disableYield, never yielding"
          ? Effect.provideService(loop, Scheduler.MaxOpsBeforeYield, Number.MAX_SAFE_INTEGER)
          : loop
      )
      return yield* Fiber.join(yield* Effect.forkChild(Effect.sync(() => taken)))
    }).pipe(Effect.scoped, Effect.provide(Layer.fresh(Beehive.layer)))
  )

describe("receive loops (README: A module's receive loop)", () => {
  it("Effect.forever yields after every message; with disableYield the loop still gives way every 2048 operations", async () => {
    expect(await takenWhenOthersRun("Effect.forever", 1000)).toBe(1)
    const taken = await takenWhenOthersRun("disableYield", 1000)
    expect(taken).toBeGreaterThan(1)
    expect(taken).toBeLessThan(1000)
    // What the loop would do if Effect's run loop did not count its operations: take everything first.
    expect(await takenWhenOthersRun("disableYield, never yielding", 1000)).toBe(1000)
  })
})
