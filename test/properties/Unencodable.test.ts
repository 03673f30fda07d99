/**
 * Messages JSON or Go cannot carry, between two processes (R-JSON-1, R-JSON-3, R-SOCK-9): a timestamp
 * that is not an integer Go's int64 holds exactly (a fraction, -0, NaN, an infinity, past 2^53) or
 * content with no JSON (NaN, a bigint), in a request, a one-way message or a response, either way.
 * SPEC's verdict: each is refused at `send`/`sendSync` with `MessageEncodeError`, or arrives with its
 * timestamp as the integer written; an answer that cannot be written reaches its caller as an error
 * response; and the connection never ends (until a property with such timestamps found it, a NaN
 * timestamp was written as `NaN`, which no peer parses, and the peer closed the connection).
 */
import { Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { ResponseErrorOperation } from "../../src/model/Constants.ts"
import * as Message from "../../src/model/Message.ts"
import { makePair, receiveWithin, run } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"

const timestamp = fc.oneof(
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  fc.constantFrom(-0, 0.5, -1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, -(2 ** 60)),
  fc.double()
)
const content = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<unknown>("ok", null, { n: 1 }) },
  fc.constantFrom<unknown>(Number.NaN, { n: Number.NEGATIVE_INFINITY }, 1n)
)
/** What JSON writes of a timestamp: Go's int64, its fraction dropped; undefined when it has none. */
const written = (t: number): number | undefined => {
  const integer = Math.trunc(t)
  return Number.isSafeInteger(integer) ? integer : undefined
}
/** A field a JavaScript caller, unchecked by types, set to what is not a string. */
const miswritten = fc.option(
  fc.record({
    place: fc.constantFrom("header" as const, "route" as const),
    value: fc.constantFrom<unknown>(5, null, undefined, {}, true, Symbol("s"))
  }),
  { freq: 3 }
)
/** The same in a response: a field copied into the error response that replaces it, or its timestamp. */
const answerMiswritten = fc.option(
  fc.record({
    field: fc.constantFrom("type" as const, "resource" as const, "timestamp" as const),
    value: fc.constantFrom<unknown>(5, "5", null, undefined, Symbol("s"))
  }),
  { freq: 3 }
)
/** Whether it writes a field with a value not of the field's type ("5" is a type, and 5 a timestamp). */
const miswrites = (wrong: { readonly field: string; readonly value: unknown } | null) =>
  wrong !== null && typeof wrong.value !== (wrong.field === "timestamp" ? "number" : "string")
const hasJson = (c: unknown) =>
  typeof c === "string" || c === null || (typeof c === "object" && Number.isFinite((c as { n: number }).n))

describe("R-JSON-1 messages JSON cannot carry, across processes", () => {
  it(
    "R-JSON-1 R-JSON-3 R-SOCK-9 a message or response whose timestamp or content JSON cannot carry, or with a field that is not a string, is refused at send, or arrives as written; an answer that cannot be written is an error response; the connection never ends",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              toServer: fc.boolean(),
              sync: fc.boolean(),
              timestamp,
              content,
              answerTimestamp: timestamp,
              answerContent: content,
              miswritten,
              answerMiswritten
            }),
            { minLength: 1, maxLength: 5 }
          ),
          (sends) =>
            run(
              Effect.gen(function* () {
                const pair = yield* makePair({ serverModules: ["A"] })
                // The server's module "A" is a socket module in the client process; "X" one in the server's.
                for (const [i, send] of sends.entries()) {
                  const [from, to, module] = send.toServer ? [pair.c, pair.s, "A"] : ([pair.s, pair.c, "X"] as const)
                  const made = Message.make({
                    header: { id: `m${i}`, timestamp: send.timestamp },
                    content: send.content
                  })
                  const wrong = send.miswritten
                  const message = (
                    wrong === null
                      ? made
                      : wrong.place === "header"
                        ? { ...made, header: { ...made.header, type: wrong.value } }
                        : { ...made, route: { ...made.route, resource: wrong.value } }
                  ) as Message.Message
                  const encodable = written(send.timestamp) !== undefined && hasJson(send.content) && wrong === null
                  if (send.sync) {
                    const answering = yield* Effect.forkChild(
                      Effect.gen(function* () {
                        const request = yield* to.beehive.receive(module)
                        const response = yield* Message.newResponse(request, send.answerContent)
                        const answer = Message.buildHeader(
                          response,
                          response.header.id,
                          response.header.parentId,
                          send.answerTimestamp
                        )
                        const wrongAnswer = send.answerMiswritten
                        return yield* to.beehive.sendResp(
                          (wrongAnswer === null
                            ? answer
                            : wrongAnswer.field === "resource"
                              ? { ...answer, route: { ...answer.route, resource: wrongAnswer.value } }
                              : {
                                  ...answer,
                                  header: { ...answer.header, [wrongAnswer.field]: wrongAnswer.value }
                                }) as Message.Message,
                          module
                        )
                      })
                    )
                    const call = yield* Effect.exit(from.beehive.sendSync(module, message, 3000))
                    if (!encodable) {
                      expect(String(Exit.isFailure(call) && call.cause), `sync ${i}`).toContain("MessageEncodeError")
                      yield* Fiber.interrupt(answering)
                    } else {
                      expect(Exit.isSuccess(call), `sync ${i}: ${String(Exit.isFailure(call) && call.cause)}`).toBe(
                        true
                      )
                      expect(yield* Fiber.join(answering), `sync ${i} answered`).toBe(true)
                      const response = Exit.isSuccess(call) ? call.value : undefined
                      const wrongAnswer = send.answerMiswritten
                      const answerWritten = written(
                        wrongAnswer?.field === "timestamp" && typeof wrongAnswer.value === "number"
                          ? wrongAnswer.value
                          : send.answerTimestamp
                      )
                      if (
                        answerWritten !== undefined &&
                        hasJson(send.answerContent) &&
                        !miswrites(send.answerMiswritten)
                      ) {
                        expect(response?.content, `sync ${i}`).toEqual(send.answerContent)
                        expect(response?.header.timestamp === answerWritten, `sync ${i} timestamp`).toBe(true)
                      } else {
                        expect(response?.route.operation, `sync ${i}`).toBe(ResponseErrorOperation)
                      }
                    }
                  } else {
                    const sent = yield* Effect.exit(from.beehive.send(module, message))
                    if (!encodable) {
                      expect(String(Exit.isFailure(sent) && sent.cause), `send ${i}`).toContain("MessageEncodeError")
                    } else {
                      expect(Exit.isSuccess(sent), `send ${i}`).toBe(true)
                      const received = yield* receiveWithin(pair, to, module, `send ${i}`)
                      expect(received.header.id, `send ${i}`).toBe(`m${i}`)
                      expect(received.header.timestamp === written(send.timestamp), `send ${i} timestamp`).toBe(true)
                    }
                  }
                  const ended = [...pair.s.events, ...pair.c.events].filter((e) => e._tag === "Disconnected")
                  expect(ended, `after message ${i}`).toEqual([])
                }
              })
            )
        ),
        fcParams(100)
      ),
    600_000
  )
})
