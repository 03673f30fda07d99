/**
 * A server closed at any step of its starting, then started again on the same address (R-SOCK-33,
 * R-SOCK-7): whatever the first start left half done, the address is free again and the
 * next server works both ways while both processes run. A client connects, what the server sends to
 * the client's module is received, and what that module sends to the server's module is received
 * there. The close's place is swept as in the other interruption properties: the process's fibers
 * yield every few operations, and the close comes after a number of yields of the test's own fiber.
 */
import { Effect, Exit, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { makeSide, recordReceived, run, waitFor } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { closedAtAnyStep, interruptedAfter } from "../support/interruptedAfter.ts"
import { msg } from "../support/messages.ts"

const address = unix("/serve-interrupted/server.sock")

describe("R-SOCK-33 a server closed while it starts, then started again", () => {
  it(
    "R-SOCK-33 R-SOCK-7 property: a server closed at any step of its starting leaves its address free and nothing that stops the next server: a client connects, and messages each way are received",
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
                yield* interruptedAfter(
                  Effect.scoped(Effect.ignore(s.socket.serve({ address, accept: ["X"] }))),
                  script.closeAfter,
                  script.opsBeforeYield
                )
                const serverScope = yield* Scope.make()
                yield* s.socket.serve({ address, accept: ["X"] }).pipe(Scope.provide(serverScope))
                const c = yield* makeSide(network.transport)
                yield* c.beehive.addModule("X")
                const atClient = yield* recordReceived(c, "X")
                const atServer = yield* recordReceived(s, "A")
                const client = yield* c.socket.connect({ module: "X", address })
                yield* Effect.timeoutOrElse(client.connected, {
                  duration: "1 second",
                  orElse: () => Effect.fail(new Error("the client did not connect to the second server"))
                })
                const toClient = Array.from({ length: script.toClient }, (_, i) => `c${i}`)
                const toServer = Array.from({ length: script.toServer }, (_, i) => `s${i}`)
                for (const id of toClient) yield* s.beehive.send("X", msg(id))
                for (const id of toServer) yield* c.beehive.send("A", msg(id))
                yield* waitFor(
                  () => atClient.length === toClient.length && atServer.length === toServer.length,
                  `every message received (the client's module got ${atClient.join(",")}; the server's ${atServer.join(",")})`,
                  1000
                )
                expect(atClient).toEqual(toClient)
                expect(atServer).toEqual(toServer)
                yield* Scope.close(serverScope, Exit.void)
              })
            )
        ),
        fcParams(200)
      ),
    120_000
  )
})
