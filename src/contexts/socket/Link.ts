/**
 * One established connection to a peer process, after the handshake: it writes the messages of the
 * remote modules bound to it and the responses owed to the peer, and it hands on what the peer sends.
 * It keeps the connection's lifecycle and the remote modules bound to it, and assembles the parts:
 *
 * - `LinkWriter`: one writer fiber drains the bound endpoints' outboxes round robin, responses first,
 *   in batches; a write that waits for the socket to drain leaves the outboxes to fill up, and then
 *   their senders wait (backpressure).
 * - `Inbound`: the read loop, which hands each payload on: a response to `ResponseAttribution` (to
 *   `sendResp`, attributed to the module that answered, never to a mailbox), every other message to
 *   `Deliveries` (to its `route.destination` in this process, in arrival order per destination).
 * - `Backlog`: what the connection holds for its peer (messages waiting for delivery, answers waiting
 *   to be written); past its limits, reading pauses (backpressure on the peer) until all are down to half.
 * - `LinkReceipts`: the receipts of one-way messages, both ways, when both peers agreed to them.
 * - `liveness`: with a heartbeat or a frame timeout, a peer gone silent ends the link.
 * - When the connection ends (or `close` is requested) every remote module bound to it is cleaned up,
 *   which fails the calls waiting on them (R-CLEAN semantics, and `RequestDropped` for requests written
 *   and not answered).
 *
 * @since 0.1.0
 * @internal
 */
import { Deferred, Effect, Exit, type Result } from "effect"
import { CurrentModule } from "../../effects/CurrentModule.ts"
import type { Wake } from "../../effects/Mailbox.ts"
import type { MessageEncodeError } from "../../model/Errors.ts"
import * as Message from "../../model/Message.ts"
import { encodeJsonResult } from "../../model/MessageJson.ts"
import { ConnectionClosed, type PeerUnresponsive, type SocketProtocolError } from "../../model/SocketErrors.ts"
import { Backlog } from "./Backlog.ts"
import { Deliveries } from "./Deliveries.ts"
import { oversizeBytes } from "./FrameCodec.ts"
import type { Framing } from "./Framing.ts"
import { stampForGo } from "./GoStamping.ts"
import { Inbound } from "./Inbound.ts"
import { LinkReceipts, ReceiptNumberBytes } from "./LinkReceipts.ts"
import { LinkWriter } from "./LinkWriter.ts"
import { liveness } from "./Liveness.ts"
import type { MessageReader } from "./MessageReader.ts"
import type { EndpointLink, Outgoing, RemoteEndpoint } from "./RemoteEndpoint.ts"
import { ResponseAttribution, responseJson } from "./ResponseAttribution.ts"
import type { SocketState } from "./SocketState.ts"

/**
 * Why a link ended: the connection closed or failed, the peer broke the protocol, or it went silent.
 *
 * @category models
 */
export type LinkEnd = ConnectionClosed | SocketProtocolError | PeerUnresponsive

/**
 * Options of one link.
 *
 * @category models
 */
export interface LinkOptions {
  /** The framing replies are written in. */
  readonly framing: Framing
  /** The client module of this connection (for events). */
  readonly module: string
  /** On a server, the client module: cleaning it up closes the connection. */
  readonly owner: string | undefined
  /**
   * On a server, its own module (Go's server entry `module`): over Go's packets, what a Go client
   * addresses to its own module is delivered to it (R-SOCK-32).
   */
  readonly serverModule?: string | undefined
  readonly maxFrameBytes: number
  readonly batchBytes: number
  /** The heartbeat interval agreed in the handshake, in milliseconds; 0: none (R-SOCK-20). */
  readonly heartbeatMs: number
  /** How long a frame may stay unfinished, in milliseconds; 0: for ever (R-SOCK-20). */
  readonly frameTimeoutMs: number
  /** The peer's key in the receipt ledger when both agreed on receipts; undefined: none (R-SOCK-21). */
  readonly receipts: string | undefined
}

/**
 * An established connection; see the module documentation.
 *
 * @category models
 */
export class Link implements EndpointLink {
  readonly peer: string
  readonly options: LinkOptions
  /**
   * Sync requests received over this link whose responses are owed, each with the number it got when
   * it came to be owed (`SocketState`): in that order, the oldest first.
   */
  readonly inboundIds = new Map<string, number>()
  /** The copies of them owed (one id may come more than once), and their ids' lengths added up. */
  owedCopies = 0
  owedBytes = 0
  private readonly state: SocketState
  private readonly reader: MessageReader
  /** The remote modules bound to this link, by name. */
  private readonly endpoints = new Map<string, RemoteEndpoint>()
  private readonly closeRequest = Deferred.makeUnsafe<LinkEnd>()
  private closed = false
  /** Messages the writer could not write here, until they are reported. */
  private readonly unwritable: Array<{
    readonly message: Message.Message
    readonly module: string
    readonly reason: string
  }> = []
  private readonly receipts: LinkReceipts
  private readonly attribution: ResponseAttribution
  private readonly writer: LinkWriter
  private readonly backpressure: Backlog
  private readonly deliveries: Deliveries
  private readonly inbound: Inbound
  private readonly liveness: Effect.Effect<never, PeerUnresponsive>

