/**
 * A transport that records what its connections carry: every text a process wrote (that its connection
 * took) and every text it read, as JSON values, in order, and the bytes themselves. For properties
 * whose oracle needs the wire (which numbers a peer receipted, which number a message carried,
 * R-SOCK-21; the framing each side wrote in, R-SOCK-3), not what a context reports. It can also stop
 * the process reading, as a peer that no longer reads.
 */
import { Effect, Latch } from "effect"
import { makeDecoder } from "../../src/contexts/socket/Framing.ts"
import type { Connection, TransportShape } from "../../src/contexts/socket/Transport.ts"
import { ReceiptOperation } from "../../src/model/Constants.ts"

/** The texts of every connection a tapped transport opened, in the order they crossed. */
export interface WireTap {
  readonly written: Array<unknown>
  readonly read: Array<unknown>
  /** The bytes themselves, each chunk as it was written or read. */
  readonly bytesWritten: Array<Uint8Array>
  readonly bytesRead: Array<Uint8Array>
  /** Closed, the tapped process reads nothing more (a peer that stops reading); open by default. */
  readonly reading: Latch.Latch
}

/** An empty tap, reading. */
export const makeTap = (): WireTap => ({
  written: [],
  read: [],
  bytesWritten: [],
  bytesRead: [],
  reading: Latch.makeUnsafe(true)
})

const recorder = (into: Array<unknown>, bytes: Array<Uint8Array>) => {
  const decoder = makeDecoder("auto", Number.MAX_SAFE_INTEGER)
  return (chunk: Uint8Array) => {
    bytes.push(chunk)
    decoder.feed(chunk, (text) => into.push(JSON.parse(text)))
  }
}

/** `transport` with every connection it opens (connect only: a client's side) recorded into `tap`. */
export const tapped = (transport: TransportShape, tap: WireTap): TransportShape => ({
  listen: transport.listen,
  connect: (address, tls) =>
    Effect.map(transport.connect(address, tls), (connection): Connection => {
      const wrote = recorder(tap.written, tap.bytesWritten)
      const got = recorder(tap.read, tap.bytesRead)
      return {
        ...connection,
        // A read under way when `reading` closed keeps what it got until it opens again: the process
        // reads nothing from the moment it closed (until a scheduler exploration found it, such a read
        // delivered what came after the close).
        read: Effect.map(
          Effect.flatMap(tap.reading.whenOpen(connection.read), (chunks) => Effect.as(tap.reading.await, chunks)),
          (chunks) => {
            for (const chunk of chunks) got(chunk)
            return chunks
          }
        ),
        // Recorded once written: a write that failed (the connection ended) said nothing to the peer.
        write: (bytes) => Effect.tap(connection.write(bytes), () => Effect.sync(() => wrote(bytes))),
        // Left out: writes then all go through `write`, so that every byte written is recorded.
        writeNow: undefined
      }
    })
})

/** The highest number the tapped process receipted (0: none), R-SOCK-21's control message. */
export const highestReceipt = (tap: WireTap): number =>
  tap.written.reduce<number>((highest, text) => {
    const { route, content } = text as { route?: { operation?: unknown; destination?: unknown }; content?: unknown }
    const isReceipt = route?.operation === ReceiptOperation && (route.destination ?? "") === ""
    return isReceipt && typeof content === "number" ? Math.max(highest, content) : highest
  }, 0)

/** The number each one-way message the tapped process read carried, by message id. */
export const numbersRead = (tap: WireTap): ReadonlyMap<string, number> =>
  new Map(
    tap.read.flatMap((text) => {
      const { header, seq } = text as { header?: { msg_id?: unknown }; seq?: unknown }
      return typeof header?.msg_id === "string" && typeof seq === "number" ? [[header.msg_id, seq] as const] : []
    })
  )
