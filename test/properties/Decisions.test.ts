/**
 * The deterministic runtime's record (R-DET-1, R-DET-5) as properties: whatever a strategy answers
 * (a hand-edited counterexample can hold any number: negative, too large, fractional, NaN), a run
 * ends, every recorded choice is the index of a task that was ready, and replaying the recorded
 * decisions gives the same trace. A program that never stops running (fibers yielding to each other
 * forever, with a timer or without) ends at the step limit, reported as "StepLimit" with the steps it
 * took, under any strategy (R-DET-3); one in which nothing can run, no timer is set and the program has
 * not finished ends as "Deadlock", naming exactly the fibers still waiting (R-DET-3). And any failure is described in one line that names it: an
 * error's message, a tagged value's tag, a plain value's text.
 */
import { Cause, Clock, Data, Effect, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { describeCause, runDeterministic } from "../../src/effects/DeterministicRuntime.ts"
import { Livelock, SimRuntime } from "../../src/effects/SimRuntime.ts"
import { fifo, pct, random, replay, type Strategy } from "../../src/effects/Strategy.ts"
import { runScenario, type Scenario } from "../../src/testing/Scenario.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"

/** Fibers that each log `steps` entries, yielding in between: every choice point orders them. */
const program = (fibers: number, steps: number, trace: Array<string>) =>
  Effect.gen(function* () {
    const running = []
    for (let f = 0; f < fibers; f++) {
      running.push(
        yield* Effect.forkChild(
          Effect.gen(function* () {
            for (let s = 0; s < steps; s++) {
              trace.push(`${f}.${s}`)
              yield* Effect.yieldNow
            }
          })
        )
      )
    }
    yield* Fiber.joinAll(running)
  })

const anyNumber = fc.oneof(
  fc.integer({ min: -5, max: 8 }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 0.5, 2 ** 40)
)

describe("R-DET-1 the record of a run", () => {
  it("R-DET-1 R-DET-5 whatever a strategy answers, the run ends, each recorded choice is a ready task's index at a point where several were ready, and replaying the record (its preemptions included) gives the same trace", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(anyNumber, { maxLength: 30 }),
        // The operations at which the strategy preempts the running fiber, if any.
        fc.uniqueArray(fc.nat(60), { maxLength: 6 }),
        (fibers, steps, answers, preemptAt) => {
          let at = 0
          const erratic: Strategy = {
            name: "erratic",
            choose: () => answers[at++ % Math.max(1, answers.length)] ?? 0,
            preempt: (op) => preemptAt.includes(op)
          }
          const first: Array<string> = []
          const sim = new SimRuntime({ strategy: erratic })
          sim.run(program(fibers, steps, first))
          expect(first).toHaveLength(fibers * steps)
          const { choices, arities, preemptions } = sim.decisions()
          expect(choices).toHaveLength(arities.length)
          for (const [i, choice] of choices.entries()) {
            expect(Number.isInteger(choice), `choice ${i}: ${choice}`).toBe(true)
            expect(choice).toBeGreaterThanOrEqual(0)
            expect(choice).toBeLessThan(arities[i] as number)
            // A choice point is a step with a choice to make: one ready task is no choice.
            expect(arities[i], `arity of choice ${i}`).toBeGreaterThan(1)
          }
          const again: Array<string> = []
          const replayed = new SimRuntime({ strategy: replay(choices, preemptions) })
          replayed.run(program(fibers, steps, again))
          expect(again).toEqual(first)
          expect(replayed.decisions()).toEqual({ choices, arities, preemptions })
        }
      ),
      fcParams(200)
    ))
})

describe("R-DET-2 virtual time", () => {
  it("R-DET-2 a run's clock starts at its start time and moves only by what its fibers sleep, each waking at its deadline; its nanoseconds are its milliseconds", () =>
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
        fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 5 }),
        (startTime, sleeps) => {
          const woke: Array<number> = []
          const result = runDeterministic(
            Effect.gen(function* () {
              const start = yield* Clock.currentTimeMillis
              const fibers = yield* Effect.forEach(sleeps, (ms) =>
                Effect.forkChild(
                  Effect.andThen(
                    Effect.sleep(ms),
                    Effect.map(Effect.all([Clock.currentTimeMillis, Clock.currentTimeNanos]), ([t, nanos]) => {
                      expect(nanos).toBe(BigInt(t) * 1_000_000n)
                      woke.push(t - start)
                    })
                  )
                )
              )
              yield* Fiber.joinAll(fibers)
              return start
            }),
            startTime === undefined ? {} : { startTime }
          )
          const origin = startTime ?? 0
          expect(result.exit).toMatchObject({ _tag: "Success", value: origin })
          expect([...woke].sort((a, b) => a - b)).toEqual([...sleeps].sort((a, b) => a - b))
          expect(result.time).toBe(origin + Math.max(0, ...sleeps))
        }
      ),
      fcParams(100)
    ))
})

