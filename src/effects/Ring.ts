/**
 * A growable ring buffer: the mailbox's buffer. A message in and out costs no allocation (a linked
 * list of chunks allocated a chunk each time the mailbox emptied and filled again, which is every
 * message when a receiver keeps up), and the slots are allocated as the mailbox fills, not up to its
 * capacity at once (a capacity may be millions). It may hold more than any capacity: messages given
 * back to the head of a full mailbox (R-RECV-4, R-RECV-5).
 *
 * @since 0.3.0
 * @internal
 */

const initialSlots = 16

/**
 * A FIFO with pushes at the back and at the front.
 *
 * @category models
 */
export class Ring<A> {
  private slots: Array<A | undefined> = new Array(initialSlots)
  // slots.length is a power of two, so an index wraps with a mask.
  private mask = initialSlots - 1
  private head = 0
  private count = 0

  /** Number of elements. */
  get length(): number {
    return this.count
  }

  /** Adds `value` at the back. */
  push(value: A): void {
    if (this.count === this.slots.length) this.grow()
    this.slots[(this.head + this.count) & this.mask] = value
    this.count++
  }

  /** Adds `value` at the front. */
  unshift(value: A): void {
    if (this.count === this.slots.length) this.grow()
    this.head = (this.head - 1) & this.mask
    this.slots[this.head] = value
    this.count++
  }

  /** Removes and returns the front element; undefined when empty. */
  shift(): A | undefined {
    if (this.count === 0) return undefined
    const value = this.slots[this.head]
    this.slots[this.head] = undefined
    this.head = (this.head + 1) & this.mask
    this.count--
    return value
  }

  /** Removes every element and returns them, front first. */
  takeAll(): Array<A> {
    const out: Array<A> = new Array(this.count)
    for (let i = 0; i < out.length; i++) out[i] = this.shift() as A
    return out
  }

  private grow(): void {
    const old = this.slots
    const slots: Array<A | undefined> = new Array(old.length * 2)
    for (let i = 0; i < this.count; i++) slots[i] = old[(this.head + i) & this.mask]
    this.slots = slots
    this.mask = slots.length - 1
    this.head = 0
  }
}
