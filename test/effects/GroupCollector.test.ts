import { Exit } from "effect"
import { describe, expect, it } from "vitest"
import { GroupCollector } from "../../src/effects/GroupCollector.ts"
import { ReplySlot } from "../../src/effects/ReplySlot.ts"
import { ReplyTable } from "../../src/effects/ReplyTable.ts"
import { BeehiveShutdown } from "../../src/model/Errors.ts"
import { msg } from "../support/messages.ts"

const outcome = (c: GroupCollector) => {
  const r = c.arm(() => {})
  return typeof r === "function" ? undefined : r
}

describe("GroupCollector", () => {
  it("R-GSYNC-2 counts distinct members and completes with the last one", () => {
    const c = new GroupCollector("req", "g", ["a", "b"])
    expect(c.deliver(msg("1"), "a")).toBe(true)
    expect(outcome(c)).toBeUndefined()
    expect(c.deliver(msg("2"), "b")).toBe(true)
    const exit = outcome(c)
    expect(exit && Exit.isSuccess(exit) && [...exit.value.responses.keys()]).toEqual(["a", "b"])
    expect(c.deliver(msg("3"), "a")).toBe(false)
    expect(c.isOpen).toBe(false)
  })

  it("R-GSYNC-5 a gone member that answers after all still counts; all gone ends at once", () => {
    const c = new GroupCollector("req", "g", ["a", "b", "c"])
    c.memberGone("b")
    expect(c.deliver(msg("1"), "b")).toBe(true)
    c.memberGone("b")
    c.memberGone("stranger")
    c.deliver(msg("2"), "a")
    c.deliver(msg("3"), "c")
    expect(outcome(c)?._tag).toBe("Success")
    const d = new GroupCollector("req", "g", ["a", "b"])
    d.memberGone("a")
    d.memberGone("b")
    expect(outcome(d)).toMatchObject({ _tag: "Failure" })
    expect(Exit.isFailure(outcome(d) as Exit.Exit<unknown, unknown>) && d.missing).toEqual(["a", "b"])
  })

  it("R-GSYNC-6 an unattributed answer stands for a missing member, also when another leaves", () => {
    const c = new GroupCollector("req", "g", ["a", "b"])
    expect(c.deliver(msg("1"), undefined)).toBe(true)
    c.memberGone("b")
    const exit = outcome(c)
    expect(exit && Exit.isFailure(exit) && exit.cause.reasons[0]).toMatchObject({
      error: { reason: "MemberGone", missing: ["b"] }
    })
  })

  it("R-GSYNC-4 expire is Timeout with the missing members; abort ends an open call only", () => {
    const c = new GroupCollector("req", "g", ["a", "b"])
    c.deliver(msg("1"), "b")
    const timeout = c.expire()
    expect(Exit.isFailure(timeout) && timeout.cause.reasons[0]).toMatchObject({
      error: { reason: "Timeout", missing: ["a"], responded: ["b"] }
    })
    expect(c.expire()).toBe(timeout)
    expect(c.abort(Exit.fail(new BeehiveShutdown({ operation: "x" })))).toBe(false)
    expect(c.deliver(msg("2"), "a")).toBe(false)
  })

  it("R-RESP-1 the reply table routes by parent id and refuses duplicate ids", () => {
    const table = new ReplyTable<never>()
    const slot = new ReplySlot<never>("req", "m")
    expect(table.add(slot)).toBe(true)
    expect(table.add(new ReplySlot<never>("req", "other"))).toBe(false)
    const resp = msg("resp", "x", { header: { parentId: "req" } })
    expect(table.route(msg("stray", 1, { header: { parentId: "nobody" } }), undefined)).toBe(false)
    expect(table.route(resp, undefined)).toBe(true)
    expect(table.route(resp, undefined)).toBe(false)
    table.remove(new ReplySlot<never>("req", "m"))
    expect(table.ids()).toEqual(["req"])
    table.remove(slot)
    expect(table.size).toBe(0)
    slot.close()
    expect(slot.fail(undefined as never)).toBe(false)
  })
})
