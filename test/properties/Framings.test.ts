/**
 * R-SOCK-3 end to end, over its whole domain (every pair of configurations): a server configured with a framing (or none: it detects each
 * connection's from its first byte) and a client configured with one, over the in-memory network. The
 * client connects exactly when the server detects or holds the client's framing; then one-way messages
 * and sync calls cross both ways, each side writing in that framing. Otherwise the attempt fails and
 * nothing of it is registered on either side.
 */
import { Effect, Exit, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import type { StreamFraming } from "../../src/contexts/socket/Framing.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import * as Message from "../../src/model/Message.ts"
import { makeSide, run } from "../socket/support.ts"
import { makeTap, tapped } from "../socket/wireTap.ts"
import { msg } from "../support/messages.ts"

const address = unix("/framings/server.sock")

/** A configuration's framing; undefined: the default (a server detects it, a client writes frames). */
const framings: ReadonlyArray<StreamFraming | undefined> = [undefined, "frame", "ndjson"]

/** What a stream's first byte says its framing is: `b` begins a frame, anything else a line (R-SOCK-3). */
const framingOf = (bytes: ReadonlyArray<Uint8Array>): StreamFraming | undefined =>
  bytes[0] === undefined || bytes[0].length === 0 ? undefined : bytes[0][0] === 0x62 ? "frame" : "ndjson"

describe("R-SOCK-3 a server's framing against a client's", () => {
  it("R-SOCK-3 a client connects exactly when the server detects or holds its framing; then messages and calls cross both ways in it; otherwise nothing of the attempt is registered", () =>
    // The whole domain, every pair of configurations, rather than a draw from it.
    Effect.runPromise(
      Effect.forEach(
        framings.flatMap((serverFraming) => framings.map((clientFraming) => [serverFraming, clientFraming] as const)),
        ([serverFraming, clientFraming]) =>
          Effect.promise(() =>
            run(
              Effect.gen(function* () {
                const network = new MemoryNetwork()
                const s = yield* makeSide(network.transport)
                yield* s.beehive.addModule("A")
                yield* s.socket.serve({
                  address,
                  accept: ["X"],
                  handshakeTimeout: "30 millis",
                  ...(serverFraming === undefined ? {} : { framing: serverFraming })
                })
                // Every byte the client wrote and read, to see the framing each side wrote in.
                const wire = makeTap()
                const c = yield* makeSide(tapped(network.transport, wire))
                yield* c.beehive.addModule("X")
                const client = yield* c.socket.connect({
                  module: "X",
                  address,
                  maxAttempts: 1,
                  handshakeTimeout: "30 millis",
                  ...(clientFraming === undefined ? {} : { framing: clientFraming })
                })
                const connected = yield* Effect.exit(client.connected)
                const framing = clientFraming ?? "frame"
                const agrees = serverFraming === undefined || serverFraming === framing
                expect(Exit.isSuccess(connected), `server ${serverFraming}, client ${clientFraming}`).toBe(agrees)
                // The client writes in its framing, whatever the server holds to.
                expect(framingOf(wire.bytesWritten)).toBe(framing)
                const remoteAtServer = (yield* s.beehive.snapshot).modules.some((m) => m.name === "X")
                const remoteAtClient = (yield* c.beehive.snapshot).modules.some((m) => m.name === "A")
                expect([remoteAtServer, remoteAtClient]).toEqual([agrees, agrees])
                if (!agrees) return
                // The server answers in the client's framing, and so writes everything after.
                expect(framingOf(wire.bytesRead)).toBe(framing)
                yield* s.beehive.send("X", msg("to-x", "from the server"))
                expect((yield* c.beehive.receive("X")).header.id).toBe("to-x")
                yield* c.beehive.send("A", msg("to-a", "from the client"))
                expect((yield* s.beehive.receive("A")).header.id).toBe("to-a")
                const answering = (beehive: typeof s.beehive, module: string) =>
                  Effect.forkChild(
                    Effect.flatMap(beehive.receive(module), (request) =>
                      Effect.flatMap(Message.newResponse(request, `${module} answers`), (response) =>
                        beehive.sendResp(response)
                      )
                    )
                  )
                const a = yield* answering(s.beehive, "A")
                const fromA = yield* c.beehive.sendSync("A", msg("call-a"), "2 seconds")
                expect(fromA.content).toBe("A answers")
                yield* Fiber.join(a)
                const x = yield* answering(c.beehive, "X")
                const fromX = yield* s.beehive.sendSync("X", msg("call-x"), "2 seconds")
                expect(fromX.content).toBe("X answers")
                yield* Fiber.join(x)
              })
            )
          ),
        { discard: true }
      )
    ))
})
