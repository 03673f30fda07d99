import { Clock, Effect, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { Beehive } from "../../src/contexts/Beehive.ts"
import { ControlledScheduler } from "../../src/effects/ControlledScheduler.ts"
import { runDeterministic } from "../../src/effects/DeterministicRuntime.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import { fifo, pct, random, replay, rng, runSeed } from "../../src/effects/Strategy.ts"
import { VirtualClock } from "../../src/effects/VirtualClock.ts"
import * as Message from "../../src/model/Message.ts"

/** Three callers against a responder that answers after 10 ms: which time out depends on the schedule. */
const contention = Effect.scoped(
  Effect.gen(function* () {
    const b = yield* Beehive.make()
    yield* b.addModule("srv")
    yield* Effect.forkChild(
      Effect.gen(function* () {
        while (true) {
          const m = yield* b.receive("srv")
          yield* Effect.sleep(10)
          yield* b.sendResp(yield* Message.newResponse(m, m.content))
        }
      })
    )
    const results: Array<string> = []
    const callers = yield* Effect.forEach([1, 2, 3], (i) =>
      Effect.forkChild(
        Effect.gen(function* () {
          const exit = yield* Effect.exit(b.sendSync("srv", Message.fillBody(yield* Message.newMessage(), i), 25))
          results.push(`${i}:${exit._tag}@${yield* Clock.currentTimeMillis}`)
        })
      )
    )
    yield* Fiber.joinAll(callers)
    return results.join(" ")
  })
)

describe("deterministic runtime", () => {
  it("R-DET-1 the same decisions give the same run; different seeds explore different interleavings", () => {
    const outcomes = new Set<string>()
    for (let seed = 0; seed < 60; seed++) {
      const a = runDeterministic(contention, { strategy: random(seed, 0.05) })
      const b = runDeterministic(contention, { strategy: random(seed, 0.05) })
      expect(b.decisions).toEqual(a.decisions)
      expect(b.exit).toEqual(a.exit)
      const again = runDeterministic(contention, { strategy: replay(a.decisions.choices, a.decisions.preemptions) })
      expect(again.exit).toEqual(a.exit)
      expect(again.steps).toBe(a.steps)
      outcomes.add(JSON.stringify(a.exit))
    }
    expect(outcomes.size).toBeGreaterThan(2)
  })

  it("R-DET-2 time moves only when nothing can run, and same-instant timers are ordered by the strategy", () => {
    const tie = Effect.gen(function* () {
      const order: Array<string> = []
      const a = yield* Effect.forkChild(
        Effect.andThen(
          Effect.sleep(100),
          Effect.sync(() => order.push("a"))
        )
      )
      const b = yield* Effect.forkChild(
        Effect.andThen(
          Effect.sleep(100),
          Effect.sync(() => order.push("b"))
        )
      )
      const busy = yield* Effect.forkChild(Effect.sync(() => order.push(`busy@${Date.now() > 0}`)))
      yield* Fiber.joinAll([a, b, busy])
      return `${order.join(",")} t=${yield* Clock.currentTimeMillis}`
    })
    const seen = new Set<string>()
    for (let seed = 0; seed < 40; seed++) {
      const run = runDeterministic(tie, { strategy: random(seed) })
      expect(run.time).toBe(100)
      seen.add(String(run.exit?._tag === "Success" && run.exit.value))
    }
    expect([...seen].every((s) => s.startsWith("busy@true") && s.endsWith("t=100"))).toBe(true)
    expect(seen.size).toBe(2)
    const clock = new VirtualClock(() => {}, 5)
    expect(clock.nextTimer).toBeUndefined()
    expect(clock.advance()).toBe(false)
    expect(clock.currentTimeNanosUnsafe()).toBe(5_000_000n)
    expect(clock.monotonicTimeNanosUnsafe()).toBe(5_000_000n)
  })

  it("R-DET-3 a deadlock and a runaway program are outcomes, not hangs", () => {
    const stuck = runDeterministic(
      Effect.scoped(Effect.flatMap(Beehive.make(), (b) => Effect.andThen(b.addModule("x"), b.receive("x"))))
    )
    expect(stuck.outcome).toEqual({ _tag: "Deadlock" })
    const spin = runDeterministic(Effect.forever(Effect.yieldNow), { maxSteps: 500 })
    expect(spin.outcome).toEqual({ _tag: "StepLimit", steps: 500 })
    const failed = runDeterministic(Effect.fail("boom"))
    expect(failed.outcome).toEqual({ _tag: "Failure", message: "boom" })
    expect(runDeterministic(Effect.die(new Error("bad"))).outcome).toEqual({ _tag: "Failure", message: "bad" })
  })

  it("R-DET-4 strategies: FIFO, random with preemption, PCT and replay decide as documented", () => {
    const ready = [{ owner: 1 }, { owner: 2 }, { owner: 3 }]
    expect(fifo.choose(ready, 0)).toBe(0)
    const r = random(7, 1)
    expect(r.preempt(1)).toBe(true)
    expect(r.choose(ready, 0)).toBeLessThan(3)
    const p = pct(3, 2, 10)
    const first = p.choose(ready, 0)
    expect([0, 1, 2]).toContain(first)
    for (let s = 1; s < 12; s++) p.choose(ready, s)
    const again = pct(3, 2, 10)
    expect(again.choose(ready, 0)).toBe(first)
    const rep = replay([2, 5], [4])
    expect([rep.choose(ready, 0), rep.choose(ready, 1), rep.choose(ready, 2)]).toEqual([2, 2, 0])
    expect([rep.preempt(3), rep.preempt(4)]).toEqual([false, true])
    expect(rng(1)()).toBe(rng(1)())
    expect(runSeed(1, 0)).not.toBe(runSeed(1, 1))
    const scheduler = new ControlledScheduler({ name: "bad", choose: () => 99, preempt: () => false })
    const order: Array<number> = []
    scheduler.enqueue(() => order.push(1))
    scheduler.enqueue(() => order.push(2))
    scheduler.runUntilIdle()
    expect(order).toEqual([1, 2])
    const dispatcher = scheduler.makeDispatcher()
    dispatcher.scheduleTask(() => order.push(3), 0)
    dispatcher.flush()
    expect(order).toEqual([1, 2, 3])
  })

  it("R-DET-1 a SimRuntime is driven step by step: fork, settle, advance", () => {
    const sim = new SimRuntime()
    const fiber = sim.fork(Effect.as(Effect.sleep(50), "woke"))
    sim.settle()
    expect(fiber.pollUnsafe()).toBeUndefined()
    sim.advanceBy(49)
    expect(fiber.pollUnsafe()).toBeUndefined()
    sim.advanceBy(1)
    expect(sim.now).toBe(50)
    expect(sim.run(Fiber.join(fiber))).toBe("woke")
    expect(() => sim.runSync(Effect.never)).toThrow("still waiting")
    expect(() => sim.run(Effect.fail("no"))).toThrow()
    const spinning = new SimRuntime({ maxSettleSteps: 100 })
    spinning.fork(Effect.forever(Effect.yieldNow))
    expect(() => spinning.settle()).toThrow("still running")
    expect(sim.decisions().choices).toEqual([])
  })
})
