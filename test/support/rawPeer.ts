/**
 * A raw NDJSON peer for socket properties: a connection over a transport that writes JSON values as
 * lines and collects, in a background fiber, every line it reads, parsed. It speaks the wire as SPEC.md
 * describes it (Go's JSON keys), so a property can play a peer that the socket context must meet.
 */
import { Effect, type Scope } from "effect"
import type { SocketAddress } from "../../src/contexts/socket/SocketAddress.ts"
import type { Connection, TransportShape } from "../../src/contexts/socket/Transport.ts"

/** A connected raw peer: `received` grows as lines come, until the connection ends. */
export interface RawPeer {
  readonly connection: Connection
  /** Every line read so far, parsed, in order. */
  readonly received: Array<any>
  /** Writes one JSON value as a line. */
  readonly send: (value: unknown) => Effect.Effect<void, unknown>
}

/** Connects a raw peer to `address`; its reading fiber ends with the scope or the connection. */
export const connectRaw = (
  transport: TransportShape,
  address: SocketAddress
): Effect.Effect<RawPeer, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const connection = yield* transport.connect(address)
    yield* Effect.addFinalizer(() => connection.close)
    const received: Array<any> = []
    const decoder = new TextDecoder()
    let pending = ""
    yield* Effect.forkScoped(
      Effect.ignore(
        Effect.forever(
          Effect.map(connection.read, (chunks) => {
            for (const chunk of chunks) pending += decoder.decode(chunk, { stream: true })
            const lines = pending.split("\n")
            pending = lines.pop() as string
            for (const line of lines) if (line !== "") received.push(JSON.parse(line))
          })
        )
      )
    )
    const send = (value: unknown) => connection.write(new TextEncoder().encode(`${JSON.stringify(value)}\n`))
    return { connection, received, send }
  })

/**
 * Go's handshake for client module `module` (R-SOCK-5), offering receipts as `receipts` says
 * (R-SOCK-21): `{ incarnation, peer?, read? }`, or none when undefined.
 */
export const handshakeLine = (id: string, module: string, receipts: unknown) => ({
  header: { msg_id: id, timestamp: 1, sync: true, type: "unix" },
  route: { source: module, operation: "add", resource: "module" },
  content: receipts === undefined ? "" : { receipts }
})
