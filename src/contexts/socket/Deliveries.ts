/**
 * The delivery in this process of what one connection reads (R-SOCK-8, R-SOCK-10): every message that
 * is not a response goes to its `route.destination` with `send`.
 *
 * - Messages are delivered in arrival order per destination, by a delivery fiber per destination, so a
 *   full mailbox holds up neither the responses behind it nor the other destinations.
 * - A delivery fiber that has delivered everything waits for its destination's next message, up to
 *   `maxParkedDeliveries` of them per context; any other ends, and the next message starts a new one.
 *   A steady stream of requests is then delivered without a fiber forked for each.
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
import { Effect, type Exit, MutableList } from "effect"
import { ModuleNotFound } from "../../model/Errors.ts"
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
  /** Whether a fiber drains it (or is about to start), or waits for its next message. */
  running: boolean
  /** Resumes its fiber while that waits for the next message (parked). */
  parked: ((effect: Effect.Effect<boolean>) => void) | undefined
  /** Whether a connection is to resume its parked fiber (it is in that connection's `idleDeliveries`). */
  waking: boolean
}

/**
 * How many delivery fibers of one socket context may wait for their destination's next message at a
 * time. Each costs a fiber and its queue, about 2.7 KB. Past this, a delivery fiber that has delivered
 * everything ends: the fibers of peer modules that are gone, or of a peer naming ever new destinations,
 * would otherwise wait until the context ends, as many as there were.
 *
 * @category constants
 */
export const maxParkedDeliveries = 64

