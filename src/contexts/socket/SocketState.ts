/**
 * The state one socket context shares between its servers, clients and connections: the host of the
 * global context it is plugged into, the remote endpoints it opened, the connections, and the sync requests
 * received from peers whose responses must go back to them. It also is the `ModuleContext` of type
 * "socket" that the global context routes remote modules to.
 *
 * @since 0.1.0
 * @internal
 */
import { Effect, type Scope } from "effect"
import { ContextTypeSocket } from "../../model/Constants.ts"
import type { Message } from "../../model/Message.ts"
import type { BeehiveService } from "../BeehiveService.ts"
import type { ContextHostService } from "../ContextHost.ts"
import type { ModuleContext } from "../ModuleContext.ts"
import { makePeerHeld, type PeerHeld } from "./Backlog.ts"
import type { Delivery } from "./Deliveries.ts"
import type { Link } from "./Link.ts"
import { LogLimiter } from "./LogLimiter.ts"
import { newIncarnation, ReceiptLedger, type Written } from "./Receipts.ts"
import { RemoteEndpoint } from "./RemoteEndpoint.ts"
import { reportEvent, type SocketEvent } from "./SocketEvents.ts"
import type { ResolvedSocketOptions } from "./SocketOptions.ts"

/** What `registerInbound` returns when it forgot nothing: most calls, allocating nothing. */
const nothingForgotten: ReadonlyArray<never> = []

/**
 * A copy of a request from a peer, owed an answer: the connection it came on, and the module it was
 * delivered to (a module sent two copies owes two). A response counts for the oldest copy its responder
 * owes, an unattributed one for the oldest copy.
 */
interface OwedCopy {
  readonly link: Link
  readonly destination: string
}

/**
 * A socket context's shared state; see the module documentation.
 *
 * @category models
 */
export class SocketState {
  readonly options: ResolvedSocketOptions
  /** The scope of the context: deliveries run in it, so they outlive the connection they came on. */
  readonly scope: Scope.Scope
  readonly links = new Set<Link>()
  /**
   * Messages from peers waiting for delivery, by peer module and destination. Kept here rather than
   * per connection so that a peer module's next connection queues behind what its ended one still
   * holds: one sender's messages keep their order across a reconnection (R-SOCK-8, R-SEND-4).
   */
  readonly deliveries = new Map<string, Delivery>()
  /** How many delivery fibers wait for their destination's next message (`maxParkedDeliveries`). */
  parkedDeliveries = 0
  /** What each peer module's connections hold for delivery here (R-SOCK-17), by peer module. */
  private readonly held = new Map<string, PeerHeld>()
  /** What this process wrote to and handled from each peer, for receipts (R-SOCK-21). */
  readonly receipts = new ReceiptLedger(newIncarnation())
  /** The global context: what arrives from peers is delivered through it. */
  readonly beehive: BeehiveService
  /** The global context's `onUndeliverable`: told of each one-way message a connection never wrote. */
  readonly onUndeliverable: (module: string, message: Message) => void
  /** Whether a synchronous call with that request id waits in the global context. */
  /** The host's `deliver`: `send`, telling when the module admits the message. */
  readonly deliver: ContextHostService["deliver"]
  readonly isPending: (requestId: string) => boolean
  private readonly endpoints = new Map<string, RemoteEndpoint>()
  private readonly bindings = new Map<string, Link>()
  /** The copies owed, by request id; `owedCopies` of them. */
  private readonly inbound = new Map<string, Array<OwedCopy>>()
  private owedCopies = 0
  /** The lengths of their ids, added up, a copy's each (`maxPendingRequestBytes`). */
  private owedBytes = 0
  /** The connections owed copies: those a full table forgets from. */
  private readonly owing = new Set<Link>()
  /** Numbers the requests as a connection comes to be owed them: the oldest of several is the lowest. */
  private owedSince = 0

