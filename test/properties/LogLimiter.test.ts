/**
 * The log's bound (R-SOCK-19) as a property: over any events of a few keys at any gaps, the limiter
 * logs at most `perWindow` lines per key and window, counts each line it held back once when it
 * reports them, and keeps a bounded number of windows. A peer's host, the key's other half, is what comes
 * before the port of `host:port` or inside the brackets of `[v6]:port`; any other peer text (a unix
 * path, an IPv6 address with no brackets) is its own host.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { LogLimiter, peerHost } from "../../src/contexts/socket/LogLimiter.ts"
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

  it("a peer's host is the host of host:port or [v6]:port, and any other peer text is its own host", () =>
    fc.assert(
      fc.property(
        fc.oneof(
          fc
            .tuple(fc.oneof(fc.ipV4(), fc.domain()), fc.integer({ min: 0, max: 65_535 }))
            .map(([host, port]) => ({ peer: `${host}:${port}`, host })),
          fc
            .tuple(fc.ipV6(), fc.integer({ min: 0, max: 65_535 }))
            .map(([v6, port]) => ({ peer: `[${v6}]:${port}`, host: v6 })),
          // No brackets around an IPv6 address: which colon begins a port cannot be told.
          fc
            .tuple(fc.ipV6(), fc.integer({ min: 0, max: 65_535 }))
            .map(([v6, port]) => ({ peer: `${v6}:${port}`, host: `${v6}:${port}` })),
          fc.tuple(fc.stringMatching(/^[a-z]{1,4}(:[a-z0-9]{1,3}){1,3}$/), fc.nat()).map(([text, port]) => ({
            peer: `${text}:${port}`,
            host: `${text}:${port}`
          })),
          fc.stringMatching(/^\/[a-z/]{0,12}( \(client\))?$/).map((path) => ({ peer: path, host: path }))
        ),
        ({ peer, host }) => {
          expect(peerHost(peer)).toBe(host)
        }
      ),
      fcParams(300)
    ))
})
