/**
 * R-SOCK-17 as a property: a peer that sends sync requests and does not read the answers must not
 * make this process buffer without limit. With any limits, any mailbox capacity and any pipe size, a
 * client whose end stops reading pipelines many requests; the server's answers waiting to be written
 * stay within what the limits allow (the answers queued before reading paused, and one for each
 * request already read), and once the client reads again every call gets its own answer.
 */
import { Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Message from "../../src/model/Message.ts"
import { makePair, run } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"

/** Scheduler turns with nothing changing after which the run is taken to be still. */
const stillTurns = 200

describe("R-SOCK-17 answers a peer does not read", () => {
  it(
    "R-SOCK-17 R-SOCK-9 stay bounded by the queue limits, in count and in size, and all arrive once the peer reads",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.record({
            maxQueuedResponses: fc.integer({ min: 1, max: 8 }),
            // Mostly small, so that what a size limit holds back is not hidden in the slack of the bound.
            maxInboundBacklog: fc.constantFrom(1, 1, 2, 8),
            // In size: the default, a limit every message passes (each one pauses), or one a few pass.
            maxQueuedResponseBytes: fc.constantFrom(undefined, 1, 400),
            maxInboundBacklogBytes: fc.constantFrom(undefined, 1, 400),
            capacity: fc.integer({ min: 1, max: 3 }),
            // A pipe that holds a few answers or a dozen: past it the server's writes wait.
            pipeCapacityBytes: fc.constantFrom(256, 2048),
            requests: fc.integer({ min: 20, max: 150 })
          }),
          (input) =>
            run(
              Effect.gen(function* () {
                const { maxQueuedResponses, maxInboundBacklog, capacity, pipeCapacityBytes, requests } = input
                const { maxQueuedResponseBytes, maxInboundBacklogBytes } = input
                const { s, c, network } = yield* makePair({
                  socket: { maxQueuedResponses, maxInboundBacklog, maxQueuedResponseBytes, maxInboundBacklogBytes },
                  capacity,
                  pipeCapacityBytes
                })
                yield* Effect.forkChild(
                  Effect.forever(
                    Effect.flatMap(s.beehive.receive("A"), (m) =>
                      Effect.flatMap(Message.newResponse(m, `answer to ${m.header.id}`), (r) =>
                        s.beehive.sendResp(r, "A")
                      )
                    )
                  )
                )
                network.setStalled("client", true)
                const calls = yield* Effect.forEach(
                  Array.from({ length: requests }, (_, i) => `q${i}`),
                  (id) => Effect.forkChild(c.beehive.sendSync("A", msg(id, id), 600_000))
                )
                // Until nothing moves: the most answers seen waiting at once.
                let most = 0
                let last = -1
                for (let still = 0; still < stillTurns; ) {
                  const queued = yield* s.socket.queuedResponses
                  most = Math.max(most, queued)
                  still = queued === last ? still + 1 : 0
                  last = queued
                  yield* Effect.yieldNow
                }
                // Answers queued when reading paused, plus one per request read by then: waiting for
                // delivery, in A's mailbox, or in the hands of A or of its delivery.
                // A size limit of 1 byte pauses reading after every message, as a count limit of 1 does.
                const answersBeforePause = maxQueuedResponseBytes === 1 ? 1 : maxQueuedResponses
                const readBeforePause = maxInboundBacklogBytes === 1 ? 1 : maxInboundBacklog
                expect(most).toBeLessThanOrEqual(answersBeforePause + readBeforePause + capacity + 2)
                network.setStalled("client", false)
                for (const [i, call] of calls.entries()) {
                  const exit = yield* Fiber.await(call)
                  expect(Exit.isSuccess(exit) ? exit.value.content : String(exit), `q${i}`).toBe(`answer to q${i}`)
                }
                expect(yield* s.socket.queuedResponses).toBe(0)
                expect(yield* s.socket.pendingRequests).toBe(0)
              })
            )
        ),
        fcParams(60)
      ),
    120_000
  )
})
