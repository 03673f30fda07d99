/**
 * A module's mailbox: a bounded FIFO of messages with FIFO queues of waiting receivers and waiting
 * senders, closed by `cleanup`.
 *
 * - A message offered while receivers wait is handed to the oldest receiver; so receivers are
 *   served in the order they started waiting, whatever the scheduler does afterwards.
 * - A sender that finds the mailbox full waits; when room frees up, the oldest waiting sender's
 *   message is moved in before anyone else can take the room.
 * - Closing hands back the buffered messages and fails every waiter with the closed error.
 *
 * Waking a waiter runs its fiber at once (Effect resumes callbacks inline), so every method brings
 * its own state to rest before it wakes anybody.
 *
 * @since 0.1.0
 * @internal
 */
import { Exit } from "effect"
import type { Arm, Cancel, Settle } from "./Arm.ts"
import { Ring } from "./Ring.ts"
import { type WaitNode, WaitQueue } from "./WaitQueue.ts"
import { type Wakeups, wakeNowOr } from "./Wakeups.ts"

interface Taker<A, E> {
  readonly settle: Settle<A, E>
  handed: boolean
  message: A | undefined
}

interface Offerer<A, E> {
  readonly message: A
  readonly settle: Settle<void, E>
  readonly wake: Wake
}

const exitVoid: Exit.Exit<void> = Exit.void

/**
 * How an offer wakes the fibers it completes: "now" runs them inline (a request whose sender will wait
 * for the answer), "later" from a scheduler task, so a stream of sends is batched. It is how a
 * receiver handed the message is woken, and how the offering fiber itself resumes when it waited for
 * room: admitted "later", it lets the receiver that made room go on taking (the mailbox empties in
 * one run of the receiver), instead of refilling the one free place and waiting again, a wait per
 * message. The message is admitted the moment room frees up either way (R-SEND-2).
 *
 * @category models
 */
export type Wake = "now" | "later"

/**
 * A bounded FIFO mailbox; see the module documentation.
 *
 * @category models
 */
export class Mailbox<A, E> {
  readonly capacity: number
  private readonly closedError: () => E
  private readonly onOrphan: (message: A) => void
  private readonly buffer = new Ring<A>()
  private readonly takers = new WaitQueue<Taker<A, E>>()
  private readonly offerers = new WaitQueue<Offerer<A, E>>()
  private open = true

  /**
   * @param capacity a positive integer.
   * @param closedError the failure of operations on a closed mailbox.
   * @param onOrphan receives a message handed to a receiver that was interrupted after the mailbox
   *   closed, the one case where it can return neither to the mailbox nor to a cleanup report.
   */
  constructor(capacity: number, closedError: () => E, onOrphan: (message: A) => void = () => {}) {
    if (!Number.isInteger(capacity) || capacity <= 0) {
      throw new RangeError(`mailbox capacity must be a positive integer, got ${capacity}`)
    }
    this.capacity = capacity
    this.closedError = closedError
    this.onOrphan = onOrphan
  }

  /** Messages waiting to be received. */
  get size(): number {
    return this.buffer.length
  }

  /** Receivers waiting for a message. */
  get waitingReceivers(): number {
    return this.takers.length
  }

  /** Senders waiting for room. */
  get waitingSenders(): number {
    return this.offerers.length
  }

  /**
   * Accepts a message at once if a receiver waits or there is room; false (and nothing changes) if
   * the mailbox is full or closed.
   */
  offerNow(message: A, wake: Wake = "now"): boolean {
    if (!this.open) return false
    if (this.handToTaker(message, wake)) return true
    if (this.buffer.length >= this.capacity) return false
    this.buffer.push(message)
    return true
  }

  /** Takes the oldest message at once, if there is one. */
  takeNow(): A | undefined {
    if (this.buffer.length === 0) return undefined
    const message = this.buffer.shift() as A
    this.admitOfferer()
    return message
  }

  /**
   * Offers a message: completes at once when a receiver waits or there is room, else waits for room.
   * Fails with the closed error if the mailbox is (or gets) closed first. Withdrawing the wait removes
   * the message; a message already moved in stays delivered.
   */
  armOffer(message: A, wake: Wake = "now"): Arm<void, E> {
    return (settle) => {
      if (!this.open) return Exit.fail(this.closedError())
      if (this.handToTaker(message, wake)) return exitVoid
      if (this.buffer.length < this.capacity) {
        this.buffer.push(message)
        return exitVoid
      }
      const node = this.offerers.push({ message, settle, wake })
      return () => this.offerers.remove(node)
    }
  }

