/**
 * A response crosses processes as its responder made it (R-SOCK-9, R-RESP-1, R-SOCK-8), as a
 * property over the in-memory network: a module of the server's process answers a call from the
 * client's process, or the reverse, with a response of any header, route and content, over frames or
 * NDJSON. Between two beehive-effect processes nothing is stamped (R-SOCK-32 stamps for Go peers
 * only): the call's result is the response, field for field.
 */
import { Effect, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Message from "../../src/model/Message.ts"
import { makePair, run } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"

const text = fc.string({ maxLength: 12 })

const arbResponse = fc.record({
  id: fc.stringMatching(/^[a-z0-9-]{1,12}$/),
  timestamp: fc.nat(),
  resourceVersion: text,
  type: fc.constantFrom("", "channel", "unix", "websocket"),
  source: text,
  destination: text,
  group: text,
  operation: fc.constantFrom("response", "error", "update", ""),
  resource: text,
  content: fc.jsonValue({ maxDepth: 2 })
})

describe("R-SOCK-9 a response crosses processes as it was made", () => {
  it("R-SOCK-9 R-RESP-1 R-SOCK-8 the call's result across processes is the response its responder made, field for field, whatever the direction and the framing", () =>
    fc.assert(
      fc.asyncProperty(
        arbResponse,
        fc.constantFrom("to the server" as const, "to the client" as const),
        fc.constantFrom("frame" as const, "ndjson" as const),
        (fields, direction, framing) =>
          run(
            Effect.gen(function* () {
              const pair = yield* makePair({ client: { framing }, serverModules: ["A"] })
              const [caller, responder, module] =
                direction === "to the server" ? [pair.c, pair.s, "A"] : ([pair.s, pair.c, "X"] as const)
              let made: Message.Message | undefined
              const answering = yield* Effect.forkChild(
                Effect.gen(function* () {
                  const request = yield* responder.beehive.receive(module)
                  made = Message.make({
                    header: {
                      id: fields.id,
                      parentId: request.header.id,
                      timestamp: fields.timestamp,
                      resourceVersion: fields.resourceVersion,
                      type: fields.type
                    },
                    route: {
                      source: fields.source,
                      destination: fields.destination,
                      group: fields.group,
                      operation: fields.operation,
                      resource: fields.resource
                    },
                    content: fields.content
                  })
                  return yield* responder.beehive.sendResp(made, module)
                })
              )
              const result = yield* caller.beehive.sendSync(
                module,
                Message.make({ header: { id: "call" }, content: 1 }),
                3000
              )
              expect(yield* Fiber.join(answering)).toBe(true)
              expect(result).toEqual(made)
            })
          )
      ),
      fcParams(60)
    ))
})
