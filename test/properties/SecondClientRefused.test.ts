/**
 * Later clients of a module (one, or several at once), in the process whose first client holds it,
 * refused by the server (`takeover: "first"`) while the server sends to the module (R-SOCK-21,
 * R-SOCK-6): what the server sends is received by the first client, or reported, never dropped in
 * silence; what the first client read while the later ones' handshakes waited is not lost. The
 * messages go out from a fiber of their own, a few yields apart, as the later clients connect.
 */
import { Effect, Exit, Fiber, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { connectAndClose, run, sendCounted, serverAndFirstClient, slowRetry, waitSettled } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"

const address = unix("/second-client-refused/server.sock")

describe("R-SOCK-21 a second client refused while the server sends", () => {
  it(
    "R-SOCK-21 R-SOCK-6 property: later clients of a module (one, or several at once) refused by the server while the server sends to the module leave every message received by the first client, or reported, never dropped in silence",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.record({
            count: fc.integer({ min: 1, max: 12 }),
            gap: fc.nat(6),
            // When each later client connects, in yields after the messages began: one or more at once.
            newcomers: fc.array(fc.nat(20), { minLength: 1, maxLength: 3 })
          }),
          (script) =>
            run(
              Effect.gen(function* () {
                const { serverScope, s, c, received } = yield* serverAndFirstClient(address, { takeover: "first" })
                const accepted: Array<string> = []
                const sending = yield* Effect.forkChild(sendCounted(s, "X", "m", script.count, accepted, script.gap))
                // Refused: the first client holds the module. Each one's scope ends with its refusal.
                yield* Effect.forEach(
                  script.newcomers,
                  (after) =>
                    Effect.gen(function* () {
                      for (let i = 0; i < after; i++) yield* Effect.yieldNow
                      yield* connectAndClose(c, { module: "X", address, backoff: slowRetry, maxAttempts: 1 })
                    }),
                  { concurrency: "unbounded", discard: true }
                )
                yield* Fiber.join(sending)
                yield* waitSettled(accepted, received, s, c)
                yield* Scope.close(serverScope, Exit.void)
                expect(accepted.length).toBe(script.count)
              })
            )
        ),
        fcParams(200)
      ),
    120_000
  )
})
