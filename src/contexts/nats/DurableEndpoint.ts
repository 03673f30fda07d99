/**
 * The endpoint of a durable module (R-NATS-12) in every process that lists it: a remote module's
 * outbox (`RemoteEndpoint`, drained by the publisher, which stores its one-way messages in the stream),
 * and, in a process serving the module, a mailbox of what the consumer fetched and the sync requests
 * that arrived over core NATS. A fetched message is acknowledged to JetStream when it is handed to a
 * receive, not before: once the receive has kept it (after the current step), so that a message given
 * back to the mailbox (R-RECV-4) stays unacknowledged until it is handed out again.
 *
 * @since 0.3.0
 * @internal
 */
import type { JsMsg } from "@nats-io/jetstream"
import { Exit } from "effect"
import type { Arm } from "../../effects/Arm.ts"
import { Mailbox, type Wake } from "../../effects/Mailbox.ts"
import type { Wakeups } from "../../effects/Wakeups.ts"
import { ModuleClosed } from "../../model/Errors.ts"
import type { Message } from "../../model/Message.ts"
import { RemoteEndpoint } from "../socket/RemoteEndpoint.ts"
import { ContextTypeNats } from "./NatsOptions.ts"

/**
 * A durable module's endpoint; see the module documentation.
 *
 * @category models
 */
export class DurableEndpoint extends RemoteEndpoint {
  /** What the module's receivers take here: fetched messages and sync requests (served here only). */
  private readonly inbox: Mailbox<Message, ModuleClosed>
  /** The fetched messages in the mailbox, not yet handed to a receive. */
  private readonly held = new Map<Message, JsMsg>()
  /** Fetched messages handed to a receive, acknowledged once the current step is over. */
  private readonly handed = new Map<Message, JsMsg>()
  private ackScheduled = false
  /** Whether this process serves the module now (its sync requests then go to the mailbox). */
  served = false
  /** Called whenever the mailbox has room again (the fetching waits for it). */
  onRoom: () => void = () => {}

  /**
   * @param capacity the outbox's and the mailbox's capacity.
   * @param onOrphan receives a message handed to a receiver that was interrupted after the endpoint
   *   closed: a sync request, or a fetched message, acknowledged by the close (`unserve` acknowledges what
   *   was handed out, and gives back and forgets what the mailbox holds, before the mailbox closes).
   */
  constructor(
    module: string,
    capacity: number,
    maxPayload: number,
    isPending: (requestId: string) => boolean,
    onClose: (endpoint: RemoteEndpoint) => void,
    onOrphan: (message: Message) => void,
    onRegistered: (endpoint: RemoteEndpoint) => void = () => {}
  ) {
    super(module, capacity, maxPayload, isPending, onClose, ContextTypeNats, onRegistered)
    this.inbox = new Mailbox<Message, ModuleClosed>(capacity, () => new ModuleClosed({ module }), onOrphan)
  }

  override get queued(): number {
    return super.queued + this.inbox.size
  }

  override get waitingReceivers(): number {
    return this.inbox.waitingReceivers
  }

  /** Room in the mailbox for fetched messages. */
  get room(): number {
    return Math.max(0, this.inbox.capacity - this.inbox.size)
  }

  /** Fetched messages in the mailbox (the heartbeat tells JetStream they are in progress). */
  get heldMessages(): Iterable<JsMsg> {
    return this.held.values()
  }

  // A sync request to a module served here goes to its mailbox (R-NATS-12); the rest to the outbox.
  override offerNow(message: Message, wake?: Wake): boolean {
    if (this.served && message.header.sync && this.isOpen) return this.inbox.offerNow(message, wake)
    return super.offerNow(message, wake)
  }

  override armOffer(message: Message, wake?: Wake): Arm<void, ModuleClosed> {
    if (this.served && message.header.sync && this.isOpen) return this.inbox.armOffer(message, wake)
    return super.armOffer(message, wake)
  }

  /** Puts a message the consumer fetched in the mailbox; false if it has no room (or is closed). */
  offerFetched(message: Message, js: JsMsg): boolean {
    this.held.set(message, js)
    if (this.inbox.offerNow(message, "later")) return true
    this.held.delete(message)
    return false
  }

  override takeNow(): Message | undefined {
    const message = this.inbox.takeNow()
    if (message !== undefined) this.handOut(message)
    return message
  }

  override armTake(): Arm<Message, ModuleClosed> {
    return (settle) => {
      // A waiting receiver handed a message and withdrawn before it resumed (interrupted) gives it back
      // through the mailbox's own canceller: taken back here first, it stays unacknowledged (R-RECV-4).
      // Withdrawn so, it was acknowledged at the end of the step while back in the mailbox (and then
      // taken for a sync request at a stop, or lost by a kill), until a property found it.
      let handed: Message | undefined
      const armed = this.inbox.armTake()((exit) => {
        if (Exit.isSuccess(exit)) {
          handed = exit.value
          this.handOut(exit.value)
        }
        settle(exit)
      })
      if (typeof armed !== "function") {
        if (Exit.isSuccess(armed)) this.handOut(armed.value)
        return armed
      }
      return () => {
        if (handed !== undefined) this.takeBack(handed)
        handed = undefined
        armed()
      }
    }
  }

  readonly giveBack = (message: Message): void => {
    this.takeBack(message)
    this.inbox.giveBack(message)
  }

  readonly giveBackAll = (messages: ReadonlyArray<Message>): void => {
    for (const message of messages) this.takeBack(message)
    this.inbox.giveBackAll(messages)
  }

  /**
   * Stops serving here: the fetched messages not yet received go back to JetStream, oldest first
   * (negative acknowledgements), and the sync requests in the mailbox are returned (to be answered).
   */
  unserve(): ReadonlyArray<Message> {
    this.served = false
    this.flushAcks()
    const requests: Array<Message> = []
    for (let m = this.inbox.takeNow(); m !== undefined; m = this.inbox.takeNow()) {
      const js = this.held.get(m)
      this.held.delete(m)
      if (js === undefined) requests.push(m)
      else js.nak()
    }
    return requests
  }

  override close(wakeups?: Wakeups): ReadonlyArray<Message> {
    if (!this.isOpen) return []
    const requests = this.unserve()
    this.inbox.close(wakeups)
    return [...super.close(wakeups), ...requests]
  }

  private handOut(message: Message): void {
    this.onRoom()
    const js = this.held.get(message)
    if (js === undefined) return
    this.held.delete(message)
    this.handed.set(message, js)
    if (!this.ackScheduled) {
      this.ackScheduled = true
      queueMicrotask(() => this.flushAcks())
    }
  }

  private takeBack(message: Message): void {
    const js = this.handed.get(message)
    if (js === undefined) return
    this.handed.delete(message)
    this.held.set(message, js)
  }

  /** Acknowledges the fetched messages handed to a receive that kept them. */
  private flushAcks(): void {
    this.ackScheduled = false
    for (const js of this.handed.values()) js.ack()
    this.handed.clear()
  }
}
