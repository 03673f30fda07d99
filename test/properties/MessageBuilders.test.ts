/**
 * The builders of responses and fresh messages (R-MSG-2, R-MSG-4, R-MSG-5) over any request: every
 * field of what they return is what SPEC says, written out field by field here (Go's
 * `NewRespByMessage` and `NewErrorMessage`), the id the next of the `MessageIds` generator, the
 * timestamp the clock's time while it was built, and the message, header and route frozen.
 */
import { Clock, Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Message from "../../src/model/Message.ts"
import { MessageIds, sequentialIds } from "../../src/model/MessageIds.ts"
import { fcParams } from "../support/fc.ts"

const text = fc.string({ maxLength: 8 })

const arbRequest = fc
  .record({
    header: fc.record({
      id: text,
      parentId: text,
      timestamp: fc.integer({ min: 0, max: 2 ** 40 }),
      resourceVersion: text,
      sync: fc.boolean(),
      type: text
    }),
    route: fc.record({ source: text, destination: text, group: text, operation: text, resource: text }),
    content: fc.jsonValue({ maxDepth: 2 })
  })
  .map((init) => Message.make(init))

/** Builds with ids `n1`, `n2`, ...; returns what was built, the id it should have, and the clock's bounds. */
const built = (build: Effect.Effect<Message.Message>) =>
  Effect.runSync(
    Effect.gen(function* () {
      const before = yield* Clock.currentTimeMillis
      const message = yield* build
      const after = yield* Clock.currentTimeMillis
      return { message, before, after }
    }).pipe(Effect.provideService(MessageIds, sequentialIds("n")))
  )

const expectFresh = (result: ReturnType<typeof built>) => {
  expect(result.message.header.id).toBe("n1")
  expect(result.message.header.timestamp).toBeGreaterThanOrEqual(result.before)
  expect(result.message.header.timestamp).toBeLessThanOrEqual(result.after)
  expect(Object.isFrozen(result.message)).toBe(true)
  expect(Object.isFrozen(result.message.header)).toBe(true)
  expect(Object.isFrozen(result.message.route)).toBe(true)
}

describe("R-MSG builders over any request", () => {
  it("R-MSG-2 R-MSG-4 newResponse: a fresh id and time, the request's id as parent, source, group, resource and type copied, operation response, nothing else", () =>
    fc.assert(
      fc.property(arbRequest, fc.jsonValue({ maxDepth: 2 }), (request, content) => {
        const result = built(Message.newResponse(request, content))
        expectFresh(result)
        expect(result.message).toEqual({
          header: {
            id: "n1",
            parentId: request.header.id,
            timestamp: result.message.header.timestamp,
            resourceVersion: "",
            sync: false,
            type: request.header.type
          },
          route: {
            source: request.route.source,
            destination: "",
            group: request.route.group,
            operation: "response",
            resource: request.route.resource
          },
          content: content === undefined ? null : content
        })
      }),
      fcParams(200)
    ))

  it("R-MSG-2 R-MSG-5 newErrorResponse: a fresh id and time, the request's id as parent, its resource, operation error, the text as content, nothing else", () =>
    fc.assert(
      fc.property(arbRequest, text, (request, reason) => {
        const result = built(Message.newErrorResponse(request, reason))
        expectFresh(result)
        expect(result.message).toEqual({
          header: {
            id: "n1",
            parentId: request.header.id,
            timestamp: result.message.header.timestamp,
            resourceVersion: "",
            sync: false,
            type: ""
          },
          route: { source: "", destination: "", group: "", operation: "error", resource: request.route.resource },
          content: reason
        })
      }),
      fcParams(200)
    ))

  it("R-MSG-2 newMessage: a fresh id and time, the parent id given, every other field Go's zero value", () =>
    fc.assert(
      fc.property(text, (parentId) => {
        const result = built(Message.newMessage(parentId))
        expectFresh(result)
        expect(result.message).toEqual(
          Message.make({ header: { id: "n1", parentId, timestamp: result.message.header.timestamp } })
        )
      }),
      fcParams(100)
    ))

  it("R-MSG-7 isEmpty is Go's IsEmpty (a message deep-equal to Go's zero message): true exactly when no field was given a value of its own, 0, false, \"\", [] and {} as content included", () => {
    const given = {
      id: fc.string({ minLength: 1, maxLength: 4 }),
      parentId: fc.string({ minLength: 1, maxLength: 4 }),
      timestamp: fc.integer().filter((t) => t !== 0),
      resourceVersion: fc.string({ minLength: 1, maxLength: 4 }),
      sync: fc.constant(true),
      type: fc.string({ minLength: 1, maxLength: 4 }),
      source: fc.string({ minLength: 1, maxLength: 4 }),
      destination: fc.string({ minLength: 1, maxLength: 4 }),
      group: fc.string({ minLength: 1, maxLength: 4 }),
      operation: fc.string({ minLength: 1, maxLength: 4 }),
      resource: fc.string({ minLength: 1, maxLength: 4 }),
      content: fc.oneof(
        fc.constantFrom<unknown>(0, false, "", [], {}),
        fc.jsonValue().filter((v) => v !== null)
      )
    }
    const headerKeys = ["id", "parentId", "timestamp", "resourceVersion", "sync", "type"]
    fc.assert(
      fc.property(
        fc
          .uniqueArray(fc.constantFrom(...(Object.keys(given) as Array<keyof typeof given>)), { maxLength: 2 })
          .chain((keys) => fc.record(Object.fromEntries(keys.map((key) => [key, given[key]])))),
        fc.constantFrom(0, -0),
        (fields, zeroTime) => {
          const header: Record<string, unknown> = { timestamp: zeroTime }
          const route: Record<string, unknown> = {}
          for (const [key, value] of Object.entries(fields))
            if (key !== "content") (headerKeys.includes(key) ? header : route)[key] = value
          const message = Message.make({ header, route, content: fields.content })
          expect(Message.isEmpty(message), JSON.stringify(fields)).toBe(Object.keys(fields).length === 0)
        }
      ),
      fcParams(300)
    )
  })
})
