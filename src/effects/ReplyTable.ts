/**
 * The pending-reply table: every `sendSync` slot and `sendToGroupSync` collector that waits for
 * responses, keyed by request id, which is the parent id responses carry.
 *
 * @since 0.1.0
 * @internal
 */
import type { Message } from "../model/Message.ts"
import { GroupCollector } from "./GroupCollector.ts"
import type { ReplySlot } from "./ReplySlot.ts"

/** A call waiting for responses. @category models */
export type PendingCall<E> = ReplySlot<E> | GroupCollector

/**
 * Pending calls by request id.
 *
 * @category models
 */
export class ReplyTable<E> {
  private readonly calls = new Map<string, PendingCall<E>>()

  /** Number of pending calls. */
  get size(): number {
    return this.calls.size
  }

  /** Ids of the pending calls, oldest first. */
  ids(): Array<string> {
    return [...this.calls.keys()]
  }

  /** Registers a call; false (and nothing changes) when a call with that id is pending. */
  add(call: PendingCall<E>): boolean {
    if (this.calls.has(call.id)) return false
    this.calls.set(call.id, call)
    return true
  }

  /** Unregisters a call, if it is still the one registered under its id. */
  remove(call: PendingCall<E>): void {
    if (this.calls.get(call.id) === call) this.calls.delete(call.id)
  }

  /** The call waiting for request `id`, if any. */
  get(id: string): PendingCall<E> | undefined {
    return this.calls.get(id)
  }

  /**
   * Hands a response to the call waiting for its parent id. True when the call took it as an answer;
   * false when nobody waits, the call is over, or the answer is uninvited.
   */
  route(response: Message, from: string | undefined): boolean {
    const call = this.calls.get(response.header.parentId)
    if (call === undefined) return false
    return call instanceof GroupCollector ? call.deliver(response, from) : call.deliver(response)
  }

  /** Every pending call, oldest first. */
  all(): Array<PendingCall<E>> {
    return [...this.calls.values()]
  }
}
