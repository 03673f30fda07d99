/**
 * A receiver stopped between taking a message and handing it over, whose finalizer receives again
 * (R-RECV-4, R-SEND-4): the message it held goes back to the head of the mailbox before the
 * finalizer's receive takes one, so every message is received once and in the order the mailbox
 * accepted them, whatever the schedule and wherever the interruption lands (preemptions at random or
 * fitted to the run, which reach the one-operation window between the take and the hand-over).
 */
import { Effect, Exit, Fiber, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { makeBeehive } from "../../src/contexts/Beehive.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import type { Strategy } from "../../src/effects/Strategy.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"
import { arbPreemption, underPreemption } from "../support/preemption.ts"

describe("R-RECV-4 a receiver whose finalizer receives again", () => {
  it("R-RECV-4 R-SEND-4 a receiver interrupted at any point of any schedule, its finalizer receiving once more: every message is received once, in the order the mailbox accepted them", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.nat({ max: 12 }),
        fc.nat(),
        arbPreemption([0.2, 0.5]),
        (count, yieldsBeforeInterrupt, seed, preemption) => {
          const scenario = (strategy: Strategy): void => {
            const sim = new SimRuntime({ strategy })
            const scope = sim.run(Scope.make())
            const beehive = sim.run(Scope.provide(makeBeehive(), scope))
            const sent = Array.from({ length: count }, (_, i) => `m${i}`)
            sim.run(
              Effect.gen(function* () {
                yield* beehive.addModule("m")
                for (const id of sent) yield* beehive.send("m", msg(id))
              })
            )
            const received: Array<string> = []
            // Recorded in the continuation the message is handed to, in the operation that hands it over:
            // a step of its own after it would be one where an interruption drops it in this test.
            const take = Effect.flatMap(beehive.receive("m"), (m) => {
              received.push(m.header.id)
              return Effect.void
            })
            // The finalizer receives only what is queued, so that it never waits.
            const queued = Effect.map(beehive.snapshot, (s) => s.modules.find((m) => m.name === "m")?.queued ?? 0)
            const receiver = sim.fork(
              Effect.onInterrupt(Effect.forever(take), () =>
                Effect.flatMap(queued, (n) => (n > 0 ? take : Effect.void))
              )
            )
            sim.fork(
              Effect.gen(function* () {
                for (let k = 0; k < yieldsBeforeInterrupt; k++) yield* Effect.yieldNow
                yield* Fiber.interrupt(receiver)
              })
            )
            sim.settle()
            const left = sim.run(Effect.map(queued, (n) => n))
            const rest = sim.run(left > 0 ? beehive.receiveAll("m") : Effect.succeed([]))
            expect([...received, ...rest.map((m) => m.header.id)]).toEqual(sent)
            sim.run(Scope.close(scope, Exit.void))
          }
          underPreemption(seed, preemption, scenario)
        }
      ),
      fcParams(1000)
    ))
})
