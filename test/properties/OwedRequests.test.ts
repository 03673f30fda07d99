/**
 * R-SOCK-9 as a property: what a serving process owes the sync requests of its peers. At most
 * `maxPendingRequests` requests wait for their answers; a request past it makes the oldest forgotten
 * (event `RequestForgotten`): its answer is taken by nobody (`sendResp` returns `false`) and never
 * written, so its caller waits on. Every remembered request is answered once, whatever the order of
 * the answers: with its response, or, when the response is larger than a frame or JSON cannot carry
 * it, with an error response saying so.
 */
import { Effect, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Message from "../../src/model/Message.ts"
import { makePair, run } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"

const maxFrameBytes = 2000

describe("R-SOCK-9 the requests a serving process owes", () => {
  it("R-SOCK-9 past maxPendingRequests the oldest request is forgotten (RequestForgotten) and its answer taken by nobody; each remembered one is answered once, in any order, by its response or, larger than a frame or not JSON, by an error response saying so", () =>
    fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        // Per request: its response's content, small, larger than a frame, or one JSON cannot carry.
        fc.array(fc.constantFrom("small" as const, "large" as const, "bigint" as const), {
          minLength: 1,
          maxLength: 6
        }),
        // The order of the answers, as ranks.
        fc.array(fc.nat(), { minLength: 6, maxLength: 6 }),
        (maxPendingRequests, contents, ranks) =>
          run(
            Effect.gen(function* () {
              const { s, c } = yield* makePair({ socket: { maxFrameBytes, maxPendingRequests } })
              const calls = []
              for (const [i] of contents.entries())
                calls.push(yield* Effect.forkChild(c.beehive.sendSync("A", msg(`r${i}`), 60_000)))
              // The order A got them in is the order they came in, in which they are remembered.
              const received: Array<Message.Message> = []
              for (const _ of contents) received.push(yield* s.beehive.receive("A"))
              const forgotten = received.slice(0, Math.max(0, received.length - maxPendingRequests))
              expect(s.events.flatMap((e) => (e._tag === "RequestForgotten" ? [e.msgId] : []))).toEqual(
                forgotten.map((r) => r.header.id)
              )
              const order = received
                .map((request, i) => ({ request, rank: ranks[i] ?? 0 }))
                .sort((a, z) => a.rank - z.rank)
                .map(({ request }) => request)
              for (const request of order) {
                const i = Number(request.header.id.slice(1))
                const kind = contents[i]
                const content =
                  kind === "large" ? "y".repeat(maxFrameBytes + 500) : kind === "bigint" ? { n: 1n } : `answer ${i}`
                const taken = yield* s.beehive.sendResp(yield* Message.newResponse(request, content), "A")
                expect(taken, `answer to ${request.header.id} taken`).toBe(!forgotten.includes(request))
                // A second answer finds nothing owed.
                expect(yield* s.beehive.sendResp(yield* Message.newResponse(request, "again"), "A")).toBe(false)
              }
              for (const request of received) {
                if (forgotten.includes(request)) continue
                const i = Number(request.header.id.slice(1))
                const answer = yield* Fiber.join(calls[i] as Fiber.Fiber<Message.Message, unknown>)
                if (contents[i] === "large") {
                  expect(answer.route.operation).toBe("error")
                  expect(answer.content).toMatch(/^response of \d+ bytes exceeds the frame limit of 2000$/)
                } else if (contents[i] === "bigint") {
                  expect(answer.route.operation).toBe("error")
                  expect(answer.content).toMatch(/bigint/i)
                } else expect(answer.content).toBe(`answer ${i}`)
              }
              // Answers are written in order: once a later call's answer arrived, the forgotten calls got none.
              const probe = yield* Effect.forkChild(c.beehive.sendSync("A", msg("probe"), 60_000))
              const probed = yield* s.beehive.receive("A")
              yield* s.beehive.sendResp(yield* Message.newResponse(probed, "probe answer"), "A")
              expect((yield* Fiber.join(probe)).content).toBe("probe answer")
              for (const request of forgotten) {
                const call = calls[Number(request.header.id.slice(1))] as Fiber.Fiber<Message.Message, unknown>
                expect(call.pollUnsafe(), `${request.header.id} waits on`).toBeUndefined()
              }
              expect(c.events.some((e) => e._tag === "UnclaimedResponse")).toBe(false)
            })
          )
      ),
      fcParams(40)
    ))
})
