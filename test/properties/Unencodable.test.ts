/**
 * Messages JSON or Go cannot carry, between two processes (R-JSON-1, R-JSON-3, R-SOCK-9): a timestamp
 * that is not an integer Go's int64 holds exactly (a fraction, -0, NaN, an infinity, past 2^53) or
 * content with no JSON (NaN, a bigint), in a request, a one-way message or a response, either way.
 * SPEC's verdict: each is refused at `send`/`sendSync` with `MessageEncodeError`, or arrives with its
 * timestamp as the integer written; an answer that cannot be written reaches its caller as an error
 * response; and the connection never ends (until a property with such timestamps found it, a NaN
 * timestamp was written as `NaN`, which no peer parses, and the peer closed the connection). A sync
 * request whose id holds a lone surrogate, which JSON writes as U+FFFD (R-JSON-2), is refused too: its
 * answer could not name it (until this property drew such ids, the call waited out its deadline).
 */
import { Effect, Exit, Fiber, Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { ResponseErrorOperation } from "../../src/model/Constants.ts"
import * as Message from "../../src/model/Message.ts"
import { encodeJsonResult } from "../../src/model/MessageJson.ts"
import { makePair, receiveWithin, run } from "../socket/support.ts"
import { idTail } from "../support/arbitraries.ts"
import { fcParams } from "../support/fc.ts"

const timestamp = fc.oneof(
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  fc.constantFrom(-0, 0.5, -1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, -(2 ** 60)),
  fc.double()
)
const content = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<unknown>("ok", null, { n: 1 }) },
  fc.constantFrom<unknown>(Number.NaN, { n: Number.NEGATIVE_INFINITY }, 1n, {
    n: 1,
    toJSON: () => {
      throw new Error("no JSON")
    }
  })
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
  typeof c === "string" ||
  c === null ||
  (typeof c === "object" && !("toJSON" in c) && Number.isFinite((c as { n: number }).n))

