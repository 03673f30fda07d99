import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { SeqOp } from "../../spec/model/Sequential.ts"
import { checkLinearizable, type HistoryEntry } from "./harness/Linearizability.ts"
import { checkScenarios } from "./harness/ScenarioProperty.ts"

const module = fc.constantFrom("a", "b")
let ids = 0
const op: fc.Arbitrary<SeqOp> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({ _tag: fc.constant("AddModule" as const), module, capacity: fc.integer({ min: 1, max: 2 }) })
  },
  {
    weight: 4,
    arbitrary: fc.record({ _tag: fc.constant("Send" as const), module, id: fc.constant("").map(() => `x${++ids}`) })
  },
  { weight: 4, arbitrary: fc.record({ _tag: fc.constant("Receive" as const), module }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("Cleanup" as const), module }) }
)
// Ids must be unique within a history; they are renumbered so that shrinking keeps them unique.
const renumber = (input: { prefix: Array<SeqOp>; branches: Array<Array<SeqOp>> }) => {
  let n = 0
  const fix = (o: SeqOp): SeqOp => (o._tag === "Send" ? { ...o, id: `x${++n}` } : o)
  return { prefix: input.prefix.map(fix), branches: input.branches.map((b) => b.map(fix)) }
}

describe("concurrency mode", () => {
  it(
    "R-SEND-2 R-RECV-2 R-CLEAN-2 R-MOD-2 prefix + concurrent branches: every recorded history is linearizable",
    () =>
      checkScenarios(
        "concurrent-branches",
        fc
          .record({
            prefix: fc
              .array(op, { maxLength: 4 })
              .map((p) => [
                { _tag: "AddModule" as const, module: "a", capacity: 2 },
                { _tag: "AddModule" as const, module: "b", capacity: 1 },
                ...p
              ]),
            branches: fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { minLength: 2, maxLength: 3 })
          })
          .map(renumber),
        { runs: 300 }
      ),
    120_000
  )

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
