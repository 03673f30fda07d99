/**
 * The endpoint of a module served in another process: a bounded outbox of encoded messages that the
 * connection's writer drains. It keeps the channel context's rules for senders (capacity, waiting
 * senders admitted first come first served, withdrawal on interruption, `ModuleClosed` on cleanup),
 * and adds what a connection needs:
 *
 * - A message is encoded before it is offered (`refuse`), so a content JSON cannot carry, or one larger
 *   than a frame, fails the sender with `MessageEncodeError` instead of being dropped later; on the
 *   wire `route.destination` names the module it was sent to (the peer routes by it, as Go's does).
 * - Sync requests written and not yet answered are kept (`inflight`): when the module goes away (its
 *   peer disconnected, or a cleanup), they are returned by `close` with the messages never written, so
 *   the global context fails their `sendSync` calls at once with `RequestDropped`.
 * - Its messages are received in its own process: `receive` here finds nothing and waits until the
 *   module is cleaned up (then `ModuleClosed`).
 *
 * @since 0.1.0
 * @internal
 */
import { Exit, type Result } from "effect"
import type { Arm, Settle } from "../../effects/Arm.ts"
import { Mailbox, type Wake } from "../../effects/Mailbox.ts"
import { type Wakeups, wakeNowOr } from "../../effects/Wakeups.ts"
import { ContextTypeSocket } from "../../model/Constants.ts"
import { MessageEncodeError, ModuleClosed } from "../../model/Errors.ts"
import type { Message } from "../../model/Message.ts"
import { encodeJsonResult } from "../../model/MessageJson.ts"
import type { Endpoint } from "../ModuleContext.ts"
import { oversizeBytes } from "./FrameCodec.ts"

/** A message and its wire JSON. @category models */
export interface Outgoing {
  readonly message: Message
  readonly json: string
  /** The connection the JSON was made for (undefined: none was bound yet). */
  readonly link: EndpointLink | undefined
}

/**
 * What an endpoint needs from the connection it is bound to.
 *
 * @category models
 */
export interface EndpointLink {
  /**
   * The endpoint has messages to write: "later" with whatever else is offered in the same turn, "now"
   * at once (a sync request: its caller waits for the answer, as a caller in the peer waits for an
   * answer written back).
   */
  readonly ready: (endpoint: RemoteEndpoint, wake: Wake) => void
  /** The endpoint was closed (its module cleaned up). */
  readonly detach: (endpoint: RemoteEndpoint) => void
  /**
   * A message's JSON as the connection writes it, when it is not the message as sent (a Go peer's is
   * stamped, R-SOCK-32): the size checked is the size written.
   */
  readonly wireJson?: ((message: Message, module: string) => Result.Result<string, MessageEncodeError>) | undefined
  /** The largest JSON the connection writes, when smaller than the endpoint's own limit (R-SOCK-30). */
  readonly maxJsonBytes?: number | undefined
  /** The bytes a one-way message's receipt number may add to its JSON (R-SOCK-21). */
  readonly numberBytes?: number | undefined
}

/**
 * How soon a message offered is written: a sync request at once, since its caller waits (one caller's
 * round trip across processes 8.0 → 9.3 k/s over a unix socket, measured); a one-way message with the
 * turn's other sends, so that a stream of them is written in batches.
 */
const writeWake = (message: Message): Wake => (message.header.sync ? "now" : "later")

/** In-flight requests kept before the first pruning of requests whose calls have ended. */
const firstPrune = 1024

/**
 * A remote module's endpoint; see the module documentation.
 *
 * @category models
 */
export class RemoteEndpoint implements Endpoint {
  readonly module: string
  readonly contextType: string
  /** Sync requests written and not answered, by id. */
  readonly inflight = new Map<string, Message>()
  private readonly outbox: Mailbox<Outgoing, ModuleClosed>
  private readonly maxFrameBytes: number
  private readonly isPending: (requestId: string) => boolean
  private readonly onClose: (endpoint: RemoteEndpoint) => void
  private readonly onRegistered: (endpoint: RemoteEndpoint) => void
  private readonly receivers = new Set<Settle<Message, ModuleClosed>>()
  private link: EndpointLink | undefined = undefined
  private pruneAt = firstPrune
  private open = true
  private lastMessage: Message | undefined = undefined
  private lastOutgoing: Outgoing | undefined = undefined
  private lastLink: EndpointLink | undefined = undefined

  /**
   * @param capacity the outbox capacity, a positive integer (a `RangeError` otherwise).
   * @param isPending whether a synchronous call with that request id still waits in the global
   *   context, to tell in-flight requests whose calls still wait from those whose calls ended.
   * @param onClose called once when the endpoint closes.
   * @param contextType the context type it reports (the NATS context reuses this endpoint).
   * @param onRegistered called when the global context registers the endpoint as its module's.
   */
  constructor(
    module: string,
    capacity: number,
    maxFrameBytes: number,
    isPending: (requestId: string) => boolean,
    onClose: (endpoint: RemoteEndpoint) => void,
    contextType: string = ContextTypeSocket,
    onRegistered: (endpoint: RemoteEndpoint) => void = () => {}
  ) {
    this.module = module
    this.contextType = contextType
    this.maxFrameBytes = maxFrameBytes
    this.isPending = isPending
    this.onClose = onClose
    this.onRegistered = onRegistered
    this.outbox = new Mailbox<Outgoing, ModuleClosed>(capacity, () => new ModuleClosed({ module }))
  }

  get queued(): number {
    return this.outbox.size
  }

