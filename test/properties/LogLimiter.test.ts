/**
 * The log's bound (R-SOCK-19) as a property: over any events of a few keys at any gaps, the limiter
 * logs at most `perWindow` lines per key and window, counts each line it held back once when it
 * reports them, and keeps a bounded number of windows.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { LogLimiter } from "../../src/contexts/socket/LogLimiter.ts"
import { fcParams } from "../support/fc.ts"

describe("R-SOCK-19 the log's bound", () => {
  it("per key and window at most perWindow lines; every line held back is counted once; memory bounded", () => {
    const event = fc.record({ key: fc.constantFrom("a", "b", "c", "d", "e"), gap: fc.nat({ max: 400 }) })
    fc.assert(
      fc.property(fc.array(event, { maxLength: 300 }), fc.integer({ min: 1, max: 5 }), (events, perWindow) => {
        const limiter = new LogLimiter(perWindow, 1000, 3)
        let now = 0
        const logged = new Map<string, Array<number>>()
        let held = 0
        let reported = 0
        for (const { key, gap } of events) {
          now += gap
          const admission = limiter.admit(key, now)
          reported += admission.suppressed
          if (admission.log) logged.set(key, [...(logged.get(key) ?? []), now])
          else held++
        }
        // Lines of one key within any 1000 ms window starting at a logged line: at most perWindow.
        for (const times of logged.values()) {
          for (const t of times)
            expect(times.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(2 * perWindow)
        }
        // Nothing held back is reported twice, or more than was held.
        expect(reported).toBeLessThanOrEqual(held)
        expect(Reflect.get(limiter, "windows").size).toBeLessThanOrEqual(3)
      }),
      fcParams(300)
    )
  })
})
