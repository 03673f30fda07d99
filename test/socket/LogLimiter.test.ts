import { Effect, Logger } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { LogLimiter, peerHost } from "../../src/contexts/socket/LogLimiter.ts"
import { reportEvent, type SocketEvent } from "../../src/contexts/socket/SocketEvents.ts"
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

  it("a burst from one peer: perWindow lines, then one line with the count when the next window opens", () => {
    const limiter = new LogLimiter(10, 1000)
    const admitted = Array.from({ length: 1000 }, () => limiter.admit("Refused 10.0.0.5", 5))
    expect(admitted.filter((a) => a.log)).toHaveLength(10)
    expect(limiter.admit("Refused 10.0.0.5", 1005)).toEqual({ log: true, suppressed: 990 })
    expect(peerHost("10.0.0.5:41234")).toBe("10.0.0.5")
    expect(peerHost("[::1]:80")).toBe("::1")
    expect(peerHost("/run/b.sock (client)")).toBe("/run/b.sock (client)")
  })

  it("reportEvent hands every event to onEvent but writes a bounded number of warnings", async () => {
    const lines: Array<string> = []
    const seen: Array<SocketEvent> = []
    const limiter = new LogLimiter(10, 60_000)
    const program = Effect.forEach(
      Array.from({ length: 1000 }, (_, i) => i),
      (i) =>
        reportEvent(
          (e) => seen.push(e),
          { _tag: "Refused", peer: `10.0.0.5:${40000 + i}`, reason: "too many" },
          limiter
        ),
      { discard: true }
    )
    await Effect.runPromise(
      program.pipe(
        Effect.provide(
          Logger.layer([Logger.make(({ message }) => lines.push(String(message)))], { mergeWithExisting: false })
        )
      )
    )
    expect(seen).toHaveLength(1000)
    expect(lines).toHaveLength(10)
  })
})