  constructor(state: SocketState, reader: MessageReader, options: LinkOptions) {
    this.state = state
    this.reader = reader
    this.peer = reader.connection.peer
    this.options = options
    // The writer and the receipts wake each other, as do the writer and the backlog: each is given the
    // other through a closure, read when it is called.
    this.receipts = new LinkReceipts(state.receipts, options.receipts, this, this.peer, state.options, (wake) =>
      this.writer.wake(wake)
    )
    this.attribution = new ResponseAttribution(state, this.peer, this.endpoints)
    this.writer = new LinkWriter(reader.connection, options, {
      receipts: this.receipts,
      attribution: this.attribution,
      onResponsesTaken: () => this.backpressure.resumeIfRoom(),
      jsonFor: this.jsonFor,
      reportUnwritable: this.reportUnwritable
    })
    this.backpressure = new Backlog(state.options, this.writer, state.heldFor(options.module))
    this.deliveries = new Deliveries(state, this, this.endpoints, this.backpressure)
    this.inbound = new Inbound(reader, {
      receipts: this.receipts,
      attribution: this.attribution,
      deliveries: this.deliveries,
      backlog: this.backpressure
    })
    this.liveness = liveness(
      { peer: this.peer, heartbeatMs: options.heartbeatMs, frameTimeoutMs: options.frameTimeoutMs },
      this.inbound,
      this.writer
    )
  }

  /**
   * The client module when the peer is a Go beehive process (packets, and no receipts agreed: Go
   * offers none): what is written is stamped as Go needs it (R-SOCK-32); undefined otherwise.
   */
  get goClientModule(): string | undefined {
    return this.options.framing === "packet" && this.options.receipts === undefined ? this.options.module : undefined
  }

  /** A module's message as written to a Go peer: stamped (R-SOCK-32), so its size is checked stamped. */
  readonly wireJson = (message: Message.Message, module: string): Result.Result<string, MessageEncodeError> => {
    const go = this.goClientModule
    return go === undefined ? encodeJsonResult(message, module) : encodeJsonResult(stampForGo(message, go, module))
  }

  /** Over packets the newline is part of the packet, and the packet is what is limited (R-SOCK-30). */
  get maxJsonBytes(): number {
    return this.options.framing === "packet" ? this.options.maxFrameBytes - 1 : this.options.maxFrameBytes
  }

  /** With receipts a one-way message is written with its number (R-SOCK-21), which must fit too. */
  get numberBytes(): number {
    return this.options.receipts === undefined ? 0 : ReceiptNumberBytes
  }

  /**
   * A module's message as written here: as its endpoint encoded it for this connection, else encoded
   * (stamped for a Go peer) and checked now: one queued before its module was bound here, or offered
   * after a wait that saw the module bound to another connection. One too large for this connection is
   * kept for `reportUnwritable` and not written (R-SOCK-2).
   */
  private readonly jsonFor = (outgoing: Outgoing, module: string): string | undefined => {
    if (outgoing.link === this) return outgoing.json
    const encoded = this.wireJson(outgoing.message, module)
    if (encoded._tag === "Success") {
      const limit = this.maxJsonBytes - (outgoing.message.header.sync ? 0 : this.numberBytes)
      const oversize = oversizeBytes(encoded.success, limit)
      if (oversize === undefined) return encoded.success
      this.unwritable.push({
        message: outgoing.message,
        module,
        reason: `message of ${oversize} bytes exceeds the frame limit of ${limit} of the connection it was bound to`
      })
    } else this.unwritable.push({ message: outgoing.message, module, reason: encoded.failure.message })
    return undefined
  }

  /**
   * Reports what `jsonFor` refused: a one-way message as never written (`Unsent`, R-SOCK-11); a sync
   * request by an error response to its call, so that it does not wait for its deadline.
   */
  private readonly reportUnwritable = (): Effect.Effect<void> | undefined => {
    if (this.unwritable.length === 0) return undefined
    const refused = this.unwritable.splice(0)
    return Effect.forEach(
      refused,
      ({ message, module, reason }) =>
        message.header.sync
          ? Effect.flatMap(Message.newErrorResponse(message, reason), (error) =>
              Effect.ignore(this.state.beehive.sendResp(error))
            )
          : this.state.reportWritten([{ peer: this.peer, module, message }], "Unsent"),
      { discard: true }
    )
  }

  /** The largest frame written on this connection, in bytes: larger messages are refused when sent. */
  get maxFrameBytes(): number {
    return this.options.maxFrameBytes
  }

  /** True once the link has ended. */
  get isClosed(): boolean {
    return this.closed
  }

  /** Answers waiting to be written to this connection. */
  get queuedResponses(): number {
    return this.writer.queuedResponses
  }

