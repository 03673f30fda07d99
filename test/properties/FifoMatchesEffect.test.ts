/**
 * FIFO is Effect's own order (R-DET-4): fibers that never wait, each running steps of generated
 * lengths (some yielding on purpose), interleave under the controlled scheduler with the FIFO
 * strategy and no preemption exactly as under Effect's own scheduler, for any operation budget
 * (`References.MaxOpsBeforeYield`, or Effect's default when unset). The oracle is Effect's own
 * scheduler running the same program, never the controlled scheduler's code. (The deterministic
 * runtime runs every program on this scheduler, with its clock and ids provided around it.)
 */
import { Effect, Fiber, References } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { ControlledScheduler } from "../../src/effects/ControlledScheduler.ts"
import { fifo } from "../../src/effects/Strategy.ts"
import { fcParams } from "../support/fc.ts"

/** A step: `ops` operations that never wait, then (with `yields`) a yield of the fiber's own. */
interface Step {
  readonly ops: number
  readonly yields: boolean
}

const arbStep: fc.Arbitrary<Step> = fc.record({
  ops: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(1_000, 2_100)),
  yields: fc.boolean()
})

/** Forks one fiber per list of steps and logs `fiber.step` as each step ends; waits for them all. */
const program = (log: Array<string>, fibers: ReadonlyArray<ReadonlyArray<Step>>) =>
  Effect.gen(function* () {
    const forked = yield* Effect.forEach(fibers, (steps, f) =>
      Effect.forkChild(
        Effect.forEach(
          steps,
          (step, s) =>
            Effect.gen(function* () {
              for (let i = 0; i < step.ops; i++) yield* Effect.void
              log.push(`${f}.${s}`)
              if (step.yields) yield* Effect.yieldNow
            }),
          { discard: true }
        )
      )
    )
    yield* Fiber.joinAll(forked)
  })

describe("R-DET-4 FIFO is Effect's own order", () => {
  it("R-DET-4 R-DET-1 fibers that never wait interleave under the FIFO strategy without preemption exactly as under Effect's own scheduler, whatever the operation budget (References.MaxOpsBeforeYield, or none set)", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(arbStep, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 }),
        // From 3: with a budget of 2 or less Effect itself never gets past a yield (each resumption yields again).
        fc.option(fc.integer({ min: 3, max: 80 }), { nil: undefined }),
        async (fibers, budget) => {
          const withBudget = <A, E>(effect: Effect.Effect<A, E>) =>
            budget === undefined ? effect : Effect.provideService(effect, References.MaxOpsBeforeYield, budget)
          const effects: Array<string> = []
          await Effect.runPromise(withBudget(program(effects, fibers)))
          const controlled: Array<string> = []
          const scheduler = new ControlledScheduler(fifo)
          const fiber = Effect.runFork(withBudget(program(controlled, fibers)), { scheduler })
          scheduler.runUntilIdle(1_000_000)
          expect(fiber.pollUnsafe()?._tag, "the controlled run finished").toBe("Success")
          expect(controlled, "the controlled scheduler's order").toEqual(effects)
        }
      ),
      fcParams(200)
    ))
})
