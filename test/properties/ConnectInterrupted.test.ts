/**
 * A client closed at any step of its connecting, and then connected again (R-SOCK-33, R-SOCK-7, R-SOCK-11,
 * R-SOCK-21): whatever the first attempt left half done, the next connection of the module works both
 * ways while both processes run. What the server sends to the module is received, what the module
 * sends to the server's module is received there, each or reported, never dropped in silence nor
 * held back. The close's place is swept as in the other interruption properties: the process's fibers
 * yield every few operations, and the close comes after a number of yields of the test's own fiber.
 */
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import {
  connectAndClose,
  makeSide,
  recordReceived,
  run,
  sendCounted,
  slowRetry,
  waitSettled
} from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { closedAtAnyStep, interruptedAfter } from "../support/interruptedAfter.ts"

const address = unix("/connect-interrupted/server.sock")

describe("R-SOCK-7 a client closed while it connects, then connected again", () => {
  it(
    "R-SOCK-33 R-SOCK-7 R-SOCK-11 R-SOCK-21 property: a client closed at any step of its connecting leaves nothing that stops its module's next connection: messages each way are received, or reported, while both processes run",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.record({
            ...closedAtAnyStep,
            toClient: fc.integer({ min: 1, max: 3 }),
            toServer: fc.integer({ min: 1, max: 3 })
          }),
          (script) =>
            run(
              Effect.gen(function* () {
                const network = new MemoryNetwork(1 << 16)
                const s = yield* makeSide(network.transport)
                yield* s.beehive.addModule("A")
                yield* s.socket.serve({ address, accept: ["X"] })
                const c = yield* makeSide(network.transport)
                yield* c.beehive.addModule("X")
                const atClient = yield* recordReceived(c, "X")
                const atServer = yield* recordReceived(s, "A")
                yield* interruptedAfter(
                  connectAndClose(c, { module: "X", address, backoff: slowRetry }),
                  script.closeAfter,
                  script.opsBeforeYield
                )
                const client = yield* c.socket.connect({ module: "X", address, backoff: slowRetry })
                yield* Effect.timeoutOrElse(client.connected, {
                  duration: "1 second",
                  orElse: () => Effect.fail(new Error("the next connection did not come up"))
                })
                // The server learns of the new connection when it answers the handshake; the client's
                // `connected` may come first only by that answer, so the server's side is up too.
                const toClient: Array<string> = []
                const toServer: Array<string> = []
                yield* sendCounted(s, "X", "c", script.toClient, toClient)
                yield* sendCounted(c, "A", "s", script.toServer, toServer)
                yield* waitSettled(toClient, atClient, s, c)
                yield* waitSettled(toServer, atServer, c, s)
                // Nothing goes wrong on a connection that is up: every message sent once it was is received.
                expect(toClient.length).toBe(script.toClient)
                expect(toServer.length).toBe(script.toServer)
                expect(atClient).toEqual(toClient)
                expect(atServer).toEqual(toServer)
              })
            )
        ),
        fcParams(300)
      ),
    120_000
  )
})
