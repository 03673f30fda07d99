/**
 * `Beehive.make`'s options (R-API-3) as a property: options written from untyped code, valid or with
 * one bad value anywhere, fail with `InvalidArgument` naming `Beehive.make` and the bad option, and
 * build a working context otherwise. SPEC's list: options that are not an object, a capacity that is
 * not an integer from 1 to 2^24, an `onUndeliverable` that is not a function.
 */
import { Effect, Exit } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { makeBeehive } from "../../src/contexts/Beehive.ts"
import * as Message from "../../src/model/Message.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"

type Verdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly argument: string | undefined; readonly says?: RegExp | undefined }

const arbValid = fc.record(
  {
    capacity: fc.integer({ min: 1, max: 2 ** 24 }),
    onUndeliverable: fc.constant(() => {}),
    metrics: fc.boolean()
  },
  { requiredKeys: [] }
)

/** A bad option, the argument the error names, and the words its reason must hold (what was expected). */
const arbBad: fc.Arbitrary<{
  readonly change: Record<string, unknown>
  readonly argument: string
  readonly says: RegExp
}> = fc.oneof(
  fc
    .constantFrom<unknown>(0, -1, 1.5, 2 ** 24 + 1, "10", Number.NaN, null)
    .map((capacity) => ({ change: { capacity }, argument: "capacity", says: /integer/ })),
  fc
    .constantFrom<unknown>("log", 1, {}, true, null)
    .map((onUndeliverable) => ({ change: { onUndeliverable }, argument: "onUndeliverable", says: /function/ }))
)

describe("R-API-3 Beehive.make's options", () => {
  it("R-API-3 options with one bad value fail with InvalidArgument naming Beehive.make and the option; valid ones make a working context", () =>
    fc.assert(
      fc.asyncProperty(
        fc.oneof(
          arbValid.map((options) => ({ options: options as unknown, verdict: { ok: true } as Verdict })),
          fc.tuple(arbValid, arbBad).map(([options, bad]) => ({
            options: { ...options, ...bad.change } as unknown,
            // null is the key left out only where SPEC says so; here it is a bad value.
            verdict: { ok: false, argument: bad.argument, says: bad.says } as Verdict
          })),
          fc
            .constantFrom<unknown>(null, 5, "options", [])
            .map((options) => ({ options, verdict: { ok: false, argument: undefined } as Verdict }))
        ),
        async ({ options, verdict }) => {
          const exit = await Effect.runPromise(
            Effect.exit(
              Effect.scoped(
                Effect.gen(function* () {
                  const b = yield* makeBeehive(options as never)
                  yield* b.addModule("m")
                  yield* b.send("m", Message.make({ header: { id: "one" } }))
                  return (yield* b.receive("m")).header.id
                })
              )
            )
          )
          if (verdict.ok) {
            expect(exit).toEqual(Exit.succeed("one"))
            return
          }
          const error = errorOf(exit)
          expect(error, JSON.stringify(options)).toMatchObject({ _tag: "InvalidArgument", operation: "Beehive.make" })
          if (verdict.argument !== undefined) expect(error).toMatchObject({ argument: verdict.argument })
          if (verdict.says !== undefined) expect((error as { reason?: string }).reason).toMatch(verdict.says)
        }
      ),
      fcParams(300)
    ))
})