describe("R-JSON-1 messages JSON cannot carry, across processes", () => {
  it(
    "R-JSON-1 R-JSON-2 R-JSON-3 R-SOCK-9 a message or response whose timestamp or content JSON cannot carry, or with a field that is not a string, is refused at send, or arrives as written; a sync request (sendSync, sendToGroupSync) whose id holds a lone surrogate is refused, a one-way message with one arrives with U+FFFD in its place; an answer that cannot be written is an error response; the connection never ends",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              toServer: fc.boolean(),
              sync: fc.boolean(),
              group: fc.boolean(),
              idTail,
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
                yield* pair.c.beehive.addModuleGroup("A", "gA")
                yield* pair.s.beehive.addModuleGroup("X", "gX")
                // The server's module "A" is a socket module in the client process; "X" one in the server's.
                for (const [i, send] of sends.entries()) {
                  const [from, to, module] = send.toServer ? [pair.c, pair.s, "A"] : ([pair.s, pair.c, "X"] as const)
                  const made = Message.make({
                    header: { id: `m${i}${send.idTail}`, timestamp: send.timestamp },
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
                  // A request's id must come back as it is, in its answer's parent id: one JSON changes cannot.
                  const answerable = made.header.id.isWellFormed()
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
                    const call = yield* Effect.exit<Message.Message | undefined, unknown, never>(
                      send.group
                        ? Effect.map(from.beehive.sendToGroupSync(`g${module}`, message, 3000), (result) =>
                            result.responses.get(module)
                          )
                        : from.beehive.sendSync(module, message, 3000)
                    )
                    if (!encodable || !answerable) {
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
                      expect(received.header.id, `send ${i}`).toBe(made.header.id.toWellFormed())
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

/** Every field as JSON writes them, in the order written, with the type each must have. */
const fields = [
  ["header", "id", "string"],
  ["header", "parentId", "string"],
  ["header", "timestamp", "number"],
  ["header", "resourceVersion", "string"],
  ["header", "sync", "boolean"],
  ["header", "type", "string"],
  ["route", "source", "string"],
  ["route", "destination", "string"],
  ["route", "group", "string"],
  ["route", "operation", "string"],
  ["route", "resource", "string"]
] as const
const anyValue = fc.constantFrom<unknown>("5", 5, 1.5, true, false, null, undefined, {}, [], Symbol("s"), 5n)
const typeName = (value: unknown) => (value === null ? "null" : typeof value)

describe("R-JSON-1 fields of the wrong type, at encoding", () => {
  it("R-JSON-1 a message with any header or route field not of its type is refused, the first such field as written named by its path and the type it had; the destination given in its place is checked instead of the route's", () =>
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: fields.length - 1 }), anyValue), {
          maxLength: 3,
          selector: ([i]) => i
        }),
        fc.option(anyValue, { nil: undefined, freq: 2 }),
        (wrong, destination) => {
          const made = Message.make({ header: { id: "m", timestamp: 1 }, route: { destination: "d" }, content: "c" })
          const header: Record<string, unknown> = { ...made.header }
          const route: Record<string, unknown> = { ...made.route }
          for (const [i, value] of wrong) {
            const [place, key] = fields[i] as (typeof fields)[number]
            ;(place === "header" ? header : route)[key] = value
          }
          const message = { header, route, content: made.content } as unknown as Message.Message
          const written = destination === undefined ? route.destination : destination
          const first = fields.find(([place, key, type]) => {
            const value = place === "header" ? header[key] : key === "destination" ? written : route[key]
            return typeof value !== type
          })
          const result =
            destination === undefined ? encodeJsonResult(message) : encodeJsonResult(message, destination as string)
          if (first === undefined) {
            // Numbers written as Go's int64 once their fraction is dropped; only 1.5 is such a timestamp here.
            expect(Result.isSuccess(result)).toBe(true)
            return
          }
          const [place, key, type] = first
          const value = place === "header" ? header[key] : key === "destination" ? written : route[key]
          expect(Result.isFailure(result) && result.failure).toMatchObject({
            _tag: "MessageEncodeError",
            path: `${place}.${key}`,
            reason: `expected a ${type}, got ${typeName(value)}`
          })
        }
      ),
      fcParams(1000)
    ))
})

/** Ways a content's conversion can throw: its `toJSON`, a getter, a proxy's traps. */
const throwers = {
  toJSON: () => ({
    toJSON: () => {
      throw new Error("toJSON refused")
    }
  }),
  getter: () =>
    Object.defineProperty({}, "x", {
      enumerable: true,
      get: () => {
        throw new TypeError("getter refused")
      }
    }),
  ownKeys: () =>
    new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error("ownKeys refused")
        }
      }
    ),
  getPrototypeOf: () =>
    new Proxy(
      {},
      {
        getPrototypeOf: () => {
          throw new Error("getPrototypeOf refused")
        }
      }
    )
} as const

describe("R-JSON-3 content whose conversion throws, at encoding", () => {
  it("R-JSON-3 content holding, at any depth, a toJSON, a getter or a proxy that throws is refused with MessageEncodeError naming where and what was thrown, never thrown itself; the same content without it is written", () =>
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.stringMatching(/^[a-z]{1,3}$/), fc.integer({ min: 0, max: 2 })), { maxLength: 4 }),
        fc.constantFrom(...(Object.keys(throwers) as Array<keyof typeof throwers>)),
        fc.jsonValue({ maxDepth: 2 }),
        (path, kind, filler) => {
          const build = (leaf: unknown) => {
            let content: unknown = leaf
            for (const step of [...path].reverse())
              content =
                typeof step === "number"
                  ? [...Array.from({ length: step }, () => filler), content]
                  : { [step]: content, ...(step === "zz" ? {} : { zz: filler }) }
            return content
          }
          const message = (content: unknown) =>
            Message.make({ header: { id: "m", timestamp: 1 }, content }) as Message.Message
          expect(Result.isSuccess(encodeJsonResult(message(build("fine"))))).toBe(true)
          let result: Result.Result<string, unknown> | undefined
          expect(() => {
            result = encodeJsonResult(message(build(throwers[kind]())))
          }).not.toThrow()
          const at = path.reduce<string>(
            (p, step) => (typeof step === "number" ? `${p}[${step}]` : `${p}.${step}`),
            "content"
          )
          expect(result !== undefined && Result.isFailure(result) && result.failure).toMatchObject({
            _tag: "MessageEncodeError",
            // A getter's key is the place read; the others throw for the object itself.
            path: kind === "getter" ? `${at}.x` : at,
            reason: expect.stringContaining(`${kind} refused`)
          })
        }
      ),
      fcParams(300)
    ))
})
