/**
 * One established connection to a peer process, after the handshake: it writes the messages of the
 * remote modules bound to it and the responses owed to the peer, and it hands on what the peer sends.
 *
 * - Writing: one writer fiber drains the bound endpoints' outboxes round robin, responses first, and
 *   writes them in batches (up to `batchBytes` per write); a write that waits for the socket to drain
 *   leaves the outboxes to fill up, and then their senders wait (backpressure).
 * - Reading: a payload whose parent id names a request written here and not yet answered, or whose
 *   operation is "response" or "error", is a response: it goes to `sendResp` (attributed to the module
 *   that answered), never to a mailbox. Every other message is delivered to its `route.destination` in
 *   this process, in arrival order per destination, by a delivery fiber per destination, so a full mailbox
 *   holds up neither the responses behind it nor the other destinations. The queues are kept per peer
 *   module and destination across that peer module's connections, so what an ended connection still
 *   holds is delivered before what the next one brings. At most `maxInboundBacklog` messages of a
 *   connection (and `maxInboundBacklogBytes` of them) wait for delivery, and at most
 *   `maxQueuedResponses` answers (and `maxQueuedResponseBytes`) wait to be written to it; past any of
 *   these, its reading pauses (backpressure on the peer) until all are down to half.
 * - A message that cannot be delivered (no such module, module closed) is reported; if it was a sync
 *   request, the peer gets an error response at once instead of waiting for its deadline.
 * - When the connection ends (or `close` is requested) every remote module bound to it is cleaned up,
 *   which fails the calls waiting on them (R-CLEAN semantics, and `RequestDropped` for requests written
 *   and not answered).
 *
 * @since 0.1.0
 * @internal
 */
import { Cause, Deferred, Duration, Effect, Exit, MutableList } from "effect"
import { CurrentModule } from "../../effects/CurrentModule.ts"
import type { Wake } from "../../effects/Mailbox.ts"
import {
  HeartbeatOperation,
  ReceiptOperation,
  ResponseErrorOperation,
  ResponseOperation
} from "../../model/Constants.ts"
import { quote } from "../../model/GoJson.ts"
import * as Message from "../../model/Message.ts"
import { encodeJsonResult } from "../../model/MessageJson.ts"
import { ConnectionClosed, PeerUnresponsive, type SocketProtocolError } from "../../model/SocketErrors.ts"
import { oversizeBytes } from "./FrameCodec.ts"
import { encodeBatch, type Framing } from "./Framing.ts"
import { controlJson } from "./Handshake.ts"
import { type MessageReader, parseIncoming } from "./MessageReader.ts"
import type { Written } from "./Receipts.ts"
import type { EndpointLink, RemoteEndpoint } from "./RemoteEndpoint.ts"
import type { SocketState } from "./SocketState.ts"

/** Messages taken from one endpoint before the writer turns to the next. */
const fairShare = 256

/** Multicast request ids remembered before those no longer in flight are first forgotten. */
const firstMulticastPrune = 1024

/**
 * The messages from one peer module waiting for delivery to one destination, in arrival order, with
 * the connection each came on (for its backlog and its error response). Shared by that peer module's
 * successive connections (`SocketState.deliveries`).
 *
 * @category models
 */
export interface Delivery {
  readonly key: string
  readonly destination: string
  readonly queue: MutableList.MutableList<{
    readonly message: Message.Message
    readonly link: Link
    readonly bytes: number
  }>
  /** Whether a fiber drains it (or is about to start). */
  running: boolean
}

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
  readonly maxFrameBytes: number
  readonly batchBytes: number
  /** The heartbeat interval agreed in the handshake, in milliseconds; 0: none (R-SOCK-20). */
  readonly heartbeatMs: number
  /** How long a frame may stay unfinished, in milliseconds; 0: for ever (R-SOCK-20). */
  readonly frameTimeoutMs: number
  /** The peer's key in the receipt ledger when both agreed on receipts; undefined: none (R-SOCK-21). */
  readonly receipts: string | undefined
}

const heartbeatJson = JSON.stringify({
  header: { msg_id: "heartbeat", timestamp: 0 },
  route: { operation: HeartbeatOperation },
  content: ""
})

const receiptJson = (seq: number): string =>
  JSON.stringify({ header: { msg_id: "receipt", timestamp: 0 }, route: { operation: ReceiptOperation }, content: seq })