  /**
   * The state of a socket context over the global context of `host`; `context` is still to be
   * plugged into it (`makeSocketContext` does).
   */
  constructor(options: ResolvedSocketOptions, scope: Scope.Scope, host: ContextHostService) {
    this.options = options
    this.scope = scope
    this.beehive = host.beehive
    this.deliver = host.deliver
    this.isPending = host.isPending
    this.onUndeliverable = host.onUndeliverable
  }

  /**
   * Reports one-way messages a peer never got (`Unsent`, and `onUndeliverable` with the message: never
   * written, or written and by its word never handled) or never said about (`InDoubt`), once each
   * (R-SOCK-11, R-SOCK-21).
   */
  readonly reportWritten = (
    written: ReadonlyArray<Pick<Written, "peer" | "module" | "message">>,
    kind: "Unsent" | "InDoubt"
  ): Effect.Effect<void> =>
    Effect.forEach(
      written,
      ({ peer, module, message }) =>
        Effect.andThen(
          kind === "Unsent" ? Effect.sync(() => this.onUndeliverable(module, message)) : Effect.void,
          this.report({ _tag: kind, peer, destination: module, msgId: message.header.id })
        ),
      { discard: true }
    )

  /**
   * Settles, at a handshake for `module` whose peer key is `key` (undefined: no receipts), what earlier
   * connections wrote and never had receipted: with the peer's word (`peerHandled`, the highest number
   * it handled, when it is the same run as before) the rest is unsent; what was written to other runs
   * of the peer, or to this one when it gives no word on this process, is in doubt (R-SOCK-21). Taken
   * from the ledger and reported in one uninterruptible step, so no report is lost in between.
   */
  readonly settleReceipts = (
    module: string,
    key: string | undefined,
    peerHandled: number | undefined
  ): Effect.Effect<void> =>
    Effect.uninterruptible(
      Effect.suspend(() => {
        const unsent = key !== undefined && peerHandled !== undefined ? this.receipts.settle(key, peerHandled) : []
        // The same run of the peer, giving no word on this one (it names no run, or another): what is
        // parked for it can no longer be settled, and is in doubt now rather than kept for a later
        // handshake (until a property drew such handshakes, it was kept, and grew at each one).
        const unsaid = key !== undefined && peerHandled === undefined ? this.receipts.settle(key, 0) : []
        const inDoubt = [...unsaid, ...this.receipts.abandon(module, key)]
        return unsent.length === 0 && inDoubt.length === 0
          ? Effect.void
          : Effect.andThen(this.reportWritten(unsent, "Unsent"), this.reportWritten(inDoubt, "InDoubt"))
      })
    )

  /** Reports an event. */
  // Bounds the warnings a peer can make this process write (R-SOCK-19); onEvent still sees every event.
  private readonly logLimiter = new LogLimiter()
  readonly report = (event: SocketEvent): Effect.Effect<void> =>
    reportEvent(this.options.onEvent, event, this.logLimiter)

  /** The "socket" context type. */
  readonly context: ModuleContext = {
    type: ContextTypeSocket,
    open: (module, options) =>
      Effect.sync(() => {
        const link = this.bindings.get(module)
        return new RemoteEndpoint(
          module,
          options.capacity,
          link?.maxFrameBytes ?? this.options.maxFrameBytes,
          (requestId) => this.isPending(requestId),
          (closed) => {
            if (this.endpoints.get(closed.module) === closed) this.endpoints.delete(closed.module)
          },
          ContextTypeSocket,
          // Known and bound once registered: racing callers may open several endpoints for one name,
          // and only the one registered is the module's (R-SOCK-7).
          (registered) => {
            this.endpoints.set(module, registered)
            this.bindings.get(module)?.bindEndpoint(registered)
          }
        )
      }),
    forwardResponse: (response, from) => this.forwardResponse(response, from)
  }

