/**
 * A connection whose handshake never comes right (R-SOCK-5, R-SOCK-4, R-SOCK-13) as a property:
 * peers open with bytes that are no handshake (not UTF-8, not JSON, not a message, a message that is
 * not a handshake, two payloads at once, a frame over the handshake limit), close at once, or say
 * nothing until the handshake deadline. Each is refused: the server reports one `Refused` event for
 * that peer with a reason saying what was wrong (the protocol error's own words), the connection is
 * closed, and the server goes on accepting: a client that identifies itself afterwards gets in.
 */
import { Duration, Effect, References } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { encodeFrame } from "../../src/contexts/socket/FrameCodec.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { makeSide, waitForEffect } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { rawPeer } from "../support/rawPeer.ts"

const handshakeJson = (module: string) =>
  JSON.stringify({
    header: { msg_id: `hs-${module}`, timestamp: 1, sync: true, type: "unixpacket" },
    route: { source: module, operation: "add", resource: "module" },
    content: ""
  })

const line = (text: string) => new TextEncoder().encode(`${text}\n`)

/** An opening that is no handshake, and the words its refusal must hold. */
interface Opening {
  readonly bytes: Uint8Array | "close" | "silence"
  readonly says: RegExp
}

const openings: fc.Arbitrary<Opening> = fc.oneof(
  fc.constant({ bytes: Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), says: /UTF-8/ }),
  fc
    .string({ minLength: 1, maxLength: 8 })
    .map((t) => ({ bytes: line(`{${t.replace(/\n/g, "")}`), says: /\(Json\): .*(JSON|json)/ })),
  fc
    .constantFrom("[]", "3", '"x"', '{"header":{}}')
    .map((t) => ({ bytes: line(t), says: /\(Message\): .*(message|header|route)/ })),
  fc
    .constantFrom(
      { resource: "module", operation: "delete" },
      { resource: "pod", operation: "add" },
      { resource: "", operation: "" }
    )
    .map((route) => ({
      bytes: encodeFrame(JSON.stringify({ header: { msg_id: "m", timestamp: 1 }, route, content: "" })),
      says: /\(Handshake\): expected a handshake/
    })),
  fc.constant({ bytes: line(`${handshakeJson("X")}\n${handshakeJson("X")}`), says: /before the handshake answer/ }),
  fc.constant({ bytes: encodeFrame(JSON.stringify({ pad: "x".repeat(5000) })), says: /large|limit|maximum/i }),
  fc.constant({ bytes: "close" as const, says: /./ }),
  fc.constant({ bytes: "silence" as const, says: /\(Timeout\): no handshake in time/ })
)

describe("R-SOCK-5 openings that are no handshake", () => {
  it("R-SOCK-5 R-SOCK-4 every peer whose opening is no handshake is refused with a reason saying why and closed, and the server goes on accepting", () =>
    fc.assert(
      fc.asyncProperty(fc.array(openings, { minLength: 1, maxLength: 4 }), (peers) =>
        Effect.runPromise(
          Effect.scoped(
            Effect.gen(function* () {
              const network = new MemoryNetwork()
              const address = unix("/openings")
              const side = yield* makeSide(network.transport)
              yield* side.socket.serve({ address, accept: ["X"], handshakeTimeout: Duration.millis(30) })
              for (const opening of peers) {
                const connection = yield* network.transport.connect(address)
                if (opening.bytes === "close") yield* connection.close
                else if (opening.bytes !== "silence") yield* connection.write(opening.bytes)
                const refused = yield* waitForEffect(
                  Effect.sync(() => side.events.filter((e) => e._tag === "Refused")),
                  (events) => events.length > 0,
                  "a refusal",
                  2000
                )
                expect(refused).toHaveLength(1)
                expect((refused[0] as { reason: string }).reason).toMatch(opening.says)
                side.events.length = 0
                if (opening.bytes !== "close") {
                  const end = yield* Effect.exit(Effect.forever(connection.read))
                  expect(end).toMatchObject({ _tag: "Failure" })
                }
              }
              const client = yield* rawPeer(yield* network.transport.connect(address))
              yield* client.connection.write(line(handshakeJson("X")))
              yield* waitForEffect(
                Effect.sync(() => client.received.length),
                (n) => n > 0,
                "the answer",
                2000
              )
              expect(client.received[0]).toMatchObject({ route: { operation: "response" } })
            })
          ).pipe(Effect.provideService(References.MinimumLogLevel, "Error"))
        )
      ),
      fcParams(40)
    ))
})
