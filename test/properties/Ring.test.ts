/**
 * The mailbox's ring buffer against an array (R-SEND-4, R-RECV-4): any mix of pushes at the back,
 * pushes at the front (a message given back) and shifts, across growth and wrap-around, keeps the
 * array's order.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Ring } from "../../src/effects/Ring.ts"
import { fcParams } from "../support/fc.ts"

// More in than out, so that the ring fills past its first sizes with its head anywhere.
const step = fc.oneof(
  { weight: 20, arbitrary: fc.record({ op: fc.constant("push" as const), value: fc.nat() }) },
  { weight: 10, arbitrary: fc.record({ op: fc.constant("unshift" as const), value: fc.nat() }) },
  { weight: 14, arbitrary: fc.record({ op: fc.constant("shift" as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("takeAll" as const) }) }
)

describe("Ring", () => {
  it("R-SEND-4 R-RECV-4 behaves as an array: push at the back, unshift at the front, shift and takeAll from the front", () =>
    fc.assert(
      fc.property(fc.array(step, { maxLength: 400, size: "max" }), (steps) => {
        const ring = new Ring<number>()
        const model: Array<number> = []
        for (const s of steps) {
          if (s.op === "push") {
            ring.push(s.value)
            model.push(s.value)
          } else if (s.op === "unshift") {
            ring.unshift(s.value)
            model.unshift(s.value)
          } else if (s.op === "shift") expect(ring.shift()).toBe(model.shift())
          else expect(ring.takeAll()).toEqual(model.splice(0))
          expect(ring.length).toBe(model.length)
        }
        expect(ring.takeAll()).toEqual(model)
      }),
      fcParams(300)
    ))
})
