/**
 * The frame limit between two processes (R-SOCK-2, R-SOCK-21) as a property: messages whose JSON is
 * anywhere near both sides' maximum are sent both ways, with receipts on or off. SPEC's verdict: each
 * is refused at `send` with `MessageEncodeError`, or arrives; none ends the connection, so what is
 * written (a one-way message's receipt number included) always fits the peer's maximum.
 */
import { Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Message from "../../src/model/Message.ts"
import { makePair, run } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"

describe("R-SOCK-2 what is written fits the peer's maximum", () => {
  it(
    "R-SOCK-2 R-SOCK-21 a message near the frame limit is refused at send or arrives, whatever the direction, the framing and the receipts; the connection never ends",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.record({
            maxFrameBytes: fc.integer({ min: 1024, max: 4096 }),
            framing: fc.constantFrom("frame" as const, "ndjson" as const),
            receipts: fc.boolean(),
            // Content lengths relative to the limit: the JSON around the content is a few hundred bytes.
            sends: fc.array(
              fc.record({ toServer: fc.boolean(), fromLimit: fc.integer({ min: -400, max: 10 }), sync: fc.boolean() }),
              { minLength: 1, maxLength: 6 }
            )
          }),
          ({ maxFrameBytes, framing, receipts, sends }) =>
            run(
              Effect.gen(function* () {
                const pair = yield* makePair({
                  socket: { maxFrameBytes, receipts },
                  client: { framing },
                  serverModules: ["A"]
                })
                // The server's module "A" is a socket module in the client process; "X" one in the server's.
                for (const [i, send] of sends.entries()) {
                  const [from, to, module] = send.toServer ? [pair.c, pair.s, "A"] : ([pair.s, pair.c, "X"] as const)
                  const content = "c".repeat(Math.max(0, maxFrameBytes + send.fromLimit))
                  const message = Message.make({ header: { id: `m${i}` }, content })
                  if (send.sync) {
                    const answering = yield* Effect.forkChild(
                      Effect.flatMap(to.beehive.receive(module), (request) =>
                        Effect.flatMap(Message.newResponse(request, "ok"), (response) =>
                          to.beehive.sendResp(response, module)
                        )
                      )
                    )
                    const call = yield* Effect.exit(from.beehive.sendSync(module, message, 3000))
                    if (Exit.isFailure(call)) {
                      expect(String(call.cause), `sync ${i}`).toContain("MessageEncodeError")
                      yield* Fiber.interrupt(answering)
                    } else expect(call.value.content, `sync ${i}`).toBe("ok")
                  } else {
                    const sent = yield* Effect.exit(from.beehive.send(module, message))
                    if (Exit.isFailure(sent)) expect(String(sent.cause), `send ${i}`).toContain("MessageEncodeError")
                    else {
                      // A bound for failures, not a speed target: the message was sent.
                      const received = yield* to.beehive.receive(module).pipe(
                        Effect.timeoutOrElse({
                          duration: 3000,
                          orElse: () =>
                            Effect.die(
                              new Error(
                                `send ${i} never arrived; events: ${JSON.stringify([...pair.s.events, ...pair.c.events])}`
                              )
                            )
                        })
                      )
                      expect(received.header.id, `send ${i}`).toBe(`m${i}`)
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