/**
 * The module a response is attributed to when the peer names a responder that is not one of the
 * connection's modules: a name no module here has (it holds a NUL), so no call counts it as a member.
 */
const foreignResponder = (name: string, peer: string): string => `${name}\u0000${peer}`

/**
 * An established connection; see the module documentation.
 *
 * @category models
 */
export class Link implements EndpointLink {
  readonly peer: string
  readonly options: LinkOptions
  /** Sync requests received over this link whose responses are owed. */
  readonly inboundIds = new Set<string>()
  private readonly state: SocketState
  private readonly reader: MessageReader
  private readonly endpoints = new Map<string, RemoteEndpoint>()
  private readonly readyEndpoints = new Set<RemoteEndpoint>()
  /** Deliveries that got messages in the current read and have no delivery fiber yet. */
  private idleDeliveries: Array<Delivery> = []
  /** Sync requests written to several modules over this connection (group copies), while in flight. */
  private readonly multicast = new Set<string>()
  private multicastPruneAt = firstMulticastPrune
  private readonly closeRequest = Deferred.makeUnsafe<LinkEnd>()
  private responses: Array<string> = []
  private responseBytes = 0
  private backlog = 0
  private backlogBytes = 0
  private wakeWriter: ((wake: Wake) => void) | undefined = undefined
  private wakeReader: (() => void) | undefined = undefined
  private closed = false
  /** Payloads read, and writes made: what the liveness check sees change (R-SOCK-20). */
  private heard = 0
  private written = 0
  /** Whether reading is paused here (backpressure): the peer's silence is then ours. */
  private paused = false
  private heartbeatDue = false
  /** Receipts (R-SOCK-21): one-way messages written and not receipted, oldest first. */
  private unreceipted: Array<Written> = []
  private handledSeq = 0
  private receiptedSeq = 0

  constructor(state: SocketState, reader: MessageReader, options: LinkOptions) {
    this.state = state
    this.reader = reader
    this.peer = reader.connection.peer
    this.options = options
  }

  get maxFrameBytes(): number {
    return this.options.maxFrameBytes
  }

  /** True once the link has ended. */
  get isClosed(): boolean {
    return this.closed
  }

