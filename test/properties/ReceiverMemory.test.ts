/**
 * A receiver's memory does not grow with what it received (R-RECV-4's hand-off keeps one slot per
 * fiber, not one per message): a fiber receiving a generated number of messages, one at a time or in
 * batches, leaves the heap, once collected, within a bound far below what a few bytes kept per message
 * would add up to.
 */
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { makeBeehive } from "../../src/contexts/Beehive.ts"
import { fcParams } from "../support/fc.ts"
import { collectGarbage } from "../support/garbage.ts"
import { msg } from "../support/messages.ts"

/** What the heap may grow by, whatever the count: 100,000 messages at 40 bytes kept each would be 4 MB. */
const BoundBytes = 2 * 1024 * 1024

describe("R-RECV-4 a receiver's memory", () => {
  it(
    "R-RECV-4 R-RECV-5 a fiber that receives 100,000 messages or more, one at a time and in batches of a generated size, keeps nothing per message",
    () =>
      fc.assert(
        fc.asyncProperty(fc.integer({ min: 100_000, max: 150_000 }), fc.integer({ min: 1, max: 10 }), (count, batch) =>
          Effect.runPromise(
            Effect.scoped(
              Effect.gen(function* () {
                const beehive = yield* makeBeehive({ capacity: 1024 })
                yield* beehive.addModule("m")
                const message = msg("same")
                // Rounds of a full mailbox received by this fiber: each message is taken at once, and
                // handed over through the fiber's slot.
                const rounds = (how: "receive" | "receiveAll", messages: number) =>
                  Effect.gen(function* () {
                    for (let done = 0; done < messages; done += 1000) {
                      for (let i = 0; i < 1000; i++) yield* beehive.send("m", message)
                      if (how === "receive") for (let i = 0; i < 1000; i++) yield* beehive.receive("m")
                      else for (let left = 1000; left > 0; ) left -= (yield* beehive.receiveAll("m", batch)).length
                    }
                  })
                for (const how of ["receive", "receiveAll"] as const) {
                  yield* rounds(how, 1000)
                  yield* collectGarbage
                  const before = process.memoryUsage().heapUsed
                  yield* rounds(how, count)
                  yield* collectGarbage
                  expect(process.memoryUsage().heapUsed - before, how).toBeLessThan(BoundBytes)
                }
              })
            ) as Effect.Effect<void>
          )
        ),
        fcParams(3)
      ),
    60_000
  )
})
