/**
 * The interruption sweep of the properties that interrupt an operation at any of its steps: the
 * operation runs in a fiber of its own that yields every `opsBeforeYield` operations, and the
 * interruption comes after `after` yields of the caller's fiber; together, as they range, they land
 * it between any two of the operation's steps.
 */
import { Effect, Fiber, References } from "effect"
import fc from "fast-check"

/**
 * The budgets a sweep draws from: at least 3, as in effect 4.1.0 a fiber whose budget is 1 or 2
 * spends it on the yield itself and never runs an operation (measured: none in 200 ms).
 */
export const arbOpsBeforeYield: fc.Arbitrary<number> = fc.integer({ min: 3, max: 7 })

/**
 * The fields of a script that closes an operation at any of its first 40 of the caller's yields, the
 * operation's fiber yielding every `opsBeforeYield` operations: spread into the script's record.
 */
export const closedAtAnyStep = { closeAfter: fc.nat(40), opsBeforeYield: arbOpsBeforeYield }

/** Runs `effect` yielding every `opsBeforeYield` operations, interrupted after `after` yields of the caller's; returns once it has ended. */
export const interruptedAfter = <A, E>(
  effect: Effect.Effect<A, E>,
  after: number,
  opsBeforeYield: number
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(
      effect.pipe(Effect.provideService(References.MaxOpsBeforeYield, opsBeforeYield))
    )
    for (let i = 0; i < after; i++) yield* Effect.yieldNow
    yield* Fiber.interrupt(fiber)
  })
