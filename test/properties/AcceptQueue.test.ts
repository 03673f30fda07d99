/**
 * A listener's queue of connections and accepts (R-SOCK-22) as a property, the queue taken alone:
 * any interleaving of arrivals, accepts begun, accepts given up and a close, against a model written
 * from SPEC.md's sentence (connections handed over in the order they arrived, one to each accept, to
 * the accepts in the order they began; an accept given up takes nothing with it; closing fails every
 * accept waiting and to come, hands back the connections never handed over, and keeps no connection
 * that arrives after it). The transports' own properties (Transport.test.ts) cannot reach an arrival
 * after the close: each stops arrivals before it closes the queue.
 */
import { Cause, Effect, Exit, Fiber } from "effect"
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

/** A connection whose `close` is recorded in `closes`. */
const closable = (n: number, closes: Array<string>): Connection =>
  ({
    peer: `c${n}`,
    read: Effect.never,
    write: () => Effect.void,
    close: Effect.sync(() => {
      closes.push(`c${n}`)
    })
  }) as unknown as Connection

describe("R-SOCK-22 a listener's accept queue, its accepts racing", () => {
  it("R-SOCK-22 R-SOCK-13 accepts begun at once while connections wait, a close and interruptions racing them, under any schedule and preemption: each accept gets a connection (never nothing), fails by the close, is interrupted or waits; no connection goes to two or is lost: each is taken, handed back by the close, still waiting, or closed when an interrupted accept had taken it after the close", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 2 }),
        fc.nat(),
        arbPreemption([0.3, 0.6]),
        (arrivals, accepting, closing, interrupting, seed, preemption) =>
          underPreemption(seed, preemption, (strategy) => {
            const sim = new SimRuntime({ strategy })
            const queue = new AcceptQueue()
            const closes: Array<string> = []
            for (let n = 0; n < arrivals; n++) queue.arrived(closable(n, closes))
            // Each accept keeps what it gets in the operations that get it, uninterruptibly (an
            // interruption after that is the caller's to handle, as R-SOCK-13's accepting server does).
            const outcomes: Array<Exit.Exit<Connection, ConnectionClosed> | undefined> = []
            const accepts = Array.from({ length: accepting }, (_, i) =>
              sim.fork(
                Effect.uninterruptibleMask((restore) =>
                  Effect.flatMap(Effect.exit(restore(queue.accept)), (outcome) =>
                    Effect.sync(() => {
                      outcomes[i] = outcome
                    })
                  )
                )
              )
            )
            const interrupted = accepts.slice(0, interrupting)
            for (const fiber of interrupted) sim.fork(Fiber.interrupt(fiber))
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
              // Interrupted before it began or once done, or ended by a defect.
              if (Exit.isFailure(exit)) {
                expect(Cause.hasInterruptsOnly(exit.cause), `accept ${i} died: ${String(exit.cause)}`).toBe(true)
                expect(interrupted.includes(fiber), `accept ${i} interrupted by no one`).toBe(true)
              }
              const outcome = outcomes[i]
              if (outcome === undefined) continue
              if (Exit.isSuccess(outcome)) {
                expect(outcome.value?.peer, `what accept ${i} got`).toMatch(/^c\d$/)
                taken.push(outcome.value.peer)
              } else if (Cause.hasInterruptsOnly(outcome.cause))
                expect(interrupted.includes(fiber), `accept ${i} interrupted by no one`).toBe(true)
              else expect(closing, `accept ${i} failed with no close`).toBe(true)
            }
            // What still waits for an accept, collected by a close now.
            const left = closing
              ? []
              : queue.close(new ConnectionClosed({ peer: "listener", detail: "closed" })).map((c) => c.peer)
            // No accept waits while a connection does (one given back goes to a waiting accept).
            expect(waiting > 0 && left.length > 0, "an accept waits while a connection waits").toBe(false)
            // Closed by the queue only once the listener is: before, one given back waits again.
            if (!closing) expect(closes, "closed while the listener was open").toEqual([])
            const accounted = [...taken, ...handedBack, ...closes, ...left]
            expect(new Set(accounted).size, "no connection counted twice").toBe(accounted.length)
            expect(accounted.sort()).toEqual(Array.from({ length: arrivals }, (_, n) => `c${n}`))
            // An accept that was neither interrupted nor refused by a close, with a connection waiting, took one.
            if (!closing && interrupting === 0)
              expect(waiting, "accepts left waiting").toBe(Math.max(0, accepting - arrivals))
            if (closing) expect(waiting, "accepts left waiting after a close").toBe(0)
          })
      ),
      // Many runs (about a second): an accept stopped between taking a connection and handing it
      // over while another accept waits is rare, and is the case where a given-back connection
      // must not wait beside a waiting accept.
      fcParams(5000)
    ))
})
