/**
 * The delivery in this process of what one connection reads (R-SOCK-8, R-SOCK-10): every message that
 * is not a response goes to its `route.destination` with `send`.
 *
 * - Messages are delivered in arrival order per destination, by a delivery fiber per destination, so a
 *   full mailbox holds up neither the responses behind it nor the other destinations.
 * - The queues are kept per peer module and destination across that peer module's connections
 *   (`SocketState.deliveries`), so what an ended connection still holds is delivered before what the
 *   next one brings. Each message stays counted in the backlog of the connection it came on until a
 *   delivery fiber takes it.
 * - From a Go client, a message addressed to the client's own module goes to the server's own module.
 * - A message that cannot be delivered (no destination, a module of the sender, no such module, module
 *   closed) is reported; if it was a sync request, the peer gets an error response at once instead of
 *   waiting for its deadline.
 *
 * @since 0.2.0
 * @internal
 */
import { Effect, MutableList } from "effect"
import * as Message from "../../model/Message.ts"
import { ProcessEndingReason } from "../ContextHost.ts"
import { undelivered } from "../Undelivered.ts"
import type { Backlog } from "./Backlog.ts"
import type { Link } from "./Link.ts"
import type { RemoteEndpoint } from "./RemoteEndpoint.ts"
import type { SocketState } from "./SocketState.ts"

/**
 * The messages from one peer module waiting for delivery to one destination, in arrival order, with
 * the deliveries of the connection each came on (for its backlog and its error response). Shared by
 * that peer module's successive connections (`SocketState.deliveries`).
 *
 * @category models
 */
export interface Delivery {
  readonly key: string
  readonly destination: string
  readonly queue: MutableList.MutableList<{
    readonly message: Message.Message
    readonly from: Deliveries
    readonly bytes: number
  }>
  /** Whether a fiber drains it (or is about to start). */
  running: boolean
}

/** What `Effect.uninterruptibleMask` hands its body: makes an effect interruptible again. */
type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/** A message waiting in a delivery's queue. */
type QueuedMessage = Delivery["queue"] extends MutableList.MutableList<infer A> ? A : never

/**
 * The deliveries of one connection; see the module documentation.
 *
 * @category models
 */
export class Deliveries {
  private readonly state: SocketState
  /** The connection the messages come on: sync requests are registered with it, and answered over it. */
  private readonly link: Link
  /** The remote modules bound to the connection: the sender's own, never a destination. */
  private readonly endpoints: ReadonlyMap<string, RemoteEndpoint>
  private readonly backlog: Backlog
  /** Deliveries that got messages in the current read and have no delivery fiber yet. */
  private idleDeliveries: Array<Delivery> = []

  constructor(state: SocketState, link: Link, endpoints: ReadonlyMap<string, RemoteEndpoint>, backlog: Backlog) {
    this.state = state
    this.link = link
    this.endpoints = endpoints
    this.backlog = backlog
  }

  /**
   * Queues a message for delivery in this process (its fiber started by `start`), or refuses it.
   * Returns the effect still to run, if any: the refusal, or the report of a request forgotten.
   */
  deliver(message: Message.Message, bytes: number): Effect.Effect<void> | undefined {
    const destination = this.destinationOf(message)
    if (destination === "") return this.undeliverable(message, destination, "the message has no destination")
    if (this.endpoints.has(destination)) {
      return this.undeliverable(message, destination, "the destination is a module of the sender")
    }
    const forgotten = message.header.sync
      ? this.state.registerInbound(message.header.id, this.link, destination)
      : undefined
    // Keyed by peer module, not by connection: a sender's messages that an ended connection still holds
    // go before those its process sends over the next one (R-SEND-4 across a reconnection).
    const key = `${this.link.options.module}\u0000${destination}`
    let delivery = this.state.deliveries.get(key)
    if (delivery === undefined) {
      delivery = { key, destination, queue: MutableList.make(), running: false }
      this.state.deliveries.set(key, delivery)
    }
    MutableList.append(delivery.queue, { message, from: this, bytes })
    this.backlog.queued(bytes)
    if (!delivery.running) {
      delivery.running = true
      this.idleDeliveries.push(delivery)
    }
    return forgotten === undefined
      ? undefined
      : this.state.report({ _tag: "RequestForgotten", peer: forgotten.link.peer, msgId: forgotten.id })
  }

  /** Whether `start` has fibers to start: most reads of a client bring only responses. */
  get hasIdle(): boolean {
    return this.idleDeliveries.length > 0
  }