  /**
   * Registers a module served over `link` in the global context, as a "socket" module. A module
   * declared with `addModule(name, { contextType: "socket" })` and not yet served is adopted. False
   * (with a `ModuleSkipped` event) when the name is taken otherwise.
   */
  readonly addRemoteModule = (link: Link, module: string): Effect.Effect<boolean> =>
    Effect.suspend(() => {
      const declared = this.endpoints.get(module)
      if (declared?.isOpen && declared.boundLink === undefined) {
        link.bindEndpoint(declared)
        return Effect.succeed(true)
      }
      this.bindings.set(module, link)
      return this.beehive.addModule(module, { contextType: ContextTypeSocket }).pipe(
        Effect.as(true),
        Effect.catch((error) =>
          Effect.as(this.report({ _tag: "ModuleSkipped", peer: link.peer, module, reason: error.message }), false)
        )
      )
    }).pipe(
      // In place before the binding is made, so that no interruption leaves it behind.
      Effect.ensuring(
        Effect.sync(() => {
          if (this.bindings.get(module) === link) this.bindings.delete(module)
        })
      )
    )

  /**
   * Remembers that a copy of request `id` came from `link` for `destination`, so its response goes back
   * there. Every copy counts against `maxPendingRequests`, another of a request owed already too, and
   * its id's length against `maxPendingRequestBytes`. Past either, requests are forgotten, as many as it
   * takes, each from the connection owed the most (copies, or past the bytes budget, bytes), this copy
   * counted for `link`: its oldest request, the copies of it that connection brought, or this copy when
   * `link` owes nothing else (then it is not remembered); among connections owed as much, the oldest
   * such request. So a connection owed no more than the others loses nothing to one that floods, nor
   * to an id longer than the whole budget. Returns them, each with its connection. (Until a
   * property drew peers reusing ids, copies of one id on one connection were never counted, and one id
   * on a second connection took the first one's place, so the answer owed to the first was written to
   * the second; until one drew long ids, a peer could make this process keep `maxPendingRequests` ids
   * as long as a frame; until one drew a peer flooding another's share, the oldest requests were
   * forgotten whoever sent them.)
   */
  registerInbound(
    id: string,
    link: Link,
    destination: string
  ): ReadonlyArray<{ readonly id: string; readonly link: Link }> {
    let forgotten: Array<{ readonly id: string; readonly link: Link }> | undefined
    const { maxPendingRequests, maxPendingRequestBytes } = this.options
    while (true) {
      const byCopies = this.owedCopies >= maxPendingRequests
      if (!byCopies && this.owedBytes + id.length <= maxPendingRequestBytes) break
      const from = this.mostOwed(byCopies, link, byCopies ? 1 : id.length)
      forgotten ??= []
      if (from.inboundIds.size === 0) {
        // `link`, owing nothing but this copy: it is the one forgotten.
        forgotten.push({ id, link })
        return forgotten
      }
      const oldest = from.inboundIds.keys().next().value as string
      this.forgetFrom(from, oldest)
      forgotten.push({ id: oldest, link: from })
    }
    const known = this.inbound.get(id)
    if (known !== undefined) known.push({ link, destination })
    else this.inbound.set(id, [{ link, destination }])
    this.owedCopies++
    this.owedBytes += id.length
    link.owedCopies++
    link.owedBytes += id.length
    if (!link.inboundIds.has(id)) link.inboundIds.set(id, this.owedSince++)
    this.owing.add(link)
    return forgotten ?? nothingForgotten
  }

  /**
   * The connection owed the most copies (or bytes), `link` with `incoming` more for the copy it brings;
   * among those owed as much, the one owed the oldest request (the copy it brings is the newest).
   */
  private mostOwed(byCopies: boolean, link: Link, incoming: number): Link {
    let most = link
    let mostOwed = (byCopies ? link.owedCopies : link.owedBytes) + incoming
    let oldest = link.inboundIds.size === 0 ? this.owedSince : (link.inboundIds.values().next().value as number)
    for (const l of this.owing) {
      if (l === link) continue
      const owed = byCopies ? l.owedCopies : l.owedBytes
      const since = l.inboundIds.values().next().value as number
      if (owed > mostOwed || (owed === mostOwed && since < oldest)) {
        most = l
        mostOwed = owed
        oldest = since
      }
    }
    return most
  }

