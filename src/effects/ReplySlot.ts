/**
 * The reply slot of one `sendSync`: registered before the request is enqueued, it keeps the first
 * response that arrives whether or not the caller is already waiting, so a response can never be
 * lost to timing (Go's unbuffered reply channel drops it when the caller has not parked yet).
 *
 * @since 0.1.0
 * @internal
 */
import { Exit } from "effect"
import type { Message } from "../model/Message.ts"
import type { Arm, Settle } from "./Arm.ts"
import { type Wakeups, wakeNowOr } from "./Wakeups.ts"

/**
 * A one-shot slot for the response to request `id` sent to `module`.
 *
 * @category models
 */
export class ReplySlot<E> {
  readonly id: string
  readonly module: string
  private outcome: Exit.Exit<Message, E> | undefined = undefined
  private listener: Settle<Message, E> | undefined = undefined
  private closed = false

  constructor(id: string, module: string) {
    this.id = id
    this.module = module
  }

  /** The outcome, if it is there already (a response or a failure); the slot may be closed or open. */
  get settled(): Exit.Exit<Message, E> | undefined {
    return this.outcome
  }

  /** Whether the slot still takes a response. */
  get isOpen(): boolean {
    return !this.closed && this.outcome === undefined
  }

  /** Stores the response if the slot still takes one; true when it did. Never blocks. */
  deliver(response: Message): boolean {
    return this.complete(Exit.succeed(response))
  }

  /**
   * Ends the wait with a failure (the request was dropped, the context shut down); true if it did.
   * The waiting caller is woken at once, or through `wakeups`.
   */
  fail(error: E, wakeups?: Wakeups): boolean {
    return this.complete(Exit.fail(error), wakeups)
  }

  /** Refuses every later response: the caller has decided (timed out, failed, was interrupted). */
  close(): void {
    this.closed = true
  }

  /** Waits for the outcome; completes at once if it is already there. */
  readonly arm: Arm<Message, E> = (settle) => {
    if (this.outcome !== undefined) return this.outcome
    this.listener = settle
    return () => {
      this.listener = undefined
    }
  }

  private complete(outcome: Exit.Exit<Message, E>, wakeups?: Wakeups): boolean {
    if (!this.isOpen) return false
    this.outcome = outcome
    const listener = this.listener
    this.listener = undefined
    if (listener !== undefined) wakeNowOr(wakeups, () => listener(outcome))
    return true
  }
}
