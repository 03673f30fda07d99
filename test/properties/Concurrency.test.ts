import { describe, expect, it } from "vitest"
import { checkLinearizable, type HistoryEntry } from "../../checker/harness/Linearizability.ts"

describe("concurrency mode", () => {
  it("R-SEND-4 the checker rejects a history no sequential order explains", () => {
    const send = (id: number, x: string, invoke: number, response: number): HistoryEntry => ({
      id,
      thread: `t${id}`,
      op: { _tag: "Send", module: "a", id: x },
      invoke,
      response,
      result: { _tag: "ok" }
    })
    const start = new Map([["a", { capacity: 5, queue: [] as Array<string> }]])
    const receive = (id: number, value: string, invoke: number, response: number): HistoryEntry => ({
      id,
      thread: "r",
      op: { _tag: "Receive", module: "a" },
      invoke,
      response,
      result: { _tag: "ok", value }
    })
    // x1 was sent entirely before x2, yet x2 was received first: not FIFO, not linearizable.
    expect(
      checkLinearizable(
        [send(0, "x1", 1, 2), send(1, "x2", 3, 4), receive(2, "x2", 5, 6), receive(3, "x1", 7, 8)],
        start
      ).ok
    ).toBe(false)
    // Overlapping sends may take effect in either order.
    expect(
      checkLinearizable(
        [send(0, "x1", 1, 4), send(1, "x2", 2, 3), receive(2, "x2", 5, 6), receive(3, "x1", 7, 8)],
        start
      ).ok
    ).toBe(true)
  })
})