  /** The messages in the outbox, still to write or publish (a durable module's `queued` also counts its mailbox). */
  get outgoing(): number {
    return this.outbox.size
  }

  get waitingReceivers(): number {
    return this.receivers.size
  }

  get waitingSenders(): number {
    return this.outbox.waitingSenders
  }

  registered(): void {
    this.onRegistered(this)
  }

  /** False once closed. */
  get isOpen(): boolean {
    return this.open
  }

  /** The connection the endpoint writes to, if bound. */
  get boundLink(): EndpointLink | undefined {
    return this.link
  }

  /** Binds the endpoint to a connection; what is queued is written from now on. */
  bind(link: EndpointLink): void {
    this.link = link
    link.ready(this, "later")
  }

  refuse(message: Message): MessageEncodeError | undefined {
    const prepared = this.prepare(message)
    return prepared instanceof MessageEncodeError ? prepared : undefined
  }

  offerNow(message: Message, wake: Wake = "now"): boolean {
    if (!this.outbox.offerNow(this.prepareOrDefer(message), wake)) return false
    this.link?.ready(this, writeWake(message))
    return true
  }

  /**
   * Offers a message to the outbox, waiting while it is full. `wake` is how a sender admitted after
   * waiting resumes (see `Wake`): "later" (a send) lets the writer that made room go on taking (a
   * whole batch in one run) instead of running the sender inline at every message it takes, to fill
   * the one free place and wait again, a wait per message; "now" (a sync request) resumes it at once.
   */
  armOffer(message: Message, wake: Wake = "now"): Arm<void, ModuleClosed> {
    return (settle) => {
      const armed = this.outbox.armOffer(this.prepareOrDefer(message), wake)(settle)
      if (typeof armed !== "function" && Exit.isSuccess(armed)) this.link?.ready(this, writeWake(message))
      return armed
    }
  }

  takeNow(): Message | undefined {
    return undefined
  }

  armTake(): Arm<Message, ModuleClosed> {
    return (settle) => {
      if (!this.open) return Exit.fail(new ModuleClosed({ module: this.module }))
      this.receivers.add(settle)
      return () => {
        this.receivers.delete(settle)
      }
    }
  }

  /**
   * The oldest message to write, recorded as in flight if it is a sync request. Admits the oldest
   * waiting sender.
   */
  takeOutgoing(): Outgoing | undefined {
    const outgoing = this.outbox.takeNow()
    if (outgoing?.message.header.sync) {
      this.inflight.set(outgoing.message.header.id, outgoing.message)
      if (this.inflight.size >= this.pruneAt) this.prune()
    }
    return outgoing
  }

  /** The peer answered request `id`; true if it was in flight here. */
  answered(id: string): boolean {
    return this.inflight.delete(id)
  }

  close(wakeups?: Wakeups): ReadonlyArray<Message> {
    if (!this.open) return []
    this.open = false
    const undelivered = this.outbox.close(wakeups).map((o) => o.message)
    for (const [id, request] of this.inflight) if (this.isPending(id)) undelivered.push(request)
    this.inflight.clear()
    const receivers = [...this.receivers]
    this.receivers.clear()
    for (const settle of receivers)
      wakeNowOr(wakeups, () => settle(Exit.fail(new ModuleClosed({ module: this.module }))))
    const link = this.link
    this.link = undefined
    link?.detach(this)
    this.onClose(this)
    return undelivered
  }

  /** Forgets in-flight requests whose calls have ended; amortized by doubling the threshold. */
  private prune(): void {
    for (const id of this.inflight.keys()) if (!this.isPending(id)) this.inflight.delete(id)
    this.pruneAt = Math.max(firstPrune, this.inflight.size * 2)
  }

  // A message checked against one connection and offered once the endpoint is bound to another (a
  // sendAll that waited meanwhile) is taken as it is: the writer checks it against the connection it
  // goes to, and reports it if it cannot be written there (R-SOCK-2).
  private prepareOrDefer(message: Message): Outgoing {
    const prepared = this.prepare(message)
    return prepared instanceof MessageEncodeError ? { message, json: "", link: undefined } : prepared
  }

  // The last message is kept encoded: `refuse` and the offer that follows it encode it once.
  private prepare(message: Message): Outgoing | MessageEncodeError {
    const link = this.link
    if (message === this.lastMessage && link === this.lastLink && this.lastOutgoing !== undefined)
      return this.lastOutgoing
    const json = link?.wireJson?.(message, this.module) ?? encodeJsonResult(message, this.module)
    if (json._tag === "Failure") return json.failure
    // JSON writes a lone surrogate as U+FFFD (UTF-8 cannot hold one, R-JSON-2): a request's answer
    // would name another id than its call's, and the call would wait out its deadline.
    if (message.header.sync && !message.header.id.isWellFormed())
      return new MessageEncodeError({
        path: "header.id",
        reason:
          "a sync request's id holding a lone surrogate: JSON writes it as U+FFFD, so no answer could name this call"
      })
    const limit =
      Math.min(this.maxFrameBytes, link?.maxJsonBytes ?? this.maxFrameBytes) -
      (message.header.sync ? 0 : (link?.numberBytes ?? 0))
    const oversize = oversizeBytes(json.success, limit)
    if (oversize !== undefined) {
      return new MessageEncodeError({
        path: "",
        reason: `message of ${oversize} bytes exceeds the frame limit of ${limit}`
      })
    }
    this.lastMessage = message
    this.lastLink = link
    this.lastOutgoing = { message, json: json.success, link }
    return this.lastOutgoing
  }
}