  /** Forgets the copies of request `id` that `link` brought. */
  private forgetFrom(link: Link, id: string): void {
    const copies = this.inbound.get(id) as Array<OwedCopy>
    const kept = copies.filter((c) => c.link !== link)
    const gone = copies.length - kept.length
    this.owedCopies -= gone
    this.owedBytes -= gone * id.length
    link.owedCopies -= gone
    link.owedBytes -= gone * id.length
    link.inboundIds.delete(id)
    if (link.owedCopies === 0) this.owing.delete(link)
    if (kept.length === 0) this.inbound.delete(id)
    else this.inbound.set(id, kept)
  }

  /**
   * What the connections of peer module `module` hold for delivery here, shared by them. Kept for good:
   * one per module a server accepts or a client connects as, all named by this process's configuration,
   * so a connection that reads on after it ended never counts where no other connection sees it.
   */
  heldFor(module: string): PeerHeld {
    const known = this.held.get(module)
    if (known !== undefined) return known
    const held = makePeerHeld()
    this.held.set(module, held)
    return held
  }

  /** Messages read from peers and not yet taken for delivery, over every peer module. */
  get heldForDelivery(): number {
    let messages = 0
    for (const held of this.held.values()) messages += held.messages
    return messages
  }

  /** Copies of sync requests from peers still owed an answer: what `maxPendingRequests` bounds. */
  get pendingRequests(): number {
    return this.owedCopies
  }

  /** Forgets the copies that came from a closed link. */
  forgetLink(link: Link): void {
    for (const id of [...link.inboundIds.keys()]) this.forgetFrom(link, id)
  }

  /**
   * Sends a response back to the peer its request came from; true if it was queued for writing. It
   * names its responder `from` only: an unattributed response is written without one, and the caller's
   * process, which knows where it wrote the request's copies, attributes it (R-SOCK-9). This process
   * cannot: the copies of one group call may be read one at a time, each answered (and forgotten) before
   * the next arrives, so those it still knows of need not be all it was sent. Every response is forwarded
   * (the caller's process decides which are uninvited); the request is forgotten once every copy
   * delivered has been answered.
   */
  forwardResponse(response: Message, from: string | undefined): boolean {
    const id = response.header.parentId
    const copies = this.inbound.get(id)
    if (copies === undefined) return false
    const counted = from === undefined ? 0 : copies.findIndex((c) => c.destination === from)
    // A responder owed no copy: its answer goes where the oldest copy came from, uncounted.
    const link = (copies[Math.max(counted, 0)] as OwedCopy).link
    if (counted >= 0) this.forgetCopy(id, copies, counted)
    return link.sendResponse(response, from)
  }

  /**
   * Answers with `error` the copy of its request that `link` brought for `destination`, which could not
   * be delivered (R-SOCK-10): that copy and no other, and over `link` even when it is not owed (a
   * request never remembered, as one without a destination). Until a property drew one id from two
   * connections, the first copy owed to the destination was taken, whichever connection it came on,
   * and the error went there.
   */
  refuseCopy(error: Message, link: Link, destination: string): void {
    const id = error.header.parentId
    const copies = this.inbound.get(id)
    const i = copies === undefined ? -1 : copies.findIndex((c) => c.link === link && c.destination === destination)
    if (copies !== undefined && i >= 0) this.forgetCopy(id, copies, i)
    link.sendResponse(error, destination)
  }

  /** Forgets copy `i` of request `id`, answered. */
  private forgetCopy(id: string, copies: Array<OwedCopy>, i: number): void {
    const [copy] = copies.splice(i, 1) as [OwedCopy]
    const link = copy.link
    this.owedCopies--
    this.owedBytes -= id.length
    link.owedCopies--
    link.owedBytes -= id.length
    if (copies.length === 0) this.inbound.delete(id)
    if (!copies.some((c) => c.link === link)) link.inboundIds.delete(id)
    if (link.owedCopies === 0) this.owing.delete(link)
  }
}
