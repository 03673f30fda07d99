/**
 * The heartbeat a server agrees to, as a property (R-SOCK-20, R-SOCK-5): a raw client, written here
 * from SPEC.md's wire description (Go's handshake as an NDJSON line), offers a heartbeat of any shape
 * or none to a server configured with or without one. SPEC's verdict: the exchange carries `heartbeat`
 * exactly when both offer one (a whole number above 0), and then it is the longer of the two; a server
 * that offers none never answers with one, whatever the client offers, so a peer is never made to
 * heartbeat by an offer of its own alone.
 */
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import type { Connection } from "../../src/contexts/socket/Transport.ts"
import { makeSide, run } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"

/** Reads the first NDJSON line from a connection. */
const firstLine = (connection: Connection) =>
  Effect.gen(function* () {
    let pending = ""
    const decoder = new TextDecoder()
    while (!pending.includes("\n")) {
      for (const chunk of yield* connection.read) pending += decoder.decode(chunk, { stream: true })
    }
    return pending.slice(0, pending.indexOf("\n"))
  })

/** A heartbeat offer: absent (Go's `""` content), a whole number above 0, or a value that offers none. */
const arbOffer = fc.oneof(
  { weight: 2, arbitrary: fc.constant<{ heartbeat?: unknown } | undefined>(undefined) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 600_000 }).map((ms) => ({ heartbeat: ms })) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(0, -5, 1.5, "1000", null, true).map((v) => ({ heartbeat: v })) }
)

/** What a heartbeat value offers by SPEC.md: a whole number above 0, else none (0). */
const offered = (value: unknown) => (typeof value === "number" && Number.isInteger(value) && value > 0 ? value : 0)

describe("R-SOCK-20 the heartbeat a server agrees to", () => {
  it("R-SOCK-20 R-SOCK-5 the exchange carries a heartbeat exactly when both server and client offer one, the longer of the two; a server offering none never answers with one", () =>
    fc.assert(
      fc.asyncProperty(
        fc.constantFrom<number | undefined>(undefined, 0, 1, 1000, 30_000, 600_000),
        arbOffer,
        (serverHeartbeat, offer) =>
          run(
            Effect.gen(function* () {
              const network = new MemoryNetwork()
              const address = unix("heartbeat")
              const server = yield* makeSide(network.transport, { heartbeatMs: serverHeartbeat })
              yield* server.beehive.addModule("edged")
              yield* server.socket.serve({ address, accept: ["X"] })
              const connection = yield* network.transport.connect(address)
              const handshake = {
                header: { msg_id: "hello-1", timestamp: 1, sync: true, type: "unix" },
                route: { source: "X", operation: "add", resource: "module" },
                content: offer ?? ""
              }
              yield* connection.write(new TextEncoder().encode(`${JSON.stringify(handshake)}\n`))
              const answer = JSON.parse(yield* firstLine(connection))
              expect(answer.header.parent_msg_id).toBe("hello-1")
              expect(answer.route.operation).not.toBe("error")
              const ours = offered(serverHeartbeat)
              const theirs = offered(offer?.heartbeat)
              if (ours > 0 && theirs > 0) expect(answer.content.heartbeat).toBe(Math.max(ours, theirs))
              else expect(answer.content).not.toHaveProperty("heartbeat")
              yield* connection.close
            })
          )
      ),
      fcParams(60)
    ))
})
