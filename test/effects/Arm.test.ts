import { Clock, Duration, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import { type Arm, all, type Cancel, done, first, mapExit, type Settle } from "../../src/effects/Arm.ts"
import { awaitArm, awaitArmUntil, sleepUntil } from "../../src/effects/Deadline.ts"
import { Mailbox } from "../../src/effects/Mailbox.ts"

/** An arm completed from outside through `fire`. */
const manual = <A>() => {
  let settle: Settle<A, never> | undefined
  let cancelled = 0
  const arm: Arm<A, never> = (s) => {
    settle = s
    return () => {
      cancelled++
    }
  }
  return { arm, fire: (a: A) => settle?.(Exit.succeed(a)), cancelled: () => cancelled }
}

describe("Arm and Deadline", () => {
  it("R-SYNC-8 `first` completes with the first arm to settle and withdraws the other", () => {
    const left = manual<string>()
    const right = manual<string>()
    const outcomes: Array<unknown> = []
    const cancel = first(left.arm, right.arm)((e) => outcomes.push(e)) as Cancel
    right.fire("r")
    left.fire("late")
    expect(outcomes).toEqual([Exit.succeed("r")])
    expect(left.cancelled()).toBe(1)
    cancel()
    expect(right.cancelled()).toBe(1)
    expect(first(done(Exit.succeed(1)), manual<number>().arm)(() => {})).toEqual(Exit.succeed(1))
    const l2 = manual<number>()
    expect(first(l2.arm, done(Exit.succeed(2)))(() => {})).toEqual(Exit.succeed(2))
    expect(l2.cancelled()).toBe(1)
    const l3 = manual<number>()
    const r3 = manual<number>()
    const out3: Array<unknown> = []
    first(l3.arm, r3.arm)((e) => out3.push(e))
    l3.fire(3)
    r3.fire(4)
    expect(out3).toEqual([Exit.succeed(3)])
    expect(r3.cancelled()).toBe(1)
  })

  it("R-SYNC-4 `first`: when arming the right arm completes the left one, the left one wins and the right one is withdrawn", () => {
    for (const rightCompletes of [true, false]) {
      const left = manual<string>()
      let rightCancelled = 0
      const right: Arm<string, never> = () => {
        left.fire("left")
        return rightCompletes
          ? Exit.succeed("right")
          : () => {
              rightCancelled++
            }
      }
      const outcomes: Array<unknown> = []
      const armed = first(left.arm, right)((e) => outcomes.push(e))
      expect(typeof armed).toBe("function")
      expect(outcomes).toEqual([Exit.succeed("left")])
      expect(rightCancelled).toBe(rightCompletes ? 0 : 1)
    }
  })

  it("R-GROUP-3 `all` waits for every arm and reports each outcome", () => {
    const a = manual<number>()
    const outcomes: Array<unknown> = []
    const cancel = all([done(Exit.succeed(1)), a.arm, done(Exit.fail("x"))])((e) => outcomes.push(e)) as Cancel
    expect(outcomes).toEqual([])
    a.fire(2)
    expect(outcomes).toEqual([Exit.succeed([Exit.succeed(1), Exit.succeed(2), Exit.fail("x")])])
    cancel()
    expect(a.cancelled()).toBe(1)
    expect(all([])(() => {})).toEqual(Exit.succeed([]))
    expect(
      mapExit(
        done(Exit.succeed(1)),
        Exit.map((n: number) => n + 1)
      )(() => {})
    ).toEqual(Exit.succeed(2))
  })

  it("R-SYNC-5 awaitArmUntil ends at the deadline, never before, and withdraws the arm", async () => {
    const program = Effect.gen(function* () {
      const m = manual<string>()
      const fiber = yield* Effect.forkChild(Effect.exit(awaitArmUntil(m.arm, 100, () => Exit.fail("late" as const))))
      yield* TestClock.adjust(99)
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust(1)
      expect(yield* Fiber.join(fiber)).toEqual(Exit.fail("late"))
      expect(m.cancelled()).toBe(1)
      const quick = manual<string>()
      const f2 = yield* Effect.forkChild(awaitArmUntil(quick.arm, 1000, () => Exit.fail("late" as const)))
      yield* Effect.yieldNow
      quick.fire("ok")
      expect(yield* Fiber.join(f2)).toBe("ok")
      const interrupted = manual<string>()
      const f3 = yield* Effect.forkChild(awaitArm(interrupted.arm))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(f3)
      expect(interrupted.cancelled()).toBe(1)
      expect(yield* awaitArmUntil(done(Exit.succeed("now")), 0, () => Exit.fail("late" as const))).toBe("now")
    }).pipe(Effect.provide(TestClock.layer()))
    await Effect.runPromise(program)
  })

  it("R-SYNC-5 sleepUntil sleeps again when a timer fires early", async () => {
    let now = 0
    const sleeps: Array<number> = []
    const earlyClock: Clock.Clock = {
      currentTimeMillisUnsafe: () => now,
      currentTimeMillis: Effect.sync(() => now),
      currentTimeNanosUnsafe: () => BigInt(now) * 1_000_000n,
      currentTimeNanos: Effect.sync(() => BigInt(now) * 1_000_000n),
      monotonicTimeNanosUnsafe: () => BigInt(now) * 1_000_000n,
      monotonicTimeNanos: Effect.sync(() => BigInt(now) * 1_000_000n),
      sleep: (d) =>
        Effect.sync(() => {
          const ms = Duration.toMillis(d)
          sleeps.push(ms)
          now += Math.max(1, ms - 1)
        })
    } as Clock.Clock
    await Effect.runPromise(sleepUntil(10).pipe(Effect.provideService(Clock.Clock, earlyClock)))
    expect(now).toBeGreaterThanOrEqual(10)
    expect(sleeps.length).toBeGreaterThan(1)
  })
})

describe("Arm combinators on arms that wait", () => {
  it("R-SYNC-8 `mapExit` of a waiting arm waits too, and maps the outcome when it comes", () => {
    const m = manual<number>()
    const outcomes: Array<unknown> = []
    const tenfold = (exit: Exit.Exit<number, never>) => Exit.succeed(Exit.isSuccess(exit) ? exit.value * 10 : -1)
    const armed = mapExit(m.arm, tenfold)((e) => outcomes.push(e))
    expect(typeof armed).toBe("function")
    m.fire(4)
    expect(outcomes).toEqual([Exit.succeed(40)])
    ;(armed as Cancel)()
    expect(m.cancelled()).toBe(1)
  })

  it("R-GROUP-3 `all` over arms that complete one another while being armed completes at once", () => {
    const box = new Mailbox<string, "closed">(1, () => "closed")
    const settled: Array<unknown> = []
    // Arming the offer hands "x" to the take armed just before it: both are done when `all` returns.
    const armed = all<unknown, "closed">([box.armTake(), box.armOffer("x")])((e) => settled.push(e))
    expect(armed).toEqual(Exit.succeed([Exit.succeed("x"), Exit.void]))
    expect(settled).toEqual([])
  })
})
