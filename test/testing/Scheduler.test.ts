import { Clock, Effect, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { ControlledScheduler } from "../../src/effects/ControlledScheduler.ts"
import { runDeterministic } from "../../src/effects/DeterministicRuntime.ts"
import { Livelock, SimRuntime } from "../../src/effects/SimRuntime.ts"
import { fifo, pct, type ReadyTask, random, replay, rng, runSeed, type Strategy } from "../../src/effects/Strategy.ts"
import { VirtualClock } from "../../src/effects/VirtualClock.ts"
import * as Message from "../../src/model/Message.ts"

/** Two fibers that each log `steps` steps without ever waiting. */
const workers = (steps: number) =>
  Effect.gen(function* () {
    const log: Array<string> = []
    const worker = (name: string) => {
      let body: Effect.Effect<unknown> = Effect.void
      for (let i = 1; i <= steps; i++)
        body = Effect.andThen(
          body,
          Effect.sync(() => log.push(`${name}${i}`))
        )
      return Effect.forkChild(body)
    }
    const a = yield* worker("a")
    const b = yield* worker("b")
    yield* Fiber.joinAll([a, b])
    return log.join(" ")
  })
const twoWorkers = workers(3)

const successValue = <A>(result: { readonly exit: unknown }): A => {
  const exit = result.exit as { _tag: string; value: A }
  expect(exit._tag).toBe("Success")
  return exit.value
}

describe("controlled scheduler", () => {
  it("R-DET-4 an interrupt of a fiber that has not started yet is never lost under preemption", () => {
    const program = Effect.gen(function* () {
      const child = yield* Effect.forkChild(Effect.never, { startImmediately: false })
      yield* Fiber.interrupt(child)
    })
    const strategies = [fifo, ...Array.from({ length: 50 }, (_, seed) => random(seed, 0.5))]
    const outcomes = strategies.map((strategy) => runDeterministic(program, { strategy }).outcome._tag)
    expect(outcomes).toEqual(strategies.map(() => "Success"))
  })

  it("R-DET-4 without preemption a fiber runs until it waits; a preemption point yields it at that operation", () => {
    const plain = runDeterministic(twoWorkers)
    expect(successValue<string>(plain)).toBe("a1 a2 a3 b1 b2 b3")
    expect(plain.decisions.preemptions).toEqual([])
    expect(plain.decisions.choices.every((c) => c === 0)).toBe(true)
    const seen = new Set<string>()
    for (let op = 1; op <= 60; op++) {
      const run = runDeterministic(twoWorkers, { strategy: replay([], [op]) })
      expect(run.decisions.preemptions.every((p) => p === op)).toBe(true)
      seen.add(successValue<string>(run))
    }
    // Some preemption point falls between two of a's steps, so b runs in between.
    expect([...seen].some((log) => log.startsWith("a1 b1") || log.startsWith("a1 a2 b1"))).toBe(true)
  })

  it("R-DET-4 a fiber that never waits still yields after maxOpsBeforeYield operations", () => {
    const interleaved = (maxOps: number) => {
      const scheduler = new ControlledScheduler(fifo, maxOps)
      const fiber = Effect.runFork(workers(10), { scheduler })
      scheduler.runUntilIdle(100_000)
      const exit = fiber.pollUnsafe()
      return exit !== undefined && exit._tag === "Success" ? exit.value : "unfinished"
    }
    const sequential = Array.from({ length: 10 }, (_, i) => `a${i + 1}`)
      .concat(Array.from({ length: 10 }, (_, i) => `b${i + 1}`))
      .join(" ")
    expect(interleaved(2048)).toBe(sequential)
    const small = interleaved(3)
    expect(small).not.toBe(sequential)
    expect(small.split(" ").sort().join(" ")).toBe(sequential.split(" ").sort().join(" "))
    const scheduler = new ControlledScheduler(fifo, 3)
    const at = (ops: number) =>
      scheduler.shouldYield({ currentOpCount: ops } as unknown as Fiber.Fiber<unknown, unknown>)
    expect([at(1), at(2), at(3), at(4)]).toEqual([false, false, true, true])
  })

  it("R-DET-4 strategies see owners numbered in creation order from 1; timer wake-ups belong to owner 0", () => {
    const owners = new Set<number>()
    const recording: Strategy = {
      name: "recording",
      choose: (ready) => {
        for (const task of ready) owners.add(task.owner)
        return ready.length - 1
      },
      preempt: () => false
    }
    const program = Effect.gen(function* () {
      const sleepers = yield* Effect.forEach([1, 2, 3], () => Effect.forkChild(Effect.sleep(5)))
      yield* Fiber.joinAll(sleepers)
    })
    const run = runDeterministic(program, { strategy: recording })
    expect(run.outcome).toEqual({ _tag: "Success" })
    expect(owners.has(ControlledScheduler.timerOwner)).toBe(true)
    const fibers = [...owners].filter((o) => o !== ControlledScheduler.timerOwner)
    expect(fibers.length).toBeGreaterThan(0)
    expect(fibers.every((o) => Number.isInteger(o) && o >= 1)).toBe(true)
  })

  it("R-DET-4 an index a strategy returns outside the ready tasks falls back to the oldest task", () => {
    for (const bad of [-1, 2, 0.5, Number.NaN]) {
      const scheduler = new ControlledScheduler({ name: "bad", choose: () => bad, preempt: () => false })
      const order: Array<number> = []
      scheduler.enqueue(() => order.push(1))
      scheduler.enqueue(() => order.push(2))
      expect(scheduler.step()).toBe(true)
      expect(order).toEqual([1])
      expect(scheduler.decisions()).toEqual({ choices: [0], arities: [2], preemptions: [] })
    }
  })
})

describe("deterministic runs", () => {
  it("R-DET-1 startTime and idPrefix set the clock and the message ids of a run", () => {
    const program = Effect.gen(function* () {
      const message = yield* Message.newMessage()
      return `${yield* Clock.currentTimeMillis} ${message.header.id}`
    })
    expect(successValue<string>(runDeterministic(program, { startTime: 1000, idPrefix: "x" }))).toBe("1000 x1")
    expect(successValue<string>(runDeterministic(program))).toBe("0 m1")
    const sim = new SimRuntime({ startTime: 500, idPrefix: "s" })
    expect(sim.now).toBe(500)
    expect(sim.run(program)).toBe("500 s1")
    expect(new SimRuntime().run(program)).toBe("0 m1")
  })

  it("R-DET-3 the step limit counts every step of the run, also across time advances", () => {
    // Some steps before time moves, then a spin: the limit is the total, not per stretch of time.
    const program = Effect.gen(function* () {
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow
      yield* Effect.sleep(1)
      yield* Effect.forever(Effect.yieldNow)
    })
    const run = runDeterministic(program, { maxSteps: 300 })
    expect(run.outcome).toEqual({ _tag: "StepLimit", steps: 300 })
    expect(run.steps).toBe(300)
    expect(run.time).toBe(1)
  })

  it("R-DET-3 a failure is described by its error's message, its tagged fields, or its text", () => {
    expect(runDeterministic(Effect.fail({ _tag: "Oops", n: 1 })).outcome).toEqual({
      _tag: "Failure",
      message: '{"_tag":"Oops","n":1}'
    })
    expect(runDeterministic(Effect.fail(null)).outcome).toEqual({ _tag: "Failure", message: "null" })
    expect(runDeterministic(Effect.fail({ code: 7 })).outcome).toEqual({ _tag: "Failure", message: "[object Object]" })
  })
})

describe("SimRuntime", () => {
  it("R-DET-3 settle reports a livelock past its step limit, and only then", () => {
    const spinning = new SimRuntime({ maxSettleSteps: 100 })
    spinning.fork(Effect.forever(Effect.yieldNow))
    let error: unknown
    try {
      spinning.settle()
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(Livelock)
    expect((error as Livelock).name).toBe("Livelock")
    expect((error as Livelock).message).toBe("still running after 100 steps")
    // Exactly as many steps as allowed, and nothing left to run: no livelock.
    const exact = new SimRuntime({ maxSettleSteps: 3 })
    exact.scheduler.enqueue(() => {})
    exact.scheduler.enqueue(() => {})
    exact.scheduler.enqueue(() => {})
    expect(() => exact.settle()).not.toThrow()
  })

  it("R-DET-2 advanceBy runs what each timer wakes before time moves on", () => {
    const sim = new SimRuntime()
    const times: Array<number> = []
    const fiber = sim.fork(
      Effect.gen(function* () {
        for (let i = 0; i < 3; i++) {
          yield* Effect.sleep(10)
          times.push(yield* Clock.currentTimeMillis)
        }
      })
    )
    sim.settle()
    sim.advanceBy(30)
    expect(times).toEqual([10, 20, 30])
    expect(fiber.pollUnsafe()?._tag).toBe("Success")
  })

  it("R-DET-2 a sleep of zero sets no timer: it only yields", () => {
    const sim = new SimRuntime()
    const fiber = sim.fork(Effect.as(Effect.sleep(0), "done"))
    expect(sim.clock.pendingTimers).toBe(0)
    sim.settle()
    expect(sim.now).toBe(0)
    expect(fiber.pollUnsafe()?._tag).toBe("Success")
  })
})

describe("virtual clock", () => {
  it("R-DET-2 nanosecond readings follow the virtual milliseconds", () => {
    const clock = new VirtualClock(() => {}, 7)
    expect(Effect.runSync(clock.currentTimeNanos)).toBe(7_000_000n)
    expect(Effect.runSync(clock.monotonicTimeNanos)).toBe(7_000_000n)
    expect(Effect.runSync(clock.currentTimeMillis)).toBe(7)
  })

  it("R-DET-2 timers due at the same instant are readied in the order they were set", () => {
    const program = Effect.gen(function* () {
      const order: Array<string> = []
      const sleepers = yield* Effect.forEach(["a", "b", "c"], (name) =>
        Effect.forkChild(
          Effect.andThen(
            Effect.sleep(100),
            Effect.sync(() => order.push(name))
          )
        )
      )
      yield* Fiber.joinAll(sleepers)
      return order.join("")
    })
    expect(successValue<string>(runDeterministic(program))).toBe("abc")
  })
})

describe("strategies", () => {
  const ready: ReadonlyArray<ReadyTask> = [{ owner: 1 }, { owner: 2 }, { owner: 3 }]

  it("R-DET-4 names describe a strategy well enough to rebuild it; FIFO never preempts", () => {
    expect(fifo.name).toBe("fifo")
    expect(fifo.preempt(1)).toBe(false)
    expect(random(5).name).toBe("random(seed=5)")
    expect(random(5, 0.25).name).toBe("random(seed=5, preemption=0.25)")
    expect(random(5).preempt(1)).toBe(false)
    expect(replay([1]).name).toBe("replay")
    expect(replay([1]).preempt(1)).toBe(false)
    expect(pct(3, 2, 10).name).toBe("pct(seed=3, depth=2, steps=10)")
  })

  it("R-DET-1 the seeded generators give the same sequences in every version (recorded seeds stay valid)", () => {
    const next = rng(1)
    expect([next(), next(), next()]).toEqual(RNG_1)
    expect([runSeed(1, 0), runSeed(1, 1), runSeed(20261125, 7)]).toEqual(RUN_SEEDS)
    const r = random(42)
    expect(Array.from({ length: 8 }, (_, step) => r.choose(ready, step))).toEqual(RANDOM_42)
    expect(Array.from({ length: 10 }, (_, seed) => pct(seed, 1, 20).choose(ready, 0))).toEqual(PCT_FIRST_PICKS)
  })

  it("R-DET-4 PCT runs the highest-priority owner's oldest task, and demotes it at a change point", () => {
    // Depth 1: no change point, so one owner keeps the highest priority throughout.
    const steady = pct(9, 1, 20)
    const owner = (ready[steady.choose(ready, 0)] as ReadyTask).owner
    for (let step = 1; step < 20; step++) expect((ready[steady.choose(ready, step)] as ReadyTask).owner).toBe(owner)
    // Among tasks of that owner, the oldest one.
    const twoOfOwner = [{ owner: 99 }, { owner }, { owner }]
    expect(steady.choose(twoOfOwner, 20)).toBe(1)
    // Depth 2 with one step: the change point is step 0, after which the first pick is demoted.
    for (let seed = 0; seed < 20; seed++) {
      const demoting = pct(seed, 2, 1)
      const before = (ready[demoting.choose(ready, 0)] as ReadyTask).owner
      const after = (ready[demoting.choose(ready, 1)] as ReadyTask).owner
      expect(after).not.toBe(before)
      expect((ready[demoting.choose(ready, 2)] as ReadyTask).owner).toBe(after)
    }
  })

  it("R-DET-4 PCT demotes an owner after exactly 1,000 choices in a row, each demotion below the last", () => {
    const strategy = pct(9, 1, 20)
    const pick = (tasks: ReadonlyArray<ReadyTask>) => (tasks[strategy.choose(tasks, 100)] as ReadyTask).owner
    const both: ReadonlyArray<ReadyTask> = [{ owner: 1 }, { owner: 2 }]
    const top = pick(both)
    const other = top === 1 ? 2 : 1
    // Another owner's turn in between restarts the count.
    for (let i = 1; i < 600; i++) expect(pick(both)).toBe(top)
    expect(pick([{ owner: other }, { owner: other }])).toBe(other)
    for (let i = 0; i < 999; i++) expect(pick(both)).toBe(top)
    // The 1,000th choice in a row demotes it: the next one goes to the other owner...
    expect(pick(both)).toBe(top)
    expect(pick(both)).toBe(other)
    // ...which, after its own 1,000, drops below the first.
    for (let i = 1; i < 1000; i++) expect(pick(both)).toBe(other)
    expect(pick(both)).toBe(top)
  })

  it("R-DET-4 R-DET-3 PCT does not livelock on a fiber that yields until the others are done", () => {
    // The scenarios' `quiesce` waits like this; with a higher priority than the worker it would run
    // forever (found by a PCT campaign on concurrent-branches as a step limit).
    const spinUntilDone = Effect.gen(function* () {
      let done = false
      const worker = yield* Effect.forkChild(
        Effect.andThen(
          Effect.yieldNow,
          Effect.sync(() => {
            done = true
          })
        )
      )
      while (!done) yield* Effect.yieldNow
      yield* Fiber.join(worker)
      return "done"
    })
    for (let seed = 0; seed < 20; seed++) {
      const result = runDeterministic(spinUntilDone, { strategy: pct(seed, 1, 10), maxSteps: 50_000 })
      expect(result.outcome, `seed ${seed}`).toEqual({ _tag: "Success" })
    }
  })
})

// Recorded from this implementation; a change here breaks every seed written in a counterexample.
const RNG_1 = [0.6270739405881613, 0.002735721180215478, 0.5274470399599522]
const RUN_SEEDS = [2980047484, 232174035, 872450332]
const RANDOM_42 = [1, 1, 2, 2, 0, 1, 0, 1]
const PCT_FIRST_PICKS = [1, 1, 1, 1, 1, 0, 2, 2, 0, 0]