describe("R-DET-3 a runaway program", () => {
  it("R-DET-3 fibers that never stop running end the run at the step limit, reported as StepLimit with exactly that many steps, under any strategy", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.boolean(),
        fc.oneof(
          fc.constant(fifo),
          fc.nat().map((seed) => random(seed)),
          fc.nat().map((seed) => pct(seed, 2, 20))
        ),
        (spinners, maxSteps, withTimer, strategy) => {
          // Each spinner yields forever: the run never goes idle, so only the step limit can end it.
          const spin = Effect.forever(Effect.yieldNow)
          const program = Effect.gen(function* () {
            for (let i = 1; i < spinners; i++) yield* Effect.forkChild(spin)
            if (withTimer) yield* Effect.forkChild(Effect.forever(Effect.sleep(5)))
            return yield* spin
          })
          const result = runDeterministic(program, { strategy, maxSteps })
          expect(result.outcome).toEqual({ _tag: "StepLimit", steps: maxSteps })
          expect(result.steps).toBe(maxSteps)
        }
      ),
      fcParams(60)
    ))
})

class Refused extends Data.TaggedError("Refused")<{ readonly module: string }> {}

describe("R-DET-5 a failure's description", () => {
  it("R-DET-3 a run in which nothing can run, no timer is set and the program has not finished ends as Deadlock, naming exactly the fibers still waiting and the operation each waits in; a run whose waits are all met ends normally", () =>
    fc.assert(
      fc.property(
        // Per consumer: how many messages it receives, how many are sent to it, and after how long.
        fc.array(
          fc.record({
            wants: fc.integer({ min: 1, max: 3 }),
            sent: fc.integer({ min: 0, max: 3 }),
            delayMs: fc.nat(20)
          }),
          { minLength: 1, maxLength: 4 }
        ),
        fc.nat(),
        (consumers, seed) => {
          const scenario: Scenario = {
            name: "maybe-stuck",
            run: (ctx) =>
              Effect.gen(function* () {
                const fibers = []
                for (const [i, c] of consumers.entries()) {
                  yield* ctx.beehive.addModule(`m${i}`, { capacity: 4 })
                  fibers.push(
                    yield* ctx.spawn(
                      `c${i}`,
                      Effect.gen(function* () {
                        for (let k = 0; k < c.wants; k++)
                          yield* ctx.op(`c${i}`, `receive(m${i})`, ctx.beehive.receive(`m${i}`))
                      })
                    )
                  )
                  yield* ctx.spawn(
                    `s${i}`,
                    Effect.gen(function* () {
                      // A sender still sleeping keeps a timer set: the run is not stuck until it wakes.
                      yield* Effect.sleep(c.delayMs)
                      for (let k = 0; k < c.sent; k++) yield* ctx.beehive.send(`m${i}`, msg(`to${i}-${k}`))
                    })
                  )
                }
                for (const fiber of fibers) yield* Fiber.join(fiber)
              })
          }
          const run = runScenario(scenario, random(seed))
          const stuck = consumers.flatMap((c, i) => (c.sent < c.wants ? [`c${i} in receive(m${i})`] : []))
          if (stuck.length === 0) {
            expect(run.outcome._tag).toBe("Success")
            expect(run.waiting).toEqual([])
          } else {
            expect(run.outcome).toEqual({ _tag: "Deadlock" })
            // The program waits in its join of the first consumer still waiting, which the list names too.
            expect(run.waiting.filter((w) => !w.startsWith("main")).sort()).toEqual(stuck)
            expect(run.waiting.filter((w) => w.startsWith("main"))).toHaveLength(1)
          }
        }
      ),
      fcParams(150)
    ))

  it("R-DET-5 any failure is described in one line naming it: an error's message, a tagged value's tag, a plain value's text", () =>
    fc.assert(
      fc.property(
        fc.oneof(
          fc.stringMatching(/^[a-z ]{1,20}$/).map((text) => ({ cause: Cause.fail(new Error(text)), names: text })),
          fc
            .stringMatching(/^[a-z]{1,10}$/)
            .map((module) => ({ cause: Cause.fail(new Refused({ module })), names: "Refused" })),
          fc
            .stringMatching(/^[a-z]{1,10}$/)
            .map((module) => ({ cause: Cause.fail({ _tag: "PlainTagged", module }), names: "PlainTagged" })),
          fc.stringMatching(/^[a-z]{1,10}$/).map((text) => ({ cause: Cause.fail(text), names: text })),
          fc.integer().map((n) => ({ cause: Cause.fail(n), names: String(n) })),
          fc.constant({ cause: Cause.fail(null), names: "null" }),
          fc.stringMatching(/^[a-z]{1,10}$/).map((text) => ({ cause: Cause.die(text), names: text }))
        ),
        ({ cause, names }) => {
          const description = describeCause(cause as Cause.Cause<unknown>)
          expect(description).toContain(names)
          expect(description).not.toContain("\n")
        }
      ),
      fcParams(200)
    ))
})

describe("R-DET-3 a driven runtime that never settles", () => {
  it("R-DET-3 settle reports Livelock once its step limit is spent while fibers are still ready, and never for a program that ends within it", () =>
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 400 }), fc.integer({ min: 1, max: 600 }), (limit, yields) => {
        const sim = new SimRuntime({ maxSettleSteps: limit })
        sim.fork(
          Effect.gen(function* () {
            for (let i = 0; i < yields; i++) yield* Effect.yieldNow
          })
        )
        const settle = () => sim.settle()
        // A fiber that yields n times takes n + 1 scheduler steps.
        if (yields + 1 > limit) expect(settle).toThrow(Livelock)
        else expect(settle).not.toThrow()
      }),
      fcParams(100)
    ))
})
