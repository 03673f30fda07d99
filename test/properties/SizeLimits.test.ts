/**
 * The frame limit between two processes (R-SOCK-2, R-SOCK-21) as a property: messages whose JSON is
 * anywhere near both sides' maximum are sent both ways, with receipts on or off. SPEC's verdict: each
 * is refused at `send` with `MessageEncodeError`, or arrives; none ends the connection, so what is
 * written (a one-way message's receipt number included) always fits the peer's maximum.
 */
import { Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import * as Message from "../../src/model/Message.ts"
import { makePair, makeSide, receiveWithin, run, waitFor } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"

describe("R-SOCK-2 what is written fits the peer's maximum", () => {
  it(
    "R-SOCK-2 R-SOCK-21 R-SOCK-30 a message near the frame limit is refused at send or arrives, whatever the direction, the framing (packets too) and the receipts; the connection never ends",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.record({
            maxFrameBytes: fc.integer({ min: 1024, max: 4096 }),
            // Or packets (R-SOCK-30): the newline is part of the packet, and the packet is what is limited.
            framing: fc.constantFrom("frame" as const, "ndjson" as const, "packets" as const),
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
                  client: framing === "packets" ? {} : { framing },
                  packets: framing === "packets",
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
                      const received = yield* receiveWithin(pair, to, module, `send ${i}`)
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

describe("R-SOCK-2 messages queued before their connection is known", () => {
  it(
    "R-SOCK-2 R-SOCK-11 a message queued for a declared module and too large for the connection it is then bound to is reported (one-way: Unsent; sync: an error response), never written over the peer's maximum",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.record({
            maxFrameBytes: fc.integer({ min: 1024, max: 4096 }),
            receipts: fc.boolean(),
            queued: fc.array(fc.record({ fromLimit: fc.integer({ min: -600, max: 600 }), sync: fc.boolean() }), {
              minLength: 1,
              maxLength: 5
            })
          }),
          ({ maxFrameBytes, receipts, queued }) =>
            run(
              Effect.gen(function* () {
                const network = new MemoryNetwork()
                const address = unix("/memory/limits.sock")
                const server = yield* makeSide(network.transport, { maxFrameBytes, receipts })
                yield* server.beehive.addModule("A")
                yield* server.socket.serve({ address, accept: ["X"] })
                // The client's own maximum is the default (16 MiB): its declared module "A" takes any of these.
                const client = yield* makeSide(network.transport, { receipts })
                yield* client.beehive.addModule("X")
                yield* client.beehive.addModule("A", { contextType: "socket" })
                const calls: Array<Fiber.Fiber<Message.Message, unknown>> = []
                const oneWay: Array<string> = []
                for (const [i, q] of queued.entries()) {
                  const message = Message.make({
                    header: { id: `q${i}` },
                    content: "c".repeat(Math.max(0, maxFrameBytes + q.fromLimit))
                  })
                  if (q.sync) calls.push(yield* Effect.forkChild(client.beehive.sendSync("A", message, 3000)))
                  else {
                    yield* client.beehive.send("A", message)
                    oneWay.push(`q${i}`)
                  }
                }
                const answering = yield* Effect.forkChild(
                  Effect.forever(
                    Effect.flatMap(server.beehive.receive("A"), (m) =>
                      m.header.sync
                        ? Effect.flatMap(Message.newResponse(m, "ok"), (r) => server.beehive.sendResp(r, "A"))
                        : Effect.sync(() => {
                            received.push(m.header.id)
                          })
                    )
                  )
                )
                const received: Array<string> = []
                const connection = yield* client.socket.connect({ module: "X", address, maxFrameBytes, maxAttempts: 1 })
                yield* connection.connected
                for (const [i, call] of calls.entries()) {
                  const answer = yield* Fiber.join(call)
                  expect(["ok", "error"], `call ${i}: ${JSON.stringify(answer.content)}`).toContain(
                    answer.content === "ok" ? "ok" : answer.route.operation
                  )
                }
                const unsent = () => client.events.filter((e) => e._tag === "Unsent").map((e) => e.msgId)
                // Each one-way message arrives or is reported unsent, once.
                yield* waitFor(
                  () => received.length + unsent().length >= oneWay.length,
                  `every one-way message settled: ${JSON.stringify([...server.events, ...client.events])}`
                )
                expect([...received, ...unsent()].sort()).toEqual([...oneWay].sort())
                const ended = [...server.events, ...client.events].filter((e) => e._tag === "Disconnected")
                expect(ended).toEqual([])
                yield* Fiber.interrupt(answering)
              })
            )
        ),
        fcParams(60)
      ),
    120_000
  )
})
