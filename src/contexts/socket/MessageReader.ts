/**
 * Messages out of a connection: reads bytes, cuts them with the connection's decoder, and parses each
 * payload as a Go beehive message. A payload that is not JSON, or JSON that is not a message, is a
 * `SocketProtocolError`; so is a byte stream that is not frames. Parsing never throws.
 *
 * Besides the message fields, a payload may carry `"responder"`: the module that answered, which this
 * implementation adds to the responses it forwards (so group calls can count responders across
 * processes). Go ignores unknown keys, so Go peers read such responses as usual.
 *
 * @since 0.1.0
 * @internal
 */
import { Effect, Result } from "effect"
import { jsonDepthExceeds, MaxJsonDepth } from "../../model/JsonDepth.ts"
import type { Message } from "../../model/Message.ts"
import { contentOutOfRange, decodeUnknownResult, decodeWirePlain } from "../../model/MessageJson.ts"
import { type ConnectionClosed, SocketProtocolError } from "../../model/SocketErrors.ts"
import type { MessageDecoder } from "./Framing.ts"
import type { Connection } from "./Transport.ts"

/**
 * A message read from a peer, with the responder the peer named, if any.
 *
 * @category models
 */
export interface Incoming {
  readonly message: Message
  readonly responder: string | undefined
  /** The number the peer gave a one-way message, when the connection has receipts (R-SOCK-21). */
  readonly seq: number | undefined
}

/**
 * Parses one payload. Fails with `SocketProtocolError` ("Json" or "Message").
 *
 * @category decoding
 */
export const parseIncoming = (peer: string, text: string): Result.Result<Incoming, SocketProtocolError> => {
  // Checked before parsing: a deeply nested payload is refused in one pass, never parsed (R-JSON-6).
  if (jsonDepthExceeds(text))
    return Result.fail(
      new SocketProtocolError({ peer, reason: "Json", detail: `nested deeper than ${MaxJsonDepth} levels` })
    )
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    return Result.fail(new SocketProtocolError({ peer, reason: "Json", detail: (e as Error).message }))
  }
  const outOfRange = contentOutOfRange(parsed)
  if (outOfRange !== undefined)
    return Result.fail(
      new SocketProtocolError({ peer, reason: "Message", detail: `number out of float64's range at ${outOfRange}` })
    )
  const plain = decodeWirePlain(parsed)
  const decoded = plain === undefined ? decodeUnknownResult(parsed) : Result.succeed(plain)
  if (Result.isFailure(decoded)) {
    return Result.fail(new SocketProtocolError({ peer, reason: "Message", detail: decoded.failure.message }))
  }
  const { responder, seq } = parsed as { responder?: unknown; seq?: unknown }
  return Result.succeed({
    message: decoded.success,
    responder: typeof responder === "string" ? responder : undefined,
    seq: Number.isSafeInteger(seq) && (seq as number) > 0 ? (seq as number) : undefined
  })
}

/**
 * Reads payloads from a connection through a decoder, keeping those not yet handed out.
 *
 * @category models
 */
export class MessageReader {
  readonly connection: Connection
  readonly decoder: MessageDecoder
  private texts: Array<string> = []
  private ended: ConnectionClosed | undefined = undefined
  private failed: SocketProtocolError | undefined = undefined
  private readonly collect = (text: string) => {
    this.texts.push(text)
  }
  /** A read, or nothing at the end of the stream (noted): made once, not at every read. */
  private readonly readOrEnd: Effect.Effect<ReadonlyArray<Uint8Array>>

  constructor(connection: Connection, decoder: MessageDecoder) {
    this.connection = connection
    this.decoder = decoder
    this.readOrEnd = Effect.catchTag(connection.read, "ConnectionClosed", (closed) =>
      Effect.sync(() => {
        this.ended = closed
        return [] as ReadonlyArray<Uint8Array>
      })
    )
  }

  /**
   * The payloads that arrived, at least one; suspends until there is one. Fails with
   * `SocketProtocolError` ("Frame") when the bytes are not frames, and with `ConnectionClosed` at the
   * end of the stream, each after the payloads that came before it (those read together with the bad
   * bytes too: what is handed out never depends on how the stream was cut into reads), and for good
   * after either.
   */
  readonly next: Effect.Effect<ReadonlyArray<string>, SocketProtocolError | ConnectionClosed> = Effect.suspend(() =>
    this.texts.length > 0 ? Effect.succeed(this.take()) : this.readMore
  )

  private readonly readMore: Effect.Effect<ReadonlyArray<string>, SocketProtocolError | ConnectionClosed> = Effect.gen(
    { self: this },
    function* () {
      while (this.texts.length === 0) {
        if (this.failed !== undefined) return yield* this.failed
        if (this.ended !== undefined) return yield* this.ended
        const chunks = yield* this.readOrEnd
        for (const chunk of chunks) {
          const failed = this.decoder.feed(chunk, this.collect)
          if (failed !== undefined) {
            this.failed = this.frameError(failed.message)
            break
          }
        }
        if (this.failed === undefined && this.ended !== undefined) {
          const failed = this.decoder.end(this.collect)
          if (failed !== undefined) this.failed = this.frameError(failed.message)
        }
      }
      return this.take()
    }
  )

  /** Puts payloads back in front of those not yet handed out. */
  unread(texts: ReadonlyArray<string>): void {
    if (texts.length > 0) this.texts = [...texts, ...this.texts]
  }

  private frameError(detail: string): SocketProtocolError {
    return new SocketProtocolError({ peer: this.connection.peer, reason: "Frame", detail })
  }

  private take(): ReadonlyArray<string> {
    const texts = this.texts
    this.texts = []
    return texts
  }
}
