/**
 * A client's cleanup of one of its remote modules (R-SOCK-11, R-CLEAN): only the server's cleanup
 * of the client module ends a connection, so cleaning up some of the server's modules in the client
 * leaves the connection serving the others: each message the client then sends to one of them is
 * delivered to it in the server, in order, and the cleaned-up ones are unknown in the client. They
 * are bound to the connection no more: the client may give their names to modules of its own, which
 * the connection's end leaves alone.
 *
 * The oracle is the script (which modules were cleaned up, what was sent) and SPEC's wording.
 */
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { makeSide } from "../socket/support.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"

const own = ["A", "B", "C"] as const

describe("R-SOCK-11 a client's cleanup of a remote module", () => {
  it("R-SOCK-11 R-CLEAN-2 a client that cleans up some of the server's modules keeps the connection: what it then sends to the others is delivered there, in order; the cleaned-up ones are unknown in the client and bound to the connection no more (a module of the client given one's name is its own, and the connection's end leaves it alone)", () =>
    fc.assert(
      fc.asyncProperty(
        fc.subarray([...own], { minLength: 1, maxLength: own.length - 1 }),
        fc.array(fc.constantFrom(...own), { minLength: 1, maxLength: 8 }),
        // The cleaned-up names the client then gives to modules of its own.
        fc.subarray([...own]),
        (cleaned, sends, named) =>
          Effect.runPromise(
            Effect.scoped(
              Effect.gen(function* () {
                const network = new MemoryNetwork()
                const address = unix("cleanup")
                const server = yield* makeSide(network.transport)
                for (const module of own) yield* server.beehive.addModule(module)
                yield* server.socket.serve({ address, accept: ["x"] })
                const client = yield* makeSide(network.transport)
                yield* client.beehive.addModule("x")
                const connected = yield* client.socket.connect({ module: "x", address, maxAttempts: 1 })
                yield* connected.connected
                for (const module of cleaned) yield* client.beehive.cleanup(module)
                const local: ReadonlyArray<string> = named.filter((module) => cleaned.includes(module))
                for (const module of local) yield* client.beehive.addModule(module)
                // Time for a connection that would end to end (its close is written and read).
                yield* Effect.sleep(30)
                expect(client.events.filter((e) => e._tag === "Disconnected")).toEqual([])
                const [connection] = yield* client.socket.connections
                expect(connection?.modules, "the connection's modules: those not cleaned up").toEqual(
                  own.filter((module) => !cleaned.includes(module))
                )
                const expected = new Map<string, Array<string>>()
                for (const [i, module] of sends.entries()) {
                  const sent = yield* Effect.exit(client.beehive.send(module, msg(`m${i}`)))
                  if (cleaned.includes(module) && !local.includes(module)) {
                    expect(errorOf(sent), `send to ${module}, cleaned up`).toMatchObject({ _tag: "ModuleNotFound" })
                    continue
                  }
                  expect(sent._tag, `send to ${module}`).toBe("Success")
                  expected.set(module, [...(expected.get(module) ?? []), `m${i}`])
                }
                for (const [module, ids] of expected) {
                  const side = local.includes(module) ? client : server
                  const received: Array<string> = []
                  for (const _ of ids) received.push((yield* side.beehive.receive(module)).header.id)
                  expect(received, `what ${module} received`).toEqual(ids)
                }
                // The connection's end cleans up the modules bound to it, not the client's own of the same names.
                // Once the server's receipts are back: what was delivered is settled, none left in doubt.
                yield* Effect.sleep(30)
                yield* connected.close
                const left = (yield* client.beehive.snapshot).modules.map((m) => m.name).sort()
                expect(left, "the client's modules after the connection ended").toEqual(["x", ...local].sort())
              })
            )
          )
      ),
      fcParams(25)
    ))
})