  /**
   * Messages read from this connection's peer module (over it, or earlier ones) and not yet taken by a
   * delivery fiber (white-box tests read it).
   */
  get backlog(): number {
    return this.backpressure.waitingForDelivery
  }

  /** Names of the remote modules bound to this link. */
  get modules(): ReadonlyArray<string> {
    return [...this.endpoints.keys()]
  }

  /** Binds a remote module's endpoint: its messages are written here. */
  bindEndpoint(endpoint: RemoteEndpoint): void {
    this.endpoints.set(endpoint.module, endpoint)
    endpoint.bind(this)
  }

  /** A bound endpoint has messages to write (nothing is written once the link has ended). */
  readonly ready = (endpoint: RemoteEndpoint, wake: Wake): void => {
    if (this.closed) return
    this.writer.ready(endpoint, wake)
  }

  /** A bound endpoint was closed; on a server, closing the client module ends the link. */
  readonly detach = (endpoint: RemoteEndpoint): void => {
    if (this.endpoints.get(endpoint.module) === endpoint) this.endpoints.delete(endpoint.module)
    this.writer.unready(endpoint)
    if (endpoint.module === this.options.owner) {
      this.requestClose(`module "${endpoint.module}" was cleaned up`)
    }
  }

  /** Asks the link to end; it closes the connection and cleans up its modules. Never blocks. */
  requestClose(detail: string): void {
    Deferred.doneUnsafe(this.closeRequest, Exit.succeed(new ConnectionClosed({ peer: this.peer, detail })))
  }

  /**
   * Queues a response for the peer (with the module that answered), written before other messages.
   * False if the link has ended. A response whose content cannot be written (or is too large) is
   * replaced by an error response, so the peer's call does not wait for its deadline.
   */
  sendResponse(response: Message.Message, responder: string | undefined): boolean {
    if (this.closed) return false
    const go = this.goClientModule
    this.writer.queueResponse(
      responseJson(go === undefined ? response : stampForGo(response, go), responder, this.maxJsonBytes)
    )
    return true
  }

  /**
   * Runs the link until the connection ends, the peer breaks the protocol, or `requestClose`; then
   * closes the connection, cleans up the remote modules bound to it and forgets the requests owed to
   * the peer. Returns why it ended. Interrupting it tears it down the same way.
   */
  readonly run: Effect.Effect<LinkEnd> = Effect.suspend(() => {
    const { overrun } = this.reader.connection
    // An overrun is seen even while reading is paused (R-SOCK-30).
    const ended =
      overrun === undefined
        ? Deferred.await(this.closeRequest)
        : Effect.raceFirst(Deferred.await(this.closeRequest), overrun)
    return Effect.raceFirst(
      // Messages read before the end (even a protocol error later in the same read) are still delivered.
      Effect.raceFirst(
        Effect.flip(Effect.ensuring(this.inbound.loop, this.deliveries.start)),
        Effect.flip(this.writer.loop)
      ),
      this.options.heartbeatMs > 0 || this.options.frameTimeoutMs > 0
        ? Effect.raceFirst(ended, Effect.flip(this.liveness))
        : ended
    ).pipe(
      Effect.tap((end) => this.report(end)),
      Effect.onExit(() => this.shutdown),
      // Responses handed on with no responder named must not be attributed to a module this fiber
      // happens to run for (R-RESP-3).
      Effect.provideService(CurrentModule, undefined)
    )
  })

  /** Reports the end of the link (`Disconnected`, with its cause). */
  private report(end: LinkEnd): Effect.Effect<void> {
    const detail = end._tag === "ConnectionClosed" ? end.detail : end.message
    return this.state.report({
      _tag: "Disconnected",
      peer: this.peer,
      module: this.options.module,
      reason: detail,
      cause: end._tag
    })
  }

  /**
   * Ends the link (idempotent): cleans up the remote modules bound to it, forgets the requests owed to
   * the peer and closes the connection. `run` ends with it; call it when the link never ran.
   */
  readonly shutdown: Effect.Effect<void> = Effect.suspend(() => {
    if (this.closed) return Effect.void
    this.closed = true
    this.receipts.park()
    this.writer.clear()
    this.state.links.delete(this)
    this.state.forgetLink(this)
    this.backpressure.detach()
    const modules = [...this.endpoints.keys()]
    // Cleanups first: the calls waiting on these modules fail at once, not after the connection's flush.
    // What a cleanup returns was never written: sync requests fail their calls (RequestDropped); one-way
    // messages are reported, each with the message itself (R-SOCK-11).
    return Effect.andThen(
      Effect.forEach(
        modules,
        (module) =>
          Effect.flatMap(Effect.result(this.state.beehive.cleanup(module)), (cleaned) =>
            cleaned._tag === "Success"
              ? this.state.reportWritten(
                  cleaned.success.undelivered
                    .filter((message) => !message.header.sync)
                    .map((message) => ({ peer: this.peer, module, message })),
                  "Unsent"
                )
              : Effect.void
          ),
        { discard: true }
      ),
      this.reader.connection.close
    )
  })
}
