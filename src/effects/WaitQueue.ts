/**
 * A FIFO of waiters with O(1) removal from anywhere, so that a waiter that gives up (interrupted,
 * timed out) leaves at once instead of lingering until it reaches the head.
 *
 * @since 0.1.0
 * @internal
 */

/** A waiter's place in a `WaitQueue`. @category models */
export interface WaitNode<A> {
  readonly value: A
  prev: WaitNode<A> | undefined
  next: WaitNode<A> | undefined
  linked: boolean
}

/**
 * A doubly linked FIFO of waiters.
 *
 * @category models
 */
export class WaitQueue<A> {
  private head: WaitNode<A> | undefined = undefined
  private tail: WaitNode<A> | undefined = undefined
  private count = 0

  /** Number of waiters. */
  get length(): number {
    return this.count
  }

  /** Adds a waiter at the back and returns its node. */
  push(value: A): WaitNode<A> {
    const node: WaitNode<A> = { value, prev: this.tail, next: undefined, linked: true }
    if (this.tail === undefined) this.head = node
    else this.tail.next = node
    this.tail = node
    this.count++
    return node
  }

  /** Removes and returns the oldest waiter. */
  shift(): A | undefined {
    const node = this.head
    if (node === undefined) return undefined
    this.remove(node)
    return node.value
  }

  /** Removes a waiter wherever it is; does nothing if it already left. */
  remove(node: WaitNode<A>): void {
    if (!node.linked) return
    node.linked = false
    if (node.prev === undefined) this.head = node.next
    else node.prev.next = node.next
    if (node.next === undefined) this.tail = node.prev
    else node.next.prev = node.prev
    node.prev = undefined
    node.next = undefined
    this.count--
  }

  /** Removes every waiter and returns them, oldest first. */
  drain(): Array<A> {
    const out: Array<A> = []
    for (let v = this.shift(); v !== undefined; v = this.shift()) out.push(v)
    return out
  }
}
