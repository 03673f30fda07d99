import { Effect, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import {
  fifo,
  fitPoints,
  metered,
  pct,
  preemptingAt,
  type ReadyTask,
  replay as replayStrategy,
  type Strategy
} from "../../src/effects/Strategy.ts"
import * as Message from "../../src/model/Message.ts"
import {
  addCoverage,
  coverageMeter,
  coverageRates,
  emptyCoverage,
  explore,
  formatCoverage,
  replay
} from "../../src/testing/Explore.ts"
import { runScenario, type Scenario } from "../../src/testing/Scenario.ts"

/** Two senders race to one sink; main checks that A's message came first (it need not). */
const race = (checked: boolean): Scenario => ({
  name: "race",
  run: (ctx) =>
    Effect.gen(function* () {
      const b = ctx.beehive
      yield* b.addModule("sink")
      const send = (id: string) => ctx.op(id, `send(sink, #${id})`, b.send("sink", Message.make({ header: { id } })))
      const a = yield* ctx.spawn("A", send("a"))
      const c = yield* ctx.spawn("B", send("b"))
      yield* Fiber.joinAll([a, c])
      const first = yield* ctx.op("main", "receive(sink)", b.receive("sink"))
      if (checked) yield* ctx.check(first.header.id === "a", "A's message arrives first")
    })
})

const last: Strategy = { name: "last", choose: (ready) => ready.length - 1, preempt: () => false }
const three: ReadonlyArray<ReadyTask> = [{ owner: 1 }, { owner: 2 }, { owner: 3 }]

describe("preemption fitted to the run", () => {
  it("R-DET-4 a metered strategy counts the contended operations and decides nothing itself", () => {
    const m = metered(replayStrategy([1], [5]))
    expect(m.strategy.preempt(5, 0)).toBe(true)
    expect(m.contended()).toBe(0)
    expect(m.strategy.preempt(6, 2)).toBe(false)
    expect(m.strategy.preempt(7)).toBe(false)
    expect(m.contended()).toBe(2)
    expect(m.strategy.choose(three, 0)).toBe(1)
    expect(m.strategy.name).toBe("replay")
  })

  it("R-DET-4 preemptingAt preempts at the listed contended operations and then switches to another task", () => {
    const s = preemptingAt(last, [3, 1])
    expect(s.name).toBe("last preempting at contended operations [1, 3]")
    // Uncontended operations are not counted: a preemption there would change nothing.
    expect([s.preempt(10, 0), s.preempt(11, 2), s.preempt(12, 0), s.preempt(13, 1)]).toEqual([
      false,
      false,
      false,
      true
    ])
    // The preempted fiber's continuation is the newest task: the next choice is among the others.
    expect(s.choose(three, 0)).toBe(1)
    expect(s.choose(three, 1)).toBe(2)
    expect([s.preempt(14, 1), s.preempt(15, 1), s.preempt(16, 1)]).toEqual([false, true, false])
  })

  it("R-DET-4 fitted points are fractions of the run's contended operations, distinct and sorted", () => {
    expect(fitPoints([0.999, 0, 0.5, 0.5], 10)).toEqual([0, 5, 9])
    expect(fitPoints([1, -1], 4)).toEqual([0, 3])
    expect(fitPoints([0.3], 0)).toEqual([])
  })

  it("R-DET-4 PCT with contended operations preempts at a change point there and demotes the preempted owner", () => {
    // One change point among one step: the first contended operation.
    const s = pct(7, 2, 0, 1)
    expect(s.name).toBe("pct(seed=7, depth=2, steps=0, contended=1)")
    expect(s.preempt(3, 0)).toBe(false)
    expect(s.preempt(4, 1)).toBe(true)
    // Owner 2's task is the newest (the preempted fiber's continuation): it drops below owner 1.
    const both: ReadonlyArray<ReadyTask> = [{ owner: 1 }, { owner: 2 }]
    expect(s.choose(both, 0)).toBe(0)
    expect(s.preempt(5, 1)).toBe(false)
    // Without contended operations PCT never preempts.
    expect(pct(7, 3, 10).preempt(1, 5)).toBe(false)
  })

  it("R-DET-4 random exploration measures each run, then preempts inside it", () => {
    const result = explore(race(false), { strategy: "random", preemptions: 3, runs: 40, seed: 5 })
    const { fired } = coverageRates(result.coverage)
    expect(result.coverage.runs).toBe(40)
    // One measuring run, then three preempted ones fitted to it.
    expect(result.coverage.preemptionsDrawn).toBeGreaterThanOrEqual(30)
    expect(fired).toBeGreaterThanOrEqual(0.9)
    const failing = explore(race(true), { strategy: "random", preemptions: 3, runs: 200, seed: 5 })
    expect(failing.failure).toBeDefined()
    expect(replay(race(true), failing.failure!).reproduced).toBe(true)
  })

  it("R-DET-4 the bounded search places every single preemption at each contended operation of the run", () => {
    const m = metered(fifo)
    runScenario(race(false), m.strategy)
    expect(m.contended()).toBeGreaterThan(3)
    const one = explore(race(false), { strategy: "dfs", bound: 0, preemptionBound: 1, runs: 10_000 })
    expect(one).toMatchObject({ exhausted: true, schedules: 1 + m.contended() })
    expect(one.coverage.preemptionsFired).toBe(m.contended())
    const two = explore(race(false), { strategy: "dfs", bound: 1, preemptionBound: 2, runs: 100_000 })
    expect(two.exhausted).toBe(true)
    expect(two.schedules).toBeGreaterThan(one.schedules)
    // Every schedule of the search is a different sequence of decisions.
    expect(two.coverage.distinctInterleavings).toBe(two.schedules)
    expect(two.strategy).toBe("dfs")
    const budget = explore(race(false), { strategy: "dfs", bound: 1, preemptionBound: 2, runs: 5 })
    expect(budget).toMatchObject({ exhausted: false, schedules: 5 })
  })

  it("R-DET-4 schedule coverage adds up, and reads as one line", () => {
    const meter = coverageMeter()
    meter.record({ choices: [0, 1], preemptions: [7] }, 2)
    meter.record({ choices: [0, 1], preemptions: [7] }, 2)
    meter.record({ choices: [], preemptions: [] })
    const c = meter.coverage()
    expect(c).toEqual({ runs: 3, choicePoints: 4, preemptionsDrawn: 4, preemptionsFired: 2, distinctInterleavings: 2 })
    expect(addCoverage(c, c)).toMatchObject({ runs: 6, distinctInterleavings: 4 })
    expect(coverageRates(emptyCoverage)).toEqual({ choicePointsPerRun: 0, fired: 1 })
    expect(formatCoverage(c)).toBe(
      "3 runs, 1.3 choice points/run, 4 preemptions drawn, 2 fired (50%), 2 distinct interleavings"
    )
  })
})