  /**
   * Starts a delivery fiber for each destination that got messages in this read and had none running:
   * one fiber per destination and read, started at once (no scheduler hop between a request and its
   * delivery). Uninterruptible: once taken from `idleDeliveries`, every one gets its fiber.
   */
  readonly start: Effect.Effect<void> = Effect.uninterruptible(
    Effect.suspend(() => {
      if (this.idleDeliveries.length === 0) return Effect.void
      const starting = this.idleDeliveries
      this.idleDeliveries = []
      // One destination (a request, or a read for one module) is the usual case: its fork alone, without
      // the steps of a loop over one.
      if (starting.length === 1) return this.fork(starting[0] as Delivery)
      return Effect.forEach(starting, (delivery) => this.fork(delivery), { discard: true })
    })
  )

  private fork(delivery: Delivery): Effect.Effect<unknown> {
    return Effect.forkIn(this.drain(delivery), this.state.scope, { startImmediately: true })
  }

  // A fiber per destination and read (one per sync request), so its generator function is made once:
  // a new generator function per fiber cost V8 a prototype object and an initial map for its first
  // generator, a slow path that took about a fifth of the serving process's CPU per sendSync.
  // Only the waits for room can be cut by a stop, so each message is taken, offered and (refused)
  // reported in steps no stop lands between; once a stop came, every later wait is cut at once and
  // its message reported, and `reportLeft` reports what arrives after. The mask is the loop's, not
  // each message's: one per message cost a sixth of the one-way rate across processes.
  private drain(delivery: Delivery): Effect.Effect<void> {
    return Effect.uninterruptibleMask((restore) => Effect.gen(() => this.drainSteps(delivery, restore))).pipe(
      Effect.onInterrupt(() => this.reportLeft(delivery))
    )
  }

  // It may deliver messages of other (older or newer) connections of the same peer module: each is
  // accounted to, and refused on behalf of, the connection it came on. A cut wait is reported unless
  // the module admitted the message as it was cut (R-SEND-3).
  private *drainSteps(delivery: Delivery, restore: Restore) {
    const offer = { admitted: false }
    const admitted = () => {
      offer.admitted = true
    }
    const destination = delivery.destination
    while (delivery.queue.length > 0) {
      const item = MutableList.take(delivery.queue) as QueuedMessage
      item.from.backlog.taken(item.bytes)
      offer.admitted = false
      const exit = yield* Effect.exit(restore(this.state.deliver(destination, item.message, admitted)))
      const refused = undelivered(exit, offer.admitted)
      if (refused !== undefined) yield* item.from.undeliverable(item.message, destination, refused.reason)
    }
    // Only this fiber removes the key, and only here: it still maps to this delivery.
    this.state.deliveries.delete(delivery.key)
  }

  /**
   * The delivery fiber was stopped (its context's scope ended): what it had not offered yet is reported
   * now (R-SOCK-10, R-SOCK-21), never dropped in silence (until a property with fibers yielding every
   * few operations found it, a process ending while deliveries waited lost them unreported, though its
   * receipts had covered them). A message whose offer the stop cut is reported by `drainSteps`, unless
   * it was admitted as it was cut.
   */
  private reportLeft(delivery: Delivery): Effect.Effect<void> {
    return Effect.suspend(() => {
      const left: Array<QueuedMessage> = []
      while (delivery.queue.length > 0) {
        const item = MutableList.take(delivery.queue) as QueuedMessage
        item.from.backlog.taken(item.bytes)
        left.push(item)
      }
      if (this.state.deliveries.get(delivery.key) === delivery) this.state.deliveries.delete(delivery.key)
      return Effect.forEach(
        left,
        (item) => item.from.undeliverable(item.message, delivery.destination, ProcessEndingReason),
        { discard: true }
      )
    })
  }

  /**
   * Where a message goes: its destination; from a Go client, what it addressed to its own module (as
   * Go's `Send` and `SendSync` stamp every message) goes to the server's own module (R-SOCK-32).
   */
  private destinationOf(message: Message.Message): string {
    const destination = message.route.destination
    const { serverModule } = this.link.options
    return this.link.goClientModule !== undefined &&
      serverModule !== undefined &&
      destination === this.link.options.module
      ? serverModule
      : destination
  }

  /** Reports a message that could not be delivered; a sync request gets an error response. */
  private undeliverable(message: Message.Message, destination: string, reason: string): Effect.Effect<void> {
    return Effect.gen({ self: this }, function* () {
      yield* this.state.report({
        _tag: "Undeliverable",
        peer: this.link.peer,
        msgId: message.header.id,
        destination,
        reason
      })
      if (!message.header.sync) return
      const error = yield* Message.newErrorResponse(message, reason)
      if (!this.state.forwardResponse(error, destination)) this.link.sendResponse(error, destination)
    })
  }
}
