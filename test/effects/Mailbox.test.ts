import { Exit } from "effect"
import { describe, expect, it } from "vitest"
import type { Cancel } from "../../src/effects/Arm.ts"
import { Mailbox } from "../../src/effects/Mailbox.ts"

const closed = () => "closed" as const
const mailbox = (capacity = 2, orphans: Array<string> = []) =>
  new Mailbox<string, "closed">(capacity, closed, (m) => orphans.push(m))
const record = () => {
  const outcomes: Array<Exit.Exit<unknown, unknown>> = []
  return { outcomes, settle: (exit: Exit.Exit<unknown, unknown>) => outcomes.push(exit) }
}

describe("Mailbox", () => {
  it("R-MOD-1 a mailbox needs a positive integer capacity", () => {
    expect(() => mailbox(0)).toThrow(RangeError)
    expect(() => mailbox(1.5)).toThrow(RangeError)
    expect(mailbox(1).capacity).toBe(1)
  })

  it("R-RECV-3 an offer hands the message to the oldest waiting receiver", () => {
    const box = mailbox()
    const first = record()
    const second = record()
    box.armTake()(first.settle)
    box.armTake()(second.settle)
    expect(box.waitingReceivers).toBe(2)
    expect(box.armOffer("a")(() => {})).toEqual(Exit.void)
    expect(first.outcomes).toEqual([Exit.succeed("a")])
    expect(second.outcomes).toEqual([])
    expect(box.size).toBe(0)
  })

  it("R-RECV-4 a receiver withdrawn after a hand-off gives the message back to the head or the next receiver", () => {
    const box = mailbox(1)
    const first = record()
    const cancelFirst = box.armTake()(first.settle) as Cancel
    box.armOffer("a")(() => {})
    box.armOffer("b")(() => {})
    cancelFirst()
    cancelFirst()
    expect(box.size).toBe(2)
    expect(box.armTake()(() => {})).toEqual(Exit.succeed("a"))
    const waiting = record()
    const handed = record()
    const cancelHanded = box.armTake()(handed.settle)
    expect(cancelHanded).toEqual(Exit.succeed("b"))
    const h = box.armTake()(handed.settle) as Cancel
    box.armTake()(waiting.settle)
    box.armOffer("c")(() => {})
    h()
    expect(waiting.outcomes).toEqual([Exit.succeed("c")])
  })

  it("R-RECV-4 a message given back after the mailbox closed goes to the orphan hook", () => {
    const orphans: Array<string> = []
    const box = mailbox(1, orphans)
    const cancel = box.armTake()(() => {}) as Cancel
    box.armOffer("a")(() => {})
    expect(box.close()).toEqual([])
    cancel()
    expect(orphans).toEqual(["a"])
  })

  it("R-SEND-2 a full mailbox queues offers and admits the oldest when a message is taken", () => {
    const box = mailbox(1)
    box.armOffer("a")(() => {})
    const b = record()
    const c = record()
    box.armOffer("b")(b.settle)
    box.armOffer("c")(c.settle)
    expect(box.waitingSenders).toBe(2)
    expect(box.armTake()(() => {})).toEqual(Exit.succeed("a"))
    expect(b.outcomes).toEqual([Exit.void])
    expect(c.outcomes).toEqual([])
    expect(box.size).toBe(1)
  })

  it("R-SEND-3 a withdrawn offer is never delivered", () => {
    const box = mailbox(1)
    box.armOffer("a")(() => {})
    const cancel = box.armOffer("b")(() => {}) as Cancel
    cancel()
    expect(box.waitingSenders).toBe(0)
    box.armTake()(() => {})
    expect(box.size).toBe(0)
  })

  it("R-SEND-2 an overfull mailbox (after a give-back) admits no sender until it is below capacity", () => {
    const box = mailbox(1)
    const cancel = box.armTake()(() => {}) as Cancel
    box.armOffer("a")(() => {})
    box.armOffer("b")(() => {})
    const c = record()
    box.armOffer("c")(c.settle)
    cancel()
    expect(box.size).toBe(2)
    box.armTake()(() => {})
    expect(c.outcomes).toEqual([])
    box.armTake()(() => {})
    expect(c.outcomes).toEqual([Exit.void])
  })

  it("R-CLEAN-3 R-CLEAN-4 close returns the buffer and fails every waiter; later operations fail at once", () => {
    const box = mailbox(1)
    const full = mailbox(1)
    const taker = record()
    box.armTake()(taker.settle)
    full.armOffer("x")(() => {})
    const offerer = record()
    full.armOffer("y")(offerer.settle)
    expect(box.close()).toEqual([])
    expect(full.close()).toEqual(["x"])
    expect(taker.outcomes).toEqual([Exit.fail("closed")])
    expect(offerer.outcomes).toEqual([Exit.fail("closed")])
    expect(full.close()).toEqual([])
    expect(full.armOffer("z")(() => {})).toEqual(Exit.fail("closed"))
    expect(full.armTake()(() => {})).toEqual(Exit.fail("closed"))
  })
})

describe("Mailbox fast paths and wake-ups", () => {
  it("R-MOD-1 a bad capacity is refused with a message naming it", () => {
    expect(() => mailbox(0)).toThrow("mailbox capacity must be a positive integer, got 0")
  })

  it("R-SEND-2 offerNow accepts at once when a receiver waits or there is room, and changes nothing otherwise", () => {
    const box = mailbox(1)
    const taker = record()
    box.armTake()(taker.settle)
    expect(box.offerNow("a")).toBe(true)
    expect(taker.outcomes).toEqual([Exit.succeed("a")])
    expect(box.size).toBe(0)
    expect(box.offerNow("b")).toBe(true)
    expect(box.size).toBe(1)
    expect(box.offerNow("c")).toBe(false)
    expect(box.size).toBe(1)
    expect(box.close()).toEqual(["b"])
    expect(box.offerNow("d")).toBe(false)
    expect(box.size).toBe(0)
  })

  it("R-RECV-3 a receiver handed a message is woken now, or from a scheduler task when the offer says later", () => {
    const box = mailbox(2)
    const now: Array<unknown> = []
    const later: Array<unknown> = []
    const settle = Object.assign((e: Exit.Exit<unknown, unknown>) => now.push(e), {
      later: (e: Exit.Exit<unknown, unknown>) => later.push(e)
    })
    box.armTake()(settle)
    box.offerNow("a", "later")
    expect([now, later]).toEqual([[], [Exit.succeed("a")]])
    box.armTake()(settle)
    box.offerNow("b", "now")
    expect([now, later]).toEqual([[Exit.succeed("b")], [Exit.succeed("a")]])
    box.armTake()(settle)
    box.armOffer("c")(() => {})
    expect(now).toEqual([Exit.succeed("b"), Exit.succeed("c")])
    // A receiver that cannot be woken later is woken now.
    const plain = record()
    box.armTake()(plain.settle)
    box.offerNow("d", "later")
    expect(plain.outcomes).toEqual([Exit.succeed("d")])
  })
})