  /**
   * Takes the oldest message: completes at once when one is buffered, else waits (behind earlier
   * receivers). Withdrawing the wait after a message was handed over gives the message back to the
   * head of the mailbox.
   */
  armTake(): Arm<A, E> {
    return (settle) => {
      const message = this.takeNow()
      if (message !== undefined) {
        if (settle.later === undefined) return Exit.succeed(message)
        // Completed at once, the wait would hand the message over in an operation after this one, and
        // a fiber stopped in between would lose it (R-RECV-4). Handed over as to a woken receiver, it
        // reaches the receiver in the first operation it runs, and a withdrawal before that gives it back.
        const taker: Taker<A, E> = { settle, handed: true, message }
        settle.later(Exit.succeed(message))
        return this.withdrawTake(taker, undefined)
      }
      if (!this.open) return Exit.fail(this.closedError())
      const taker: Taker<A, E> = { settle, handed: false, message: undefined }
      return this.withdrawTake(taker, this.takers.push(taker))
    }
  }

  private withdrawTake(taker: Taker<A, E>, node: WaitNode<Taker<A, E>> | undefined): Cancel {
    return () => {
      if (!taker.handed) {
        if (node !== undefined) this.takers.remove(node)
        return
      }
      const message = taker.message as A
      taker.message = undefined
      taker.handed = false
      if (message !== undefined) this.giveBack(message)
    }
  }

  /**
   * Closes the mailbox: returns the buffered messages, oldest first, and fails every waiting
   * receiver and sender with the closed error (at once, or through `wakeups`). Later offers and takes
   * fail at once. Returns `[]` when already closed.
   */
  close(wakeups?: Wakeups): Array<A> {
    if (!this.open) return []
    this.open = false
    const undelivered = this.buffer.takeAll()
    const waiting = [...this.takers.drain(), ...this.offerers.drain()]
    for (const w of waiting) wakeNowOr(wakeups, () => w.settle(Exit.fail(this.closedError())))
    return undelivered
  }

  private handToTaker(message: A, wake: Wake): boolean {
    const taker = this.takers.shift()
    if (taker === undefined) return false
    taker.handed = true
    taker.message = message
    const exit = Exit.succeed(message)
    if (wake === "later" && taker.settle.later !== undefined) taker.settle.later(exit)
    else taker.settle(exit)
    return true
  }

  /**
   * Takes back a message a receiver took and could not keep (it was stopped before the message reached
   * it): to a waiting receiver, else to the head of the mailbox (which may then briefly hold one message
   * more than its capacity), or to `onOrphan` once the mailbox is closed. Never blocks. A bound
   * function, so that a receive can pass it on without making one.
   */
  readonly giveBack = (message: A): void => {
    if (!this.open) {
      this.onOrphan(message)
      return
    }
    if (!this.handToTaker(message, "now")) this.buffer.unshift(message)
  }

  /**
   * Takes back messages a receiver took together (`takeNow` in a row) and could not keep: back to the
   * head of the line in their order, the oldest to the waiting receivers (oldest receiver first), the
   * rest to the head of the mailbox (which may then hold more than its capacity), or each to
   * `onOrphan` once the mailbox is closed. Never blocks. Receivers are woken from scheduler tasks, so
   * none runs (and sends or receives) before every message is back.
   */
  readonly giveBackAll = (messages: ReadonlyArray<A>): void => {
    if (!this.open) {
      for (const message of messages) this.onOrphan(message)
      return
    }
    let i = 0
    while (i < messages.length && this.handToTaker(messages[i] as A, "later")) i++
    for (let j = messages.length - 1; j >= i; j--) this.buffer.unshift(messages[j] as A)
  }

  private admitOfferer(): void {
    if (this.offerers.length === 0 || this.buffer.length >= this.capacity) return
    const offerer = this.offerers.shift()
    if (offerer === undefined) return
    this.buffer.push(offerer.message)
    if (offerer.wake === "later" && offerer.settle.later !== undefined) offerer.settle.later(exitVoid)
    else offerer.settle(exitVoid)
  }
}
