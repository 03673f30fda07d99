/**
 * A server keeps nothing of the connections that ended (R-SOCK-11), as a property over the in-memory
 * network: clients of one module connect one after another, each sends, calls or does nothing, and
 * goes (its client closed, or its process ended). However many came and went, once the collector has
 * run at most one of their connections is still reachable from the server's process: the last one,
 * whose receipts it keeps for the module's next connection (R-SOCK-21). A server that kept every
 * connection it ever served would grow with each reconnection for as long as it runs.
 *
 * The oracle is the collector itself: a `WeakRef` to each connection the server accepted.
 */
import { Effect, Exit, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import type { Connection, TransportShape } from "../../src/contexts/socket/Transport.ts"
import * as Message from "../../src/model/Message.ts"
import { makeSide, run, waitFor } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { collectGarbage } from "../support/garbage.ts"

const address = unix("/ended/server.sock")

describe("R-SOCK-11 a server keeps nothing of the connections that ended", () => {
  it(
    "R-SOCK-11 R-SOCK-21 clients of one module connect and go, one after another, whatever they did: at most the last of their connections stays reachable from the server's process",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              does: fc.constantFrom("nothing" as const, "send" as const, "call" as const),
              goes: fc.constantFrom("close" as const, "end" as const)
            }),
            { minLength: 2, maxLength: 6 }
          ),
          (rounds) =>
            run(
              Effect.gen(function* () {
                const network = new MemoryNetwork()
                const accepted: Array<WeakRef<Connection>> = []
                // The server's transport notes every connection it accepts, weakly.
                const watched: TransportShape = {
                  ...network.transport,
                  listen: (at, tls) =>
                    Effect.map(network.transport.listen(at, tls), (listener) => ({
                      ...listener,
                      accept: Effect.tap(listener.accept, (connection) =>
                        Effect.sync(() => {
                          accepted.push(new WeakRef(connection))
                        })
                      )
                    }))
                }
                const s = yield* makeSide(watched)
                yield* s.beehive.addModule("A")
                yield* Effect.forkChild(
                  Effect.forever(
                    Effect.flatMap(s.beehive.receive("A"), (m) =>
                      m.header.sync
                        ? Effect.flatMap(Message.newResponse(m, "ok"), (r) => s.beehive.sendResp(r, "A"))
                        : Effect.void
                    )
                  )
                )
                yield* s.socket.serve({ address, accept: ["X"] })
                for (const [i, round] of rounds.entries()) {
                  const scope = yield* Scope.make()
                  const c = yield* makeSide(network.transport).pipe(Scope.provide(scope))
                  yield* c.beehive.addModule("X")
                  const client = yield* c.socket.connect({ module: "X", address }).pipe(Scope.provide(scope))
                  yield* client.connected
                  if (round.does === "send") yield* c.beehive.send("A", Message.make({ header: { id: `m${i}` } }))
                  if (round.does === "call")
                    yield* c.beehive.sendSync("A", Message.make({ header: { id: `c${i}` } }), 3000)
                  if (round.goes === "close") yield* client.close
                  yield* Scope.close(scope, Exit.void)
                  yield* waitFor(
                    () => s.events.filter((e) => e._tag === "Disconnected").length === i + 1,
                    "the server to see the client go"
                  )
                }
                // What the ends set going (a delivery fiber, a close's flush) may hold a connection a little
                // longer: collected again until at most one is left, for 2 s at most (a bound, not a delay).
                const reachableNow = () => accepted.filter((ref) => ref.deref() !== undefined).length
                const deadline = performance.now() + 2000
                yield* collectGarbage
                while (reachableNow() > 1 && performance.now() < deadline) {
                  yield* Effect.sleep("5 millis")
                  yield* collectGarbage
                }
                const reachable = reachableNow()
                expect(accepted).toHaveLength(rounds.length)
                expect(reachable, `of ${rounds.length} ended connections`).toBeLessThanOrEqual(1)
              })
            )
        ),
        fcParams(20)
      ),
    60_000
  )
})
