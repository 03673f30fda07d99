import { Effect, Logger } from "effect"
import { describe, expect, it } from "vitest"
import { LogLimiter, peerHost } from "../../src/contexts/socket/LogLimiter.ts"
import { reportEvent, type SocketEvent } from "../../src/contexts/socket/SocketEvents.ts"

describe("R-SOCK-19 the log's bound", () => {
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
