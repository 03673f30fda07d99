/**
 * The reading side of one connection: it reads what the peer sends and hands each payload on.
 *
 * - A heartbeat only says the peer is alive; a receipt settles the one-way messages written to it
 *   (R-SOCK-20, R-SOCK-21: both only without a destination). A response goes to its call
 *   (`ResponseAttribution`, R-SOCK-9); every other message is queued for delivery (`Deliveries`,
 *   R-SOCK-8), whose fibers start once the read's payloads are handled.
 * - When the connection holds too much for its peer (`Backlog`, R-SOCK-17) the rest of the read waits
 *   in the reader, and reading pauses until there is room again.
 * - What it handled is receipted in the next write, after each read and before each pause, and at once
 *   every `receiptEvery` messages within a read (`LinkReceipts`).
 *
 * @since 0.2.0
 * @internal
 */
import { Effect } from "effect"
import { HeartbeatOperation, ReceiptOperation } from "../../model/Constants.ts"
import type { SocketProtocolError } from "../../model/SocketErrors.ts"
import type { Backlog } from "./Backlog.ts"
import type { Deliveries } from "./Deliveries.ts"
import type { LinkEnd } from "./Link.ts"
import type { LinkReceipts } from "./LinkReceipts.ts"
import { type MessageReader, parseIncoming } from "./MessageReader.ts"
import type { ResponseAttribution } from "./ResponseAttribution.ts"

/**
 * The parts of the connection that what is read is handed to.
 *
 * @category models
 */
export interface InboundParts {
  readonly receipts: LinkReceipts
  readonly attribution: ResponseAttribution
  readonly deliveries: Deliveries
  readonly backlog: Backlog
}

/**
 * The reading side of one connection; see the module documentation.
 *
 * @category models
 */
export class Inbound {
  private readonly reader: MessageReader
  private readonly parts: InboundParts
  private readonly peer: string
  private payloads = 0
  private pausedNow = false

  constructor(reader: MessageReader, parts: InboundParts) {
    this.reader = reader
    this.parts = parts
    this.peer = reader.connection.peer
  }

  /** Payloads read: what the liveness check sees change (R-SOCK-20). */
  get heard(): number {
    return this.payloads
  }

  /** Whether reading is paused here (backpressure): the peer's silence is then ours. */
  get paused(): boolean {
    return this.pausedNow
  }

  /** Whether a frame (or line) has begun to arrive and is not finished. */
  get hasPartialFrame(): boolean {
    return this.reader.decoder.hasPartial
  }

  /** Reads and hands on until the connection ends or the peer breaks the protocol. */
  readonly loop: Effect.Effect<never, LinkEnd> = Effect.gen({ self: this }, function* () {
    const { receipts, deliveries, backlog } = this.parts
    while (true) {
      // What the peer module's earlier connections read may fill the backlog still: this one reads only
      // once there is room (R-SOCK-17).
      if (backlog.mustPause()) {
        this.pausedNow = true
        yield* backlog.awaitRoom
        this.pausedNow = false
      }
      const texts = yield* this.reader.next
      this.payloads += texts.length
      for (let i = 0; i < texts.length; i++) {
        const step = this.handle(texts[i] as string)
        if (step !== undefined) yield* step
        if (backlog.mustPause()) {
          // The rest of this read waits in the reader: the backlog stays bounded whatever a read holds.
          this.reader.unread(texts.slice(i + 1))
          yield* deliveries.start
          receipts.askReceipt()
          this.pausedNow = true
          yield* backlog.awaitRoom
          this.pausedNow = false
          break
        }
      }
      if (deliveries.hasIdle) yield* deliveries.start
      receipts.askReceipt()
    }
  })

  /**
   * Waits, reading paused, for the newer connection's handshake that holds this one to end, then
   * handles the payload as its outcome says. What this read handed on before it goes on meanwhile.
   */
  private hold(text: string): Effect.Effect<void, SocketProtocolError> {
    const { receipts, deliveries } = this.parts
    return Effect.andThen(
      deliveries.start,
      Effect.suspend(() => {
        this.pausedNow = true
        return Effect.ensuring(
          receipts.awaitSettled,
          Effect.sync(() => {
            this.pausedNow = false
          })
        )
      })
    ).pipe(Effect.andThen(() => this.handle(text) ?? Effect.void))
  }

  /** Handles one payload; returns the effect still to run, if any. */
  private handle(text: string): Effect.Effect<void, SocketProtocolError> | undefined {
    const { receipts, attribution, deliveries } = this.parts
    const parsed = parseIncoming(this.peer, text)
    if (parsed._tag === "Failure") return Effect.fail(parsed.failure)
    const { message, responder } = parsed.success
    const { route } = message
    // A newer connection of the same peer has settled the receipts: what this one still reads is
    // dropped, as the peer was told it was never handled (R-SOCK-21). While that connection's handshake
    // waits for its answer, this one holds what it reads: dropped then, and the handshake refused, it
    // was lost unreported, and this connection's later receipts counted past it.
    if (receipts.superseded()) return receipts.held() ? this.hold(text) : undefined
    // A heartbeat only says the peer is alive (counted when read).
    if (route.operation === HeartbeatOperation && route.destination === "") return undefined
    if (route.operation === ReceiptOperation && route.destination === "") {
      receipts.receipted(message.content)
      return undefined
    }
    receipts.handled(message, parsed.success.seq)
    if (attribution.isResponse(message)) return attribution.claim(message, responder)
    return deliveries.deliver(message, text.length)
  }
}
