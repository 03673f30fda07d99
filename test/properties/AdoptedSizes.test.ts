/**
 * Messages that waited for a module declared here ("socket") before a connection took it (R-SOCK-7's
 * adoption) were checked against this context's frame limit, not the connection's: the connection that
 * takes them may hold a smaller one. As a property over the in-memory network: one-way messages and
 * sync requests of any size around the connection's limit wait, the client connects with that limit,
 * and its server's exchange names the module; the one-way messages go in one `sendAll`, which waits for
 * room in the module's small outbox, so that some are offered while the connection writes. Exactly as
 * R-SOCK-2 counts (a message's JSON as written, less a receipt number's room for a one-way message
 * with receipts): each one-way message that fits is received by the module, in order; each that does
 * not is reported `Unsent` and passed to `onUndeliverable`, once, never lost in silence (R-SOCK-11);
 * each request that does not fit ends its call with an error response saying so, and one that fits is
 * answered.
 */
import { Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { ReceiptNumberBytes } from "../../src/contexts/socket/LinkReceipts.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import * as Message from "../../src/model/Message.ts"
import { encodeJson } from "../../src/model/MessageJson.ts"
import { makeSide, reportedIds, run, waitFor } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"

const address = unix("/adopted/server.sock")

/** The connection's frame limit, in bytes. */
const limit = 1024

describe("R-SOCK-2 messages that waited for an adopted module", () => {
  it(
    "R-SOCK-2 R-SOCK-7 R-SOCK-11 what waited for a module a connection adopts is written when it fits the connection's frame limit, else reported Unsent (a request: answered with an error), once, never lost",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              // Content sizes around what a frame of `limit` bytes holds.
              size: fc.integer({ min: limit - 300, max: limit + 200 }),
              sync: fc.boolean()
            }),
            { minLength: 1, maxLength: 8 }
          ),
          fc.boolean(),
          // The declared module's outbox: a small one makes the one-way messages' sendAll wait, so that
          // the rest is offered while the connection writes (a writer woken with them).
          fc.integer({ min: 1, max: 4 }),
          (messages, receipts, capacity) =>
            run(
              Effect.gen(function* () {
                const network = new MemoryNetwork()
                const s = yield* makeSide(network.transport)
                yield* s.beehive.addModule("A")
                yield* s.socket.serve({ address, accept: ["X"] })
                const undeliverable: Array<string> = []
                const c = yield* makeSide(
                  network.transport,
                  { receipts },
                  {
                    onUndeliverable: (_module: string, m: Message.Message) => undeliverable.push(m.header.id)
                  }
                )
                yield* c.beehive.addModule("X")
                yield* c.beehive.addModule("A", { contextType: "socket", capacity })
                const made = messages.map(({ size, sync }, i) => ({ message: msg(`w${i}`, "c".repeat(size)), sync }))
                const calls = yield* Effect.forEach(
                  made.filter((m) => m.sync),
                  ({ message }) =>
                    Effect.map(Effect.forkChild(Effect.exit(c.beehive.sendSync("A", message, "5 seconds"))), (f) => ({
                      id: message.header.id,
                      call: f
                    }))
                )
                // The one-way messages in one sendAll, checked against this context's limit when it began.
                const sending = yield* Effect.forkChild(
                  c.beehive.sendAll(
                    "A",
                    made.filter((m) => !m.sync).map((m) => m.message)
                  )
                )
                // The module answers every request it gets, and records everything it receives.
                const received: Array<string> = []
                yield* Effect.forkChild(
                  Effect.forever(
                    Effect.gen(function* () {
                      const m = yield* s.beehive.receive("A")
                      received.push(m.header.id)
                      if (m.header.sync) yield* s.beehive.sendResp(yield* Message.newResponse(m, "answered"))
                    })
                  )
                )
                const client = yield* c.socket.connect({ module: "X", address, maxFrameBytes: limit })
                yield* client.connected
                // What fits (R-SOCK-2): its JSON as written (to A, a request with sync = true, R-SOCK-8) within
                // the maximum, less a one-way message's receipt number room when receipts are on (R-SOCK-21).
                const fits = ({ message, sync }: (typeof made)[number]) => {
                  const written = Message.setSync(Message.setDestination(message, "A"), sync)
                  const bytes = Buffer.byteLength(Effect.runSync(encodeJson(written)))
                  return bytes + (sync || !receipts ? 0 : ReceiptNumberBytes) <= limit
                }
                const oneWay = made.filter((m) => !m.sync)
                const unsent = () => reportedIds(c.events, "Unsent")
                yield* waitFor(
                  () =>
                    oneWay.every(
                      (m) => received.includes(m.message.header.id) || unsent().includes(m.message.header.id)
                    ),
                  "every one-way message received or reported",
                  2000
                )
                for (const m of oneWay) {
                  const id = m.message.header.id
                  const where = [received.includes(id), unsent().filter((u) => u === id).length === 1]
                  expect(where, id).toEqual(fits(m) ? [true, false] : [false, true])
                }
                expect([...undeliverable].sort()).toEqual([...unsent()].sort())
                // In the order sent, what was received.
                expect(received.filter((id) => oneWay.some((m) => m.message.header.id === id))).toEqual(
                  oneWay.map((m) => m.message.header.id).filter((id) => received.includes(id))
                )
                expect(Exit.isSuccess(yield* Fiber.await(sending))).toBe(true)
                for (const entry of calls) {
                  const exit = yield* Fiber.join(entry.call)
                  const fitted = fits({
                    ...(made.find((m) => m.message.header.id === entry.id) as (typeof made)[number])
                  })
                  expect(Exit.isSuccess(exit), entry.id).toBe(true)
                  const answer = Exit.isSuccess(exit) ? exit.value : undefined
                  if (fitted) expect(answer?.content, entry.id).toBe("answered")
                  else {
                    expect(answer?.route.operation, entry.id).toBe("error")
                    expect(String(answer?.content)).toMatch(/exceeds the frame limit/)
                  }
                }
              })
            )
        ),
        fcParams(30)
      ),
    60_000
  )
})