const woken = Effect.succeed(true)
const notParked = Effect.succeed(false)

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
  /** Deliveries that got messages in the current read and have no delivery fiber yet, or a parked one. */
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
      delivery = { key, destination, queue: MutableList.make(), running: false, parked: undefined, waking: false }
      this.state.deliveries.set(key, delivery)
    }
    MutableList.append(delivery.queue, { message, from: this, bytes })
    this.backlog.queued(bytes)
    if (!delivery.running) {
      delivery.running = true
      this.idleDeliveries.push(delivery)
    } else if (delivery.parked !== undefined && !delivery.waking) {
      delivery.waking = true
      this.idleDeliveries.push(delivery)
    }
    if (forgotten === undefined || forgotten.length === 0) return undefined
    return Effect.forEach(
      forgotten,
      ({ id, link }) => this.state.report({ _tag: "RequestForgotten", peer: link.peer, msgId: id }),
      { discard: true }
    )
  }

  /** Whether `start` has fibers to start or resume: most reads of a client bring only responses. */
  get hasIdle(): boolean {
    return this.idleDeliveries.length > 0
  }

  /**
   * Starts a delivery fiber for each destination that got messages in this read and had none running,
   * and resumes those parked: at once, no scheduler hop between a request and its delivery.
   * Uninterruptible: once taken from `idleDeliveries`, every one gets its fiber.
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
    if (!delivery.waking)
      return Effect.forkIn(Deliveries.drain(this.state, delivery), this.state.scope, { startImmediately: true })
    delivery.waking = false
    const parked = delivery.parked
    // No longer parked: a stop cut its wait, and the fiber reports what the queue holds (`reportLeft`).
    if (parked === undefined) return Effect.void
    delivery.parked = undefined
    this.state.parkedDeliveries--
    parked(woken)
    return Effect.void
  }

  // A delivery fiber's code is static: the fiber serves a peer module's connections one after another,
  // and, parked, would otherwise hold the one that started it (and all that connection holds) for as
  // long as it waits. Its generator function is made once: a new generator function per fiber cost V8
  // a prototype object and an initial map for its first generator, a slow path that took about a fifth
  // of the serving process's CPU per sendSync.
  // Only the waits for room and for the next message can be cut by a stop, so each message is taken,
  // offered and (refused) reported in steps no stop lands between; once a stop came, every later wait
  // is cut at once and its message reported, and `reportLeft` reports what arrives after. The mask is
  // the loop's, not each message's: one per message cost a sixth of the one-way rate across processes.
  private static drain(state: SocketState, delivery: Delivery): Effect.Effect<void> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.gen(() => Deliveries.drainSteps(state, delivery, restore))
    ).pipe(Effect.onInterrupt(() => Deliveries.reportLeft(state, delivery)))
  }

  // It may deliver messages of other (older or newer) connections of the same peer module: each is
  // accounted to, and refused on behalf of, the connection it came on. A cut wait is reported unless
  // the module admitted the message as it was cut (R-SEND-3). The wait for the next message is the
  // other place a stop can cut: the stop then reports what arrived meanwhile (`reportLeft`). What the
  // last message left in the frame is cleared before that wait: nothing of it (nor of the connection
  // it came on) stays reachable from a parked fiber.
  private static *drainSteps(state: SocketState, delivery: Delivery, restore: Restore) {
    const offer = { admitted: false }
    const admitted = () => {
      offer.admitted = true
    }
    const destination = delivery.destination
    let item: QueuedMessage | undefined
    let exit: Exit.Exit<void, unknown> | undefined
    // Whether the last message found no module of its destination here: then no fiber waits for more.
    let noModule = false
    while (true) {
      while (delivery.queue.length > 0) {
        item = MutableList.take(delivery.queue) as QueuedMessage
        item.from.backlog.taken(item.bytes)
        offer.admitted = false
        exit = yield* Effect.exit(restore(state.deliver(destination, item.message, admitted)))
        const refused = undelivered(exit, offer.admitted)
        noModule = refused?.error instanceof ModuleNotFound
        if (refused !== undefined) yield* item.from.undeliverable(item.message, destination, refused.reason)
      }
      item = undefined
      exit = undefined
      if (!(yield* restore(Deliveries.park(state, delivery, noModule)))) return
    }
  }

  // True once there is a message to deliver; false at once when `maxParkedDeliveries` wait already, or
  // its destination is no module here (`noModule`: a peer naming ever new destinations, as long as a
  // frame, would otherwise keep that many names; until a property sent to such destinations, it did),
  // and the delivery is then forgotten (only its fiber removes its key, and only here: it still maps
  // to this delivery). All of it is decided as the wait is registered, in the step that finds the queue
  // empty: a fiber can be preempted between two steps, and a message queued in between, while this
  // fiber still counted as draining, would wake nobody, or be left in a delivery no fiber drains
  // (until a property with preemption past the bound found it, ParkedDeliveriesBound). Resumed by
  // `fork`; the canceller runs when a stop cuts the wait.
  private static park(state: SocketState, delivery: Delivery, noModule: boolean): Effect.Effect<boolean> {
    return Effect.callback<boolean>((resume) => {
      if (delivery.queue.length > 0) return resume(woken)
      if (noModule || state.parkedDeliveries >= maxParkedDeliveries) {
        state.deliveries.delete(delivery.key)
        return resume(notParked)
      }
      delivery.parked = resume
      state.parkedDeliveries++
      return Effect.sync(() => {
        if (delivery.parked !== resume) return
        delivery.parked = undefined
        state.parkedDeliveries--
      })
    })
  }

  /**
   * The context's end, after every connection and delivery fiber has ended: what a delivery still holds
   * is reported (R-SOCK-10). Only a delivery whose fiber never started holds any: one forked as the
   * context's scope closed (a link's end starts what its last read brought), which Effect leaves
   * unstarted. Until a property found it, that was lost unreported, though receipted.
   */
  static reportAbandoned(state: SocketState): Effect.Effect<void> {
    return Effect.suspend(() =>
      Effect.forEach([...state.deliveries.values()], (delivery) => Deliveries.reportLeft(state, delivery), {
        discard: true
      })
    )
  }

  /**
   * The delivery fiber was stopped (its context's scope ended): what it had not offered yet is reported
   * now (R-SOCK-10, R-SOCK-21), never dropped in silence (until a property with fibers yielding every
   * few operations found it, a process ending while deliveries waited lost them unreported, though its
   * receipts had covered them). A message whose offer the stop cut is reported by `drainSteps`, unless
   * it was admitted as it was cut.
   */
  private static reportLeft(state: SocketState, delivery: Delivery): Effect.Effect<void> {
    return Effect.suspend(() => {
      const left: Array<QueuedMessage> = []
      while (delivery.queue.length > 0) {
        const item = MutableList.take(delivery.queue) as QueuedMessage
        item.from.backlog.taken(item.bytes)
        left.push(item)
      }
      if (state.deliveries.get(delivery.key) === delivery) state.deliveries.delete(delivery.key)
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
      this.state.refuseCopy(error, this.link, destination)
    })
  }
}
