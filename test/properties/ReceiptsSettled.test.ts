/**
 * R-SOCK-21 with R-SOCK-11 as a property, over the in-memory network: one-way messages from a client,
 * some read by the server, the others written into a pipe the server no longer reads when the
 * connection drops or the server restarts. When the client is back, every message is accounted for
 * exactly as SPEC says: after a drop (the same run of the server), each was received once or is
 * reported `Unsent` (and passed to `onUndeliverable`), never both; after a restart (another run, which
 * cannot say what the first handled), each one not received is reported `InDoubt`, one received may
 * be too, and none is `Unsent`. Nothing is lost unreported.
 */
import { Effect, Exit, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import type { Message } from "../../src/model/Message.ts"
import { makeSide, reportedIds, run, serverOn, waitFor } from "../socket/support.ts"
import { makeTap, tapped } from "../socket/wireTap.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"

const address = unix("/receipts/settled.sock")

describe("R-SOCK-21 what a client wrote, settled when it is back", () => {
  it("R-SOCK-21 R-SOCK-11 one-way messages read or left in the pipe when the connection drops or the server restarts: after a drop each is received once or reported Unsent (and undeliverable); after a restart each not received is reported InDoubt, and none Unsent", () =>
    fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom("drop" as const, "restart" as const),
        (read, unread, fault) =>
          run(
            Effect.gen(function* () {
              const network = new MemoryNetwork()
              const first = yield* serverOn(network, address)
              const undeliverable: Array<string> = []
              const tap = makeTap()
              const c = yield* makeSide(
                tapped(network.transport, tap),
                {},
                { onUndeliverable: (_module: string, m: Message) => undeliverable.push(m.header.id) }
              )
              yield* c.beehive.addModule("X")
              const client = yield* c.socket.connect({
                module: "X",
                address,
                backoff: { initial: 5, max: 5, jitter: 0 }
              })
              yield* client.connected
              const ids = Array.from({ length: read + unread }, (_, i) => `m${i}`)
              const received: Array<string> = []
              for (const id of ids.slice(0, read)) {
                yield* c.beehive.send("A", msg(id))
                received.push((yield* first.side.beehive.receive("A")).header.id)
              }
              // The rest are written into a pipe the server does not read. Waited for as written, not for
              // a while: a send is written in a later scheduler task, which a loaded machine can put off
              // past any fixed delay, and a message never written is another case (Unsent, R-SOCK-11).
              network.setStalled("server", true)
              for (const id of ids.slice(read)) yield* c.beehive.send("A", msg(id))
              const writtenIds = () =>
                tap.written.map((text) => (text as { header?: { msg_id?: unknown } }).header?.msg_id)
              yield* waitFor(
                () => ids.slice(read).every((id) => writtenIds().includes(id)),
                "the client to write what the server does not read"
              )
              if (fault === "drop") network.drop()
              else yield* Scope.close(first.scope, Exit.void)
              network.setStalled("server", false)
              // What the server that runs now receives: a message not written before the fault is
              // written after the reconnection (R-SOCK-11), and arrives then.
              const serving = fault === "drop" ? first : yield* serverOn(network, address)
              const later: Array<string> = []
              yield* Effect.forkChild(
                Effect.forever(Effect.map(serving.side.beehive.receive("A"), (m) => later.push(m.header.id)))
              )
              yield* waitFor(() => c.events.filter((e) => e._tag === "Connected").length >= 2, "the reconnection")
              const notReceived = ids.slice(read)
              const accounted = fault === "drop" ? "Unsent" : "InDoubt"
              yield* waitFor(
                () => notReceived.every((id) => later.includes(id) || reportedIds(c.events, accounted).includes(id)),
                "every message received or reported"
              )
              expect(received).toEqual(ids.slice(0, read))
              // Each sender's order holds for what arrives later (R-SEND-4).
              expect(later).toEqual(notReceived.filter((id) => later.includes(id)))
              if (fault === "drop") {
                // The same run of the server says what it handled: received once, or Unsent, never both.
                const unsent = reportedIds(c.events, "Unsent")
                expect([...unsent, ...later].sort()).toEqual([...notReceived].sort())
                expect(undeliverable).toEqual(unsent)
                expect(reportedIds(c.events, "InDoubt")).toEqual([])
              } else {
                // Another run cannot say: in doubt, whether received by the first run or not.
                for (const id of reportedIds(c.events, "InDoubt")) expect(ids).toContain(id)
                expect(reportedIds(c.events, "Unsent")).toEqual([])
                expect(undeliverable).toEqual([])
              }
            })
          )
      ),
      fcParams(30)
    ))
})
