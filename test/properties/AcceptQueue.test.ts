/**
 * A listener's queue of connections and accepts (R-SOCK-22) as a property, the queue taken alone:
 * any interleaving of arrivals, accepts begun, accepts given up and a close, against a model written
 * from SPEC.md's sentence (connections handed over in the order they arrived, one to each accept, to
 * the accepts in the order they began; an accept given up takes nothing with it; closing fails every
 * accept waiting and to come, hands back the connections never handed over, and keeps no connection
 * that arrives after it). The transports' own properties (Transport.test.ts) cannot reach an arrival
 * after the close: each stops arrivals before it closes the queue.
 */
import { Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { AcceptQueue } from "../../src/contexts/socket/AcceptQueue.ts"
import type { Connection } from "../../src/contexts/socket/Transport.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import { ConnectionClosed } from "../../src/model/SocketErrors.ts"
import { fcParams } from "../support/fc.ts"
import { arbPreemption, underPreemption } from "../support/preemption.ts"

type Command =
  | { readonly _tag: "arrive" }
  | { readonly _tag: "accept" }
  | { readonly _tag: "giveUp"; readonly which: number }
  | { readonly _tag: "close" }

const arbCommand: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ _tag: "arrive" as const }) },
  { weight: 3, arbitrary: fc.constant({ _tag: "accept" as const }) },
  { weight: 1, arbitrary: fc.nat().map((which) => ({ _tag: "giveUp" as const, which })) },
  { weight: 1, arbitrary: fc.constant({ _tag: "close" as const }) }
)

const connection = (n: number): Connection =>
  ({ peer: `c${n}`, read: Effect.never, write: () => Effect.void, close: Effect.void }) as unknown as Connection

/** What each accept ended with, by the model: the connection's number, "closed", or still waiting. */
type Outcome = number | "closed" | "given up" | "waiting"

describe("R-SOCK-22 a listener's accept queue, alone", () => {
  it("R-SOCK-22 arrivals go to accepts in the order both began; an accept given up takes nothing; a close fails the accepts, hands back what was never taken and keeps nothing that arrives after it", () =>
    fc.assert(
      fc.asyncProperty(fc.array(arbCommand, { minLength: 1, maxLength: 25 }), (commands) =>
        Effect.runPromise(
          Effect.gen(function* () {
            const queue = new AcceptQueue()
            const closed = new ConnectionClosed({ peer: "listener", detail: "closed" })
            // The model.
            const pending: Array<number> = []
            const waiting: Array<number> = []
            const expected: Array<Outcome> = []
            let isClosed = false
            let handedBack: Array<number> = []
            // The queue.
            const accepts: Array<Fiber.Fiber<Connection, ConnectionClosed>> = []
            let arrivals = 0
            for (const command of commands) {
              switch (command._tag) {
                case "arrive": {
                  const n = arrivals++
                  const kept = queue.arrived(connection(n))
                  expect(kept, `arrival ${n} kept`).toBe(!isClosed)
                  if (isClosed) break
                  const acceptor = waiting.shift()
                  if (acceptor === undefined) pending.push(n)
                  else expected[acceptor] = n
                  break
                }
                case "accept": {
                  const index = accepts.length
                  accepts.push(yield* Effect.forkChild(queue.accept, { startImmediately: true }))
                  if (isClosed) expected[index] = "closed"
                  else if (pending.length > 0) expected[index] = pending.shift() as number
                  else {
                    expected[index] = "waiting"
                    waiting.push(index)
                  }
                  break
                }
                case "giveUp": {
                  if (accepts.length === 0) break
                  const index = command.which % accepts.length
                  yield* Fiber.interrupt(accepts[index] as Fiber.Fiber<Connection, ConnectionClosed>)
                  if (expected[index] === "waiting") {
                    expected[index] = "given up"
                    waiting.splice(waiting.indexOf(index), 1)
                  }
                  break
                }
                case "close": {
                  const back = queue.close(closed).map((c) => Number(c.peer.slice(1)))
                  if (isClosed) {
                    expect(back, "a second close hands back nothing").toEqual([])
                    break
                  }
                  isClosed = true
                  handedBack = pending.splice(0)
                  expect(back, "the connections never handed over").toEqual(handedBack)
                  for (const index of waiting.splice(0)) expected[index] = "closed"
                  break
                }
              }
              for (let turn = 0; turn < 3; turn++) yield* Effect.yieldNow
            }
            expect(queue.isClosed).toBe(isClosed)
            for (const [index, fiber] of accepts.entries()) {
              const want = expected[index]
              const exit = fiber.pollUnsafe()
              if (want === "waiting") {
                expect(exit, `accept ${index} still waits`).toBeUndefined()
                continue
              }
              if (want === "given up") continue
              if (exit === undefined) throw new Error(`accept ${index} still waits; it should have ended: ${want}`)
              if (want === "closed") expect(Exit.isFailure(exit), `accept ${index} failed by the close`).toBe(true)
              // An accept given up after it got its connection keeps it: it had ended.
              else if (Exit.isSuccess(exit)) expect(exit.value.peer, `accept ${index}`).toBe(`c${want}`)
              else throw new Error(`accept ${index} failed: ${String(exit.cause)}; it should have got c${want}`)
            }
          }).pipe(Effect.scoped)
        )
      ),
      fcParams(500)
    ))
})

describe("R-SOCK-22 a listener's accept queue, its accepts racing", () => {
  it("R-SOCK-22 accepts begun at once while connections wait, a close racing them, under any schedule and preemption: each accept gets a connection (never nothing), fails by the close or waits; no connection goes to two, and the close hands back exactly those none got", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.nat(),
        arbPreemption([0.3, 0.6]),
        (arrivals, accepting, closing, seed, preemption) =>
          underPreemption(seed, preemption, (strategy) => {
            const sim = new SimRuntime({ strategy })
            const queue = new AcceptQueue()
            for (let n = 0; n < arrivals; n++) queue.arrived(connection(n))
            const accepts = Array.from({ length: accepting }, () => sim.fork(Effect.exit(queue.accept)))
            let handedBack: Array<string> = []
            if (closing)
              sim.fork(
                Effect.sync(() => {
                  handedBack = queue
                    .close(new ConnectionClosed({ peer: "listener", detail: "closed" }))
                    .map((c) => c.peer)
                })
              )
            sim.settle()
            const taken: Array<string> = []
            let waiting = 0
            for (const [i, fiber] of accepts.entries()) {
              const exit = fiber.pollUnsafe()
              if (exit === undefined) {
                waiting++
                continue
              }
              if (Exit.isFailure(exit)) throw new Error(`accept ${i} died: ${String(exit.cause)}`)
              const outcome = exit.value
              if (Exit.isSuccess(outcome)) {
                expect(outcome.value?.peer, `what accept ${i} got`).toMatch(/^c\d$/)
                taken.push(outcome.value.peer)
              } else expect(closing, `accept ${i} failed with no close`).toBe(true)
            }
            expect(new Set(taken).size, "no connection went to two accepts").toBe(taken.length)
            expect([...taken, ...handedBack].sort()).toEqual(
              closing
                ? Array.from({ length: arrivals }, (_, n) => `c${n}`)
                : Array.from({ length: Math.min(arrivals, accepting) }, (_, n) => `c${n}`)
            )
            expect(waiting, "accepts left waiting").toBe(closing ? 0 : Math.max(0, accepting - arrivals))
          })
      ),
      fcParams(300)
    ))
})
