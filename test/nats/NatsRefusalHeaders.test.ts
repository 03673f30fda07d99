/**
 * Refusals carry their reason in a header (R-NATS-6): a response whose content JSON cannot carry is
 * replaced by an empty message whose `Beehive-Undeliverable` header says why, and the reason names
 * the place in the content, whatever its keys hold. A NATS header value cannot hold a line break, and
 * the client refuses to publish one that does: the call then waited for its deadline.
 */
import { Effect, Exit } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { ResponseErrorOperation } from "../../src/model/Constants.ts"
import * as Message from "../../src/model/Message.ts"
import { fcParams } from "../support/fc.ts"
import { pair } from "./support.ts"

/** Keys of every kind: line breaks and other control characters among them. */
const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.string({ unit: fc.constantFrom("a", "\r", "\n", "\r\n", "\u0000", "\u2028", "é", ":"), maxLength: 6 })
)

describe("R-NATS-6 refusals of responses JSON cannot carry", () => {
  it(
    "R-NATS-6 R-JSON-3 a response whose content JSON cannot carry, at a key of any text, reaches its caller at once as an error response naming the reason; nothing is refused by the client",
    () =>
      fc.assert(
        fc.asyncProperty(fc.array(key, { minLength: 1, maxLength: 3 }), (keys) =>
          Effect.runPromise(
            Effect.scoped(
              Effect.gen(function* () {
                const { A, B } = yield* pair
                for (const [i, k] of keys.entries()) {
                  yield* Effect.forkScoped(
                    Effect.gen(function* () {
                      const request = yield* A.beehive.receive("a1")
                      return yield* A.beehive.sendResp(yield* Message.newResponse(request, { [k]: 1n }), "a1")
                    })
                  )
                  // The deadline is a bound for failures: an answer comes at once or not at all.
                  const call = yield* Effect.exit(
                    B.beehive.sendSync("a1", Message.make({ header: { id: `q${i}` }, content: "x" }), 10_000)
                  )
                  expect(Exit.isSuccess(call), `call ${i}: ${Exit.isFailure(call) ? String(call.cause) : ""}`).toBe(
                    true
                  )
                  if (Exit.isSuccess(call)) {
                    expect(call.value.route.operation).toBe(ResponseErrorOperation)
                    expect(String(call.value.content)).toContain("response not encodable")
                  }
                }
                expect([...A.events, ...B.events].filter((e) => e._tag === "PublishFailed")).toEqual([])
              })
            )
          )
        ),
        fcParams(15)
      ),
    300_000
  )
})
