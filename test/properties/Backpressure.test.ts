/**
 * R-SOCK-17 as a property: a peer that sends sync requests and does not read the answers must not
 * make this process buffer without limit. With any limits, any mailbox capacity and any pipe size, a
 * client whose end stops reading pipelines many requests; the server's answers waiting to be written
 * stay within what the limits allow (the answers queued before reading paused, and one for each
 * request already read), and once the client reads again every call gets its own answer.
 *
 * And R-SOCK-29: what the server says it holds (`pendingRequests`, `queuedResponses`) is what it
 * holds, summed over several clients that stop reading, each with a pipe that takes one answer.
 */
import { Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import * as Message from "../../src/model/Message.ts"
import { makePair, makeSide, run, waitForEffect } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { msg, settle } from "../support/messages.ts"

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

  it(
    "R-SOCK-29 R-SOCK-17 R-SOCK-9 pendingRequests counts the requests owed an answer and queuedResponses the answers waiting to be written, over every connection",
    () =>
      fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 1, maxLength: 3 }), (perClient) =>
          run(
            Effect.gen(function* () {
              // A pipe smaller than any answer: the first answer's write fills it and the writer waits.
              const network = new MemoryNetwork(64)
              const address = unix("/memory/gauges.sock")
              const s = yield* makeSide(network.transport)
              yield* s.beehive.addModule("A")
              const modules = perClient.map((_, i) => `X${i}`)
              // One answer per write (R-SOCK-16's buffersize), so what waits is everything but the first.
              yield* s.socket.serve({ address, accept: modules, batchBytes: 1 })
              const clients = yield* Effect.forEach(modules, (module) =>
                Effect.gen(function* () {
                  const c = yield* makeSide(network.transport)
                  yield* c.beehive.addModule(module)
                  yield* (yield* c.socket.connect({ module, address })).connected
                  return c
                })
              )
              network.setStalled("client", true)
              const calls = yield* Effect.forEach(perClient, (n, i) =>
                Effect.forEach(
                  Array.from({ length: n }, (_, k) => `X${i}-q${k}`),
                  (id) =>
                    Effect.forkChild((clients[i] as (typeof clients)[number]).beehive.sendSync("A", msg(id), 600_000))
                )
              )
              const total = perClient.reduce((a, b) => a + b, 0)
              // Read and delivered, not yet answered: all owed, nothing to write.
              yield* waitForEffect(s.socket.pendingRequests, (n) => n === total, `${total} requests owed`)
              yield* settle
              expect(yield* s.socket.pendingRequests).toBe(total)
              expect(yield* s.socket.queuedResponses).toBe(0)
              for (let k = 0; k < total; k++) {
                const request = yield* s.beehive.receive("A")
                yield* s.beehive.sendResp(yield* Message.newResponse(request, `answer to ${request.header.id}`), "A")
              }
              // Answered: none owed; each connection wrote its first answer and holds the rest.
              const waiting = perClient.reduce((a, n) => a + Math.max(0, n - 1), 0)
              yield* waitForEffect(s.socket.queuedResponses, (n) => n === waiting, `${waiting} answers queued`, 2000)
              for (let turn = 0; turn < 3; turn++) {
                yield* settle
                yield* Effect.sleep("2 millis")
              }
              expect(yield* s.socket.queuedResponses).toBe(waiting)
              expect(yield* s.socket.pendingRequests).toBe(0)
              network.setStalled("client", false)
              for (const [i, own] of calls.entries()) {
                for (const [k, call] of own.entries()) {
                  const exit = yield* Fiber.await(call)
                  expect(Exit.isSuccess(exit) ? exit.value.content : String(exit)).toBe(`answer to X${i}-q${k}`)
                }
              }
              expect(yield* s.socket.queuedResponses).toBe(0)
            })
          )
        ),
        fcParams(30)
      ),
    60_000
  )
})