  /** Answers waiting to be written to this connection. */
  get queuedResponses(): number {
    return this.responses.length
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

  readonly ready = (endpoint: RemoteEndpoint): void => {
    if (this.closed) return
    this.readyEndpoints.add(endpoint)
    this.wakeWriter?.("later")
  }

  readonly detach = (endpoint: RemoteEndpoint): void => {
    if (this.endpoints.get(endpoint.module) === endpoint) this.endpoints.delete(endpoint.module)
    this.readyEndpoints.delete(endpoint)
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
    const json = this.responseJson(response, responder)
    this.responses.push(json)
    this.responseBytes += json.length
    // A caller in the peer waits for it: write it at once rather than after this turn.
    this.wakeWriter?.("now")
    return true
  }

  /** The response's JSON naming its responder, or an error response when that cannot be written. */
  private responseJson(response: Message.Message, responder: string | undefined): string {
    const encoded = encodeJsonResult(response)
    let reason: string
    if (encoded._tag === "Success") {
      const json =
        responder === undefined ? encoded.success : `${encoded.success.slice(0, -1)},"responder":${quote(responder)}}`
      const oversize = oversizeBytes(json, this.maxFrameBytes)
      if (oversize === undefined) return json
      reason = `response of ${oversize} bytes exceeds the frame limit of ${this.maxFrameBytes}`
    } else {
      reason = encoded.failure.message
    }
    return controlJson(
      Message.make({
        header: {
          id: `${response.header.id}-error`,
          parentId: response.header.parentId,
          timestamp: response.header.timestamp
        },
        route: { operation: ResponseErrorOperation, resource: response.route.resource },
        content: reason
      })
    )
  }

  /**
   * Runs the link until the connection ends, the peer breaks the protocol, or `requestClose`; then
   * closes the connection, cleans up the remote modules bound to it and forgets the requests owed to
   * the peer. Returns why it ended. Interrupting it tears it down the same way.
   */
  readonly run: Effect.Effect<LinkEnd> = Effect.suspend(() =>
    Effect.raceFirst(
      // Messages read before the end (even a protocol error later in the same read) are still delivered.
      Effect.raceFirst(Effect.flip(Effect.ensuring(this.readLoop, this.startDeliveries)), Effect.flip(this.writeLoop)),
      this.options.heartbeatMs > 0 || this.options.frameTimeoutMs > 0
        ? Effect.raceFirst(Deferred.await(this.closeRequest), Effect.flip(this.liveness))
        : Deferred.await(this.closeRequest)
    ).pipe(
      Effect.tap((end) => this.report(end)),
      Effect.onExit(() => this.shutdown),
      // Responses handed on with no responder named must not be attributed to a module this fiber
      // happens to run for (R-RESP-3).
      Effect.provideService(CurrentModule, undefined)
    )
  )

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
   * Ends the link with `PeerUnresponsive` when the peer goes silent (R-SOCK-20): with a heartbeat
   * agreed, nothing read for three intervals; with a frame timeout, a frame unfinished that long. It
   * asks for a heartbeat when nothing was written for an interval. It looks only at counters the loops
   * keep, so reading and writing take no clock reading; it runs only when one of the two is on.
   */
  private readonly liveness: Effect.Effect<never, PeerUnresponsive> = Effect.gen({ self: this }, function* () {
    const { heartbeatMs, frameTimeoutMs } = this.options
    // Checked every half interval: an idle peer's heartbeats then come at most 1.5 intervals apart,
    // well inside the three intervals of silence that make it unresponsive.
    const tick = Math.min(...[heartbeatMs, frameTimeoutMs].filter((ms) => ms > 0)) / 2
    let heard = this.heard
    let written = this.written
    let silentMs = 0
    let quietMs = 0
    // How long the frame now unfinished has been seen unfinished; -1: none.
    let unfinishedMs = -1
    while (true) {
      yield* Effect.sleep(Duration.millis(tick))
      const alive = this.heard !== heard || this.paused
      heard = this.heard
      silentMs = alive ? 0 : silentMs + tick
      unfinishedMs = alive || !this.reader.decoder.hasPartial ? -1 : unfinishedMs < 0 ? 0 : unfinishedMs + tick
      quietMs = this.written !== written ? 0 : quietMs + tick
      written = this.written
      if (heartbeatMs > 0 && silentMs >= 3 * heartbeatMs) {
        return yield* new PeerUnresponsive({
          peer: this.peer,
          detail: `nothing came for ${silentMs} ms (heartbeat every ${heartbeatMs} ms)`
        })
      }
      if (frameTimeoutMs > 0 && unfinishedMs >= frameTimeoutMs) {
        return yield* new PeerUnresponsive({
          peer: this.peer,
          detail: `a frame stayed unfinished for ${unfinishedMs} ms (limit ${frameTimeoutMs} ms)`
        })
      }
      if (heartbeatMs > 0 && quietMs >= heartbeatMs) {
        this.heartbeatDue = true
        this.wakeWriter?.("now")
      }
    }
  })

  /**
   * Ends the link (idempotent): cleans up the remote modules bound to it, forgets the requests owed to
   * the peer and closes the connection. `run` ends with it; call it when the link never ran.
   */
  readonly shutdown: Effect.Effect<void> = Effect.suspend(() => {
    if (this.closed) return Effect.void
    this.closed = true
    if (this.options.receipts !== undefined) this.state.receipts.park(this.options.receipts, this.unreceipted)
    this.unreceipted = []
    this.readyEndpoints.clear()
    this.responses = []
    this.responseBytes = 0
    this.state.links.delete(this)
    this.state.forgetLink(this)
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

  private readonly readLoop: Effect.Effect<never, LinkEnd> = Effect.gen({ self: this }, function* () {
    while (true) {
      const texts = yield* this.reader.next
      this.heard += texts.length
      for (let i = 0; i < texts.length; i++) {
        const step = this.handle(texts[i] as string)
        if (step !== undefined) yield* step
        if (this.mustPause()) {
          // The rest of this read waits in the reader: the backlog stays bounded whatever a read holds.
          this.reader.unread(texts.slice(i + 1))
          yield* this.startDeliveries
          this.askReceipt()
          this.paused = true
          yield* this.awaitRoom
          this.paused = false
          break
        }
      }
      yield* this.startDeliveries
      this.askReceipt()
    }
  })

  /** Receipts what was handled since the last receipt, in the next write (R-SOCK-21). */
  private askReceipt(): void {
    if (this.receiptDue()) this.wakeWriter?.("later")
  }

  /** Whether messages were handled since the last receipt written. */
  private receiptDue(): boolean {
    return this.handledSeq > this.receiptedSeq
  }

  /** Whether the bound modules have messages to write and may write them (no wait for receipts). */
  private endpointsReady(): boolean {
    return this.readyEndpoints.size > 0 && !this.awaitingReceipts()
  }

  /** The peer handled the one-way messages written here up to `seq`: they are no longer in doubt. */
  private receipted(seq: unknown): void {
    if (typeof seq !== "number") return
    const blocked = this.awaitingReceipts()
    let done = 0
    while (done < this.unreceipted.length && (this.unreceipted[done] as Written).seq <= seq) done++
    if (done > 0) this.unreceipted.splice(0, done)
    if (blocked && !this.awaitingReceipts()) this.wakeWriter?.("now")
  }

  /** Whether the modules' messages wait for receipts: `maxUnreceipted` are written and unreceipted. */
  private awaitingReceipts(): boolean {
    return this.unreceipted.length >= this.state.options.maxUnreceipted
  }

  private readonly writeLoop: Effect.Effect<never, ConnectionClosed> = Effect.gen({ self: this }, function* () {
    while (true) {
      const batch = this.collectBatch()
      if (batch === undefined) yield* this.awaitWork
      else {
        yield* this.reader.connection.write(batch)
        this.written++
      }
    }
  })

  /** Handles one payload; returns the effect still to run, if any. */
  private handle(text: string): Effect.Effect<void, SocketProtocolError> | undefined {
    const parsed = parseIncoming(this.peer, text)
    if (parsed._tag === "Failure") return Effect.fail(parsed.failure)
    const { message, responder } = parsed.success
    const { header, route } = message
    const key = this.options.receipts
    // A newer connection of the same peer has settled the receipts: what this one still reads is
    // dropped, as the peer was told it was never handled (R-SOCK-21).
    if (key !== undefined && !this.state.receipts.isCurrent(key, this)) return undefined
    // A heartbeat only says the peer is alive (counted when read).
    if (route.operation === HeartbeatOperation && route.destination === "") return undefined
    if (route.operation === ReceiptOperation && route.destination === "") {
      this.receipted(message.content)
      return undefined
    }
    if (key !== undefined && parsed.success.seq !== undefined && !header.sync) {
      this.handledSeq = Math.max(this.handledSeq, parsed.success.seq)
      this.state.receipts.noteHandled(key, parsed.success.seq)
    }
    if (
      !header.sync &&
      header.parentId !== "" &&
      (route.operation === ResponseOperation ||
        route.operation === ResponseErrorOperation ||
        this.isInflight(header.parentId))
    ) {
      return this.claimResponse(message, responder)
    }
    return this.deliver(message, text.length)
  }

  private isInflight(id: string): boolean {
    for (const endpoint of this.endpoints.values()) if (endpoint.inflight.has(id)) return true
    return false
  }

  private claimResponse(response: Message.Message, responder: string | undefined): Effect.Effect<void> {
    const id = response.header.parentId
    let from: string | undefined
    if (responder !== undefined) {
      const named = this.endpoints.get(responder)
      named?.answered(id)
      // A name that is not a module of this connection is no member of any call here: its answer is
      // uninvited, as a non-member's is in one process, and it cannot pass for another module.
      from = named?.module ?? foreignResponder(responder, this.peer)
    } else {
      // Without a responder (a Go peer), the answer is attributed only when the call's request went
      // to one module over this connection; copies to several stay unattributed, however many are left.
      const waiting = [...this.endpoints.values()].find((e) => e.inflight.has(id))
      waiting?.answered(id)
      if (!this.multicast.has(id)) from = waiting?.module
      else if (!this.isInflight(id)) this.multicast.delete(id)
    }
    // A decoded response is a message and `from` a module's name: the arguments cannot be invalid.
    return Effect.flatMap(Effect.orDie(this.state.beehive.sendResp(response, from)), (taken) =>
      taken
        ? Effect.void
        : this.state.report({ _tag: "UnclaimedResponse", peer: this.peer, msgId: response.header.id, parentId: id })
    )
  }

  /** Queues a message for delivery in this process (started by `startDeliveries`), or refuses it. */
  private deliver(message: Message.Message, bytes: number): Effect.Effect<void> | undefined {
    const destination = message.route.destination
    if (destination === "") return this.undeliverable(message, destination, "the message has no destination")
    if (this.endpoints.has(destination)) {
      return this.undeliverable(message, destination, "the destination is a module of the sender")
    }
    const forgotten = message.header.sync ? this.state.registerInbound(message.header.id, this, destination) : undefined
    // Keyed by peer module, not by connection: a sender's messages that an ended connection still holds
    // go before those its process sends over the next one (R-SEND-4 across a reconnection).
    const key = `${this.options.module}\u0000${destination}`
    let delivery = this.state.deliveries.get(key)
    if (delivery === undefined) {
      delivery = { key, destination, queue: MutableList.make(), running: false }
      this.state.deliveries.set(key, delivery)
    }
    MutableList.append(delivery.queue, { message, link: this, bytes })
    this.backlog++
    this.backlogBytes += bytes
    if (!delivery.running) {
      delivery.running = true
      this.idleDeliveries.push(delivery)
    }
    return forgotten === undefined
      ? undefined
      : this.state.report({ _tag: "RequestForgotten", peer: forgotten.link.peer, msgId: forgotten.id })
  }

  /**
   * Starts a delivery fiber for each destination that got messages in this read and had none running:
   * one fiber per destination and read, started at once (no scheduler hop between a request and its
   * delivery). Uninterruptible: once taken from `idleDeliveries`, every one gets its fiber.
   */
  private readonly startDeliveries: Effect.Effect<void> = Effect.uninterruptible(
    Effect.suspend(() => {
      if (this.idleDeliveries.length === 0) return Effect.void
      const starting = this.idleDeliveries
      this.idleDeliveries = []
      return Effect.forEach(
        starting,
        (delivery) => Effect.forkIn(this.drain(delivery), this.state.scope, { startImmediately: true }),
        { discard: true }
      )
    })
  )

  // It may deliver messages of other (older or newer) connections of the same peer module: each is
  // accounted to, and refused on behalf of, the connection it came on.
  private drain(delivery: Delivery): Effect.Effect<void> {
    return Effect.gen({ self: this }, function* () {
      const destination = delivery.destination
      while (delivery.queue.length > 0) {
        const { message, link, bytes } = MutableList.take(delivery.queue) as {
          message: Message.Message
          link: Link
          bytes: number
        }
        link.backlog--
        link.backlogBytes -= bytes
        if (link.mayResume()) link.wakeReader?.()
        const exit = yield* Effect.exit(this.state.beehive.send(destination, message))
        if (Exit.isFailure(exit)) {
          // `send` fails only with typed errors (ModuleNotFound, ModuleClosed, BeehiveShutdown).
          yield* link.undeliverable(message, destination, (Cause.squash(exit.cause) as Error).message)
        }
      }
      delivery.running = false
      if (this.state.deliveries.get(delivery.key) === delivery) this.state.deliveries.delete(delivery.key)
    })
  }

  /** Reports a message that could not be delivered; a sync request gets an error response. */
  private undeliverable(message: Message.Message, destination: string, reason: string): Effect.Effect<void> {
    return Effect.gen({ self: this }, function* () {
      yield* this.state.report({
        _tag: "Undeliverable",
        peer: this.peer,
        msgId: message.header.id,
        destination,
        reason
      })
      if (!message.header.sync) return
      const error = yield* Message.newErrorResponse(message, reason)
      if (!this.state.forwardResponse(error, destination)) this.sendResponse(error, destination)
    })
  }

  private collectBatch(): Uint8Array | undefined {
    const receipt = this.receiptDue()
    if (this.responses.length === 0 && !this.endpointsReady() && !receipt) {
      if (!this.heartbeatDue) return undefined
      this.heartbeatDue = false
      return encodeBatch(this.options.framing, [heartbeatJson])
    }
    this.heartbeatDue = false
    const limit = this.options.batchBytes
    const jsons: Array<string> = []
    let bytes = 0
    if (receipt) {
      this.receiptedSeq = this.handledSeq
      jsons.push(receiptJson(this.handledSeq))
    }
    while (this.responses.length > 0 && bytes < limit) {
      const json = this.responses.shift() as string
      jsons.push(json)
      bytes += json.length
    }
    this.responseBytes -= bytes
    if (jsons.length > 0 && this.mayResume()) this.wakeReader?.()
    while (bytes < limit && this.readyEndpoints.size > 0 && !this.awaitingReceipts()) {
      const endpoint = this.readyEndpoints.values().next().value as RemoteEndpoint
      this.readyEndpoints.delete(endpoint)
      for (let n = 0; n < fairShare && bytes < limit && !this.awaitingReceipts(); n++) {
        const outgoing = endpoint.takeOutgoing()
        if (outgoing === undefined) break
        if (outgoing.message.header.sync) this.noteMulticast(outgoing.message, endpoint)
        const json = this.numbered(outgoing.json, outgoing.message, endpoint.module)
        jsons.push(json)
        bytes += json.length
      }
      // Still has messages (or senders admitted meanwhile): back to the end of the round.
      if (endpoint.queued > 0) this.readyEndpoints.add(endpoint)
    }
    return jsons.length === 0 ? undefined : encodeBatch(this.options.framing, jsons)
  }

  /** A one-way message's JSON with its number, kept until receipted, when receipts are on (R-SOCK-21). */
  private numbered(json: string, message: Message.Message, module: string): string {
    const key = this.options.receipts
    if (key === undefined || message.header.sync) return json
    const seq = this.state.receipts.nextSeq(key)
    this.unreceipted.push({ seq, peer: this.peer, module, message })
    return `${json.slice(0, -1)},"seq":${seq}}`
  }

  private noteMulticast(message: Message.Message, endpoint: RemoteEndpoint): void {
    const id = message.header.id
    let shared = false
    for (const other of this.endpoints.values()) {
      const copy = other === endpoint ? undefined : other.inflight.get(id)
      if (copy === undefined) continue
      // Pending calls have distinct ids: another request with this id belongs to a call that ended,
      // and must not make this call's answers look like answers to several modules.
      if (copy === message) shared = true
      else other.inflight.delete(id)
    }
    if (shared) this.multicast.add(id)
    else this.multicast.delete(id)
    // Requests never answered leave their ids here; forget those no endpoint keeps in flight any more.
    if (this.multicast.size > this.multicastPruneAt) {
      for (const known of this.multicast) if (!this.isInflight(known)) this.multicast.delete(known)
      this.multicastPruneAt = Math.max(firstMulticastPrune, this.multicast.size * 2)
    }
  }

  /**
   * Waits until there is something to write. A "later" wake-up is a scheduler task, so that the sends
   * of one turn are written together; a "now" wake-up (a waiting caller) resumes the writer at once.
   */
  private readonly awaitWork: Effect.Effect<void> = Effect.withFiber((fiber) =>
    Effect.callback<void>((resume) => {
      if (this.responses.length > 0 || this.endpointsReady() || this.receiptDue() || this.heartbeatDue) {
        resume(Effect.void)
        return
      }
      this.wakeWriter = (wake) => {
        this.wakeWriter = undefined
        if (wake === "now") resume(Effect.void)
        else fiber.currentDispatcher.scheduleTask(() => resume(Effect.void), 0)
      }
      return Effect.sync(() => {
        this.wakeWriter = undefined
      })
    })
  )

  /** Whether reading must pause: too much waits for delivery, or too much to be written as answers. */
  private mustPause(): boolean {
    const options = this.state.options
    return (
      this.backlog >= options.maxInboundBacklog ||
      this.backlogBytes >= options.maxInboundBacklogBytes ||
      this.responses.length >= options.maxQueuedResponses ||
      this.responseBytes >= options.maxQueuedResponseBytes
    )
  }

  /** Whether a paused reading may go on: both queues are down to half their limits, in count and size. */
  private mayResume(): boolean {
    const options = this.state.options
    return (
      this.backlog <= options.maxInboundBacklog / 2 &&
      this.backlogBytes <= options.maxInboundBacklogBytes / 2 &&
      this.responses.length <= options.maxQueuedResponses / 2 &&
      this.responseBytes <= options.maxQueuedResponseBytes / 2
    )
  }

  /** Waits until deliveries and the writer have brought both queues down to half their limits. */
  private readonly awaitRoom: Effect.Effect<void> = Effect.callback<void>((resume) => {
    if (this.mayResume()) {
      resume(Effect.void)
      return
    }
    this.wakeReader = () => {
      this.wakeReader = undefined
      resume(Effect.void)
    }
    return Effect.sync(() => {
      this.wakeReader = undefined
    })
  })
}
