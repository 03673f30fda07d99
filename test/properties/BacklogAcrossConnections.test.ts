/**
 * R-SOCK-17 across a peer module's connections: a raw client sends one-way messages to a module whose
 * mailbox is full and that nobody reads, closes its connection, connects again and sends more, again
 * and again. What one connection read stays queued for delivery after it ends (R-SEND-4 across a
 * reconnection). SPEC's verdict: what a peer module's connections hold for delivery here is bounded as
 * one connection's is, whatever the number of its connections: at most `maxInboundBacklog` messages
 * wait for delivery, besides the module's mailbox and the one message offered to it. Until this
 * property, each new connection started from an empty backlog, so a peer that reconnected could make
 * this process hold `maxInboundBacklog` more messages each time, without end.
 */
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { makeSide, run, waitForEffect } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { handshakeLine, rawPeer } from "../support/rawPeer.ts"

describe("R-SOCK-17 the backlog across a peer's connections", () => {
  it(
    "R-SOCK-17 R-SOCK-11 a peer module that sends to a full module and connects again and again makes this process hold at most maxInboundBacklog messages for delivery (heldForDelivery), besides the mailbox and the message offered to it; once the module reads, none, and every connection has ended",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 3 }),
          fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 5 }),
          (maxInboundBacklog, capacity, sends) =>
            run(
              Effect.gen(function* () {
                const network = new MemoryNetwork()
                const address = unix("/backlog-across")
                const server = yield* makeSide(network.transport, { maxInboundBacklog })
                yield* server.beehive.addModule("A", { capacity })
                yield* server.socket.serve({ address, accept: ["X"] })
                let seq = 0
                for (const [c, count] of sends.entries()) {
                  const raw = yield* rawPeer(yield* network.transport.connect(address))
                  yield* raw.send(handshakeLine(`hs-${c}`, "X", undefined))
                  yield* waitForEffect(
                    Effect.sync(() => raw.received.length),
                    (n) => n > 0,
                    "the handshake answer"
                  )
                  for (let i = 0; i < count; i++) {
                    const id = `m${++seq}`
                    // A write the server does not read (reading paused) waits: bounded, it is left unwritten.
                    yield* Effect.ignore(
                      raw
                        .send({ header: { msg_id: id, timestamp: 1 }, route: { destination: "A" }, content: id })
                        .pipe(Effect.timeout("20 millis"))
                    )
                  }
                  // What the server reads of this connection, it has read by now.
                  yield* Effect.sleep("20 millis")
                  const held = yield* server.socket.heldForDelivery
                  expect(held, `held after connection ${c + 1}`).toBeLessThanOrEqual(maxInboundBacklog)
                  yield* raw.connection.close
                }
                // Everything held is delivered once the module reads (the last connection, paused, reads on
                // what its peer wrote before closing), and nothing is held after.
                while (
                  (yield* Effect.option(server.beehive.receive("A").pipe(Effect.timeout("100 millis"))))._tag === "Some"
                ) {}
                expect(yield* server.socket.heldForDelivery).toBe(0)
                // And every connection has ended here, paused ones taken over included: none waits on.
                yield* waitForEffect(
                  Effect.sync(() => server.events.filter((e) => e._tag === "Disconnected").length),
                  (n) => n === sends.length,
                  "every connection ended"
                )
              })
            )
        ),
        fcParams(25)
      ),
    300_000
  )
})
