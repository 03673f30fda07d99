/**
 * A `sendAll` interrupted at any of its steps (R-SEND-5, R-SEND-3): what the module got is the
 * array's first messages, in order, as many as were accepted before the interruption, and nothing
 * after them is sent, then or later. With a mailbox smaller than the array the call waits for room
 * between messages; a receiver may take them as they come. The interruption's place is swept as in
 * the other interruption properties: the call's fiber yields every few operations, and the
 * interruption comes after a number of yields of the test's own fiber.
 */
import { Effect, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Beehive } from "../../src/contexts/Beehive.ts"
import type { Message } from "../../src/model/Message.ts"
import { fcParams } from "../support/fc.ts"
import { arbOpsBeforeYield, interruptedAfter } from "../support/interruptedAfter.ts"
import { msg } from "../support/messages.ts"

describe("R-SEND-5 a sendAll interrupted", () => {
  it("R-SEND-5 R-SEND-3 property: a sendAll interrupted at any of its steps has sent the array's first messages, in order, and none after them, then or later", () =>
    fc.assert(
      fc.asyncProperty(
        fc.record({
          capacity: fc.integer({ min: 1, max: 3 }),
          count: fc.integer({ min: 1, max: 6 }),
          receiving: fc.boolean(),
          interruptAfter: fc.nat(30),
          opsBeforeYield: arbOpsBeforeYield
        }),
        (script) =>
          Effect.runPromise(
            Effect.scoped(
              Effect.gen(function* () {
                const beehive = yield* Beehive.make()
                yield* beehive.addModule("m", { capacity: script.capacity })
                const given = Array.from({ length: script.count }, (_, i) => msg(`${i + 1}`))
                const received: Array<Message> = []
                const receiver = script.receiving
                  ? yield* Effect.forkChild(
                      Effect.forever(
                        Effect.map(beehive.receive("m"), (m) => received.push(m)),
                        { disableYield: true }
                      )
                    )
                  : undefined
                yield* interruptedAfter(
                  Effect.asVoid(beehive.sendAll("m", given)),
                  script.interruptAfter,
                  script.opsBeforeYield
                )
                const moduleNow = () =>
                  Effect.map(beehive.snapshot, (snapshot) => snapshot.modules.find((m) => m.name === "m"))
                // The interrupted call left no message waiting for room (R-SEND-3).
                expect((yield* moduleNow())?.waitingSenders).toBe(0)
                if (receiver !== undefined) yield* Fiber.interrupt(receiver)
                const sent = received.length + ((yield* moduleNow())?.queued ?? 0)
                // Time for anything still on its way to arrive: nothing may.
                for (let i = 0; i < 20; i++) yield* Effect.yieldNow
                const { undelivered } = yield* beehive.cleanup("m")
                const got = [...received, ...undelivered].map((m) => m.header.id)
                expect(got).toEqual(given.slice(0, sent).map((m) => m.header.id))
              })
            )
          )
      ),
      fcParams(300)
    ))
})
