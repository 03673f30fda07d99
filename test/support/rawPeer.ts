/**
 * Raw NDJSON peers for socket properties: a connection over a transport that writes JSON values as
 * lines and collects, in a background fiber, every line it reads, parsed. They speak the wire as SPEC.md
 * describes it (Go's JSON keys), so a property can play a client or a server that the socket context
 * must meet.
 */
import { Effect, type Scope } from "effect"
import type { SocketAddress } from "../../src/contexts/socket/SocketAddress.ts"
import type { Connection, Listener, TransportShape } from "../../src/contexts/socket/Transport.ts"

/** A raw peer on a connection: `received` grows as lines come, until the connection ends. */
export interface RawPeer {
  readonly connection: Connection
  /** Every line read so far, parsed, in order. */
  readonly received: Array<any>
  /** Writes one JSON value as a line. */
  readonly send: (value: unknown) => Effect.Effect<void, unknown>
}

/** A raw peer on `connection`; its reading fiber ends with the scope or the connection. */
export const rawPeer = (connection: Connection): Effect.Effect<RawPeer, never, Scope.Scope> =>
  Effect.gen(function* () {
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

/** Connects a raw client to `address`. */
export const connectRaw = (
  transport: TransportShape,
  address: SocketAddress
): Effect.Effect<RawPeer, unknown, Scope.Scope> => Effect.flatMap(transport.connect(address), rawPeer)

/** Accepts the next connection on `listener` as a raw server's end. */
export const acceptRaw = (listener: Listener): Effect.Effect<RawPeer, unknown, Scope.Scope> =>
  Effect.flatMap(listener.accept, rawPeer)

/**
 * Go's handshake for client module `module` (R-SOCK-5), offering receipts as `receipts` says
 * (R-SOCK-21): `{ incarnation, peer?, read? }`, or none when undefined.
 */
export const handshakeLine = (id: string, module: string, receipts: unknown) => ({
  header: { msg_id: id, timestamp: 1, sync: true, type: "unix" },
  route: { source: module, operation: "add", resource: "module" },
  content: receipts === undefined ? "" : { receipts }
})
