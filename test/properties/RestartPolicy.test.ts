/**
 * R-REG-3, R-REG-4 and R-REG-5 as a property, on the virtual clock: a module's `start` ends each time
 * as a script says (success, failure, defect) under a generated restart policy, and the keeper must
 * start it exactly when SPEC.md says, as the module, call the error handler once with the right
 * error when the restart limit is reached, and never fail itself. The oracle is SPEC.md's wording,
 * restated here: no policy, one start; "OnFailure" stops at the first success; `retries = N > 0`
 * allows N restarts; before each restart the keeper sleeps the interval (1 s when ≤ 0), which then
 * grows by R-REG-4 (`rate ≤ 1`: unchanged; limit 0: 30 s; at the limit: unchanged; else
 * `min(interval × rate, limit)`). The registry's stop (`stopping`, after a number of starts or at a
 * moment, even while the keeper sleeps before a restart) ends the restarts too, and so does a start
 * that ended interrupted. Every start that fails or dies is logged as a warning naming the module, and
 * so is the limit (R-REG-5).
 */
import { Effect, Exit, Logger } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { keepModule, type RestartPolicy } from "../../src/contexts/RestartPolicy.ts"
import { CurrentModule } from "../../src/effects/CurrentModule.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import { fcParams } from "../support/fc.ts"

type Outcome = "success" | "failure" | "defect" | "interrupted"

interface Expected {
  readonly startsAt: ReadonlyArray<number>
  /** The error handler's one call, with what it gets; undefined: not called. */
  readonly handled: { readonly error: unknown } | undefined
}

/**
 * What SPEC.md says the keeper does with this policy and these outcomes, the registry stopping after
 * `cap` starts or at `stopAt` ms, whichever comes first.
 */
const expected = (
  policy: RestartPolicy | undefined,
  script: ReadonlyArray<Outcome>,
  cap: number,
  stopAt: number
): Expected => {
  if (policy === undefined) return { startsAt: [0], handled: undefined }
  const retries = policy.retries ?? 0
  const limitMs = (policy.intervalLimitSeconds ?? 0) === 0 ? 30_000 : (policy.intervalLimitSeconds as number) * 1000
  const rate = policy.intervalGrowthRate ?? 0
  let interval = (policy.intervalSeconds ?? 0) > 0 ? (policy.intervalSeconds as number) * 1000 : 1000
  const startsAt: Array<number> = []
  let now = 0
  for (let start = 0; ; start++) {
    startsAt.push(now)
    const outcome = script[start % script.length] as Outcome
    if (outcome === "interrupted") return { startsAt, handled: undefined }
    if (outcome === "success" && policy.type === "OnFailure") return { startsAt, handled: undefined }
    const restarts = start + 1
    if (retries > 0 && restarts > retries)
      return { startsAt, handled: { error: outcome === "success" ? undefined : `${outcome} ${start}` } }
    if (startsAt.length >= cap || now >= stopAt) return { startsAt, handled: undefined }
    now += interval
    // Woken for the restart, the keeper finds the registry stopped meanwhile.
    if (now >= stopAt) return { startsAt, handled: undefined }
    interval = rate <= 1 || interval === limitMs ? interval : Math.min(interval * rate, limitMs)
  }
}

const arbPolicy: fc.Arbitrary<RestartPolicy | undefined> = fc.option(
  fc.record(
    {
      type: fc.constantFrom("Always" as const, "OnFailure" as const),
      retries: fc.integer({ min: 0, max: 5 }),
      intervalSeconds: fc.integer({ min: -1, max: 4 }),
      intervalGrowthRate: fc.constantFrom(0, 1, 1.5, 2, 3),
      intervalLimitSeconds: fc.constantFrom(0, 2, 5, 10, 40)
    },
    { requiredKeys: ["type"] }
  ),
  { freq: 6, nil: undefined }
)

describe("R-REG restart policies on the virtual clock", () => {
  it("R-REG-3 R-REG-4 R-REG-5 the keeper starts a module when and as often as its policy says, as the module, and reports the limit once", () =>
    fc.assert(
      fc.property(
        arbPolicy,
        fc.array(
          fc.oneof(
            { arbitrary: fc.constantFrom<Outcome>("success", "failure", "defect"), weight: 8 },
            { arbitrary: fc.constant<Outcome>("interrupted"), weight: 1 }
          ),
          { minLength: 1, maxLength: 8 }
        ),
        fc.integer({ min: 1, max: 12 }),
        // When the registry stops, in ms (at most the longest run's span: else never).
        fc.integer({ min: 0, max: 200_000 }),
        (policy, script, cap, stopAt) => {
          const sim = new SimRuntime()
          const starts: Array<{ readonly at: number; readonly as: string | undefined }> = []
          const handled: Array<unknown> = []
          const start = Effect.gen(function* () {
            const index = starts.length
            starts.push({ at: sim.now, as: yield* CurrentModule })
            const outcome = script[index % script.length] as Outcome
            if (outcome === "failure") return yield* Effect.fail(`failure ${index}`)
            if (outcome === "defect") return yield* Effect.die(`defect ${index}`)
            if (outcome === "interrupted") return yield* Effect.interrupt
            return "done"
          })
          const withHandler =
            policy === undefined
              ? undefined
              : { ...policy, errorHandler: (error: unknown) => Effect.sync(() => void handled.push(error)) }
          const logged: Array<{ readonly level: string; readonly message: string }> = []
          const logger = Logger.make(({ logLevel, message }) => {
            logged.push({ level: logLevel, message: [message].flat().map(String).join(" ") })
          })
          const keeper = sim.fork(
            keepModule("m", start, withHandler, () => starts.length >= cap || sim.now >= stopAt).pipe(
              Effect.provide(Logger.layer([logger], { mergeWithExisting: false }))
            )
          )
          // Time moves a millisecond at a time, so that every start is seen at its instant.
          sim.settle()
          for (let ms = 0; keeper.pollUnsafe() === undefined && ms < 10 * 60_000; ms++) sim.advanceBy(1)
          const exit = keeper.pollUnsafe()
          const want = expected(policy, script, cap, stopAt)
          expect(exit !== undefined && Exit.isSuccess(exit), "the keeper ends, and never fails (R-REG-5)").toBe(true)
          expect(starts.map((s) => s.at)).toEqual(want.startsAt)
          expect(
            starts.every((s) => s.as === "m"),
            "every start runs as the module"
          ).toBe(true)
          expect(handled).toEqual(want.handled === undefined ? [] : [want.handled.error])
          // Every start that failed or died is logged as a warning naming the module; the only other
          // warning is the restart limit's.
          const failedStarts = starts.filter((_, i) =>
            ["failure", "defect"].includes(script[i % script.length] as Outcome)
          ).length
          expect(logged.filter((l) => l.level === "Warn" && l.message.includes("module m start failed"))).toHaveLength(
            failedStarts
          )
          expect(logged.filter((l) => l.level === "Warn" || l.level === "Error")).toHaveLength(
            failedStarts + (want.handled === undefined ? 0 : 1)
          )
        }
      ),
      fcParams(300)
    ))
})
