import { Exit } from "effect"
import { describe, expect, it } from "vitest"
import type { Cancel } from "../../src/effects/Arm.ts"
import { GroupCollector } from "../../src/effects/GroupCollector.ts"
import { ReplySlot } from "../../src/effects/ReplySlot.ts"
import { msg } from "../support/messages.ts"

const recorder = () => {
  const outcomes: Array<unknown> = []
  return { outcomes, settle: (exit: Exit.Exit<unknown, unknown>) => outcomes.push(exit) }
}

describe("ReplySlot", () => {
  it("R-SYNC-4 a slot keeps the first response, whether or not the caller waits yet", () => {
    const slot = new ReplySlot<string>("req", "m")
    expect(slot.deliver(msg("early"))).toBe(true)
    expect(slot.isOpen).toBe(false)
    expect(slot.deliver(msg("second"))).toBe(false)
    expect(slot.fail("late")).toBe(false)
    expect(slot.arm(() => {})).toEqual(Exit.succeed(msg("early")))
  })

  it("R-SYNC-4 R-SYNC-5 a closed slot (the caller has decided) refuses every response", () => {
    const slot = new ReplySlot<string>("req", "m")
    const caller = recorder()
    slot.arm(caller.settle)
    slot.close()
    expect(slot.isOpen).toBe(false)
    expect(slot.deliver(msg("late"))).toBe(false)
    expect(slot.fail("late")).toBe(false)
    expect(caller.outcomes).toEqual([])
  })

  it("R-SYNC-6 a withdrawn wait is not woken; the response stays for the next wait", () => {
    const slot = new ReplySlot<string>("req", "m")
    const first = recorder()
    const cancel = slot.arm(first.settle) as Cancel
    cancel()
    expect(slot.deliver(msg("resp"))).toBe(true)
    expect(first.outcomes).toEqual([])
    expect(slot.arm(() => {})).toEqual(Exit.succeed(msg("resp")))
  })
})

describe("GroupCollector waits", () => {
  it("R-GSYNC-7 a withdrawn wait is not woken when the call completes later", () => {
    const c = new GroupCollector("req", "g", ["a"])
    const first = recorder()
    const cancel = c.arm(first.settle) as Cancel
    cancel()
    expect(c.deliver(msg("1"), "a")).toBe(true)
    expect(first.outcomes).toEqual([])
    const outcome = c.arm(() => {})
    expect(typeof outcome !== "function" && Exit.isSuccess(outcome)).toBe(true)
  })
})
