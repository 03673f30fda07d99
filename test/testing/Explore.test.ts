import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Fiber } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { scenarios } from "../../checker/scenarios/index.ts"
import { random } from "../../src/effects/Strategy.ts"
import * as Message from "../../src/model/Message.ts"
import { type Counterexample, explore, formatTimeline, replay } from "../../src/testing/Explore.ts"
import { runScenario, type Scenario } from "../../src/testing/Scenario.ts"

/** A user's belief that does not hold: A's message always arrives first. */
const raceScenario: Scenario = {
  name: "race",
  preemptAtOperations: true,
  run: (ctx) =>
    Effect.gen(function* () {
      const b = ctx.beehive
      yield* b.addModule("sink")
      const a = yield* ctx.spawn(
        "A",
        ctx.op("A", "send(sink, #a)", b.send("sink", Message.make({ header: { id: "a" } })))
      )
      const c = yield* ctx.spawn(
        "B",
        ctx.op("B", "send(sink, #b)", b.send("sink", Message.make({ header: { id: "b" } })))
      )
      yield* Fiber.joinAll([a, c])
      const first = yield* ctx.op("main", "receive(sink)", b.receive("sink"))
      yield* ctx.check(first.header.id === "a", "A's message arrives first")
    })
}

const root = join(import.meta.dirname, "../..")

describe("explore and replay", () => {
  beforeAll(() => {
    if (!existsSync(join(root, "dist/cli/main.js"))) {
      try {
        execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
          cwd: root
        })
      } catch {
        // tsc emits despite type errors elsewhere; the replay script is what matters here.
      }
    }
  }, 60_000)

  it("R-DET-5 each strategy finds the counterexample and replay reproduces it exactly", () => {
    for (const strategy of ["random", "pct", "dfs"] as const) {
      const result = explore(raceScenario, { strategy, runs: 200, seed: 3 })
      expect(result.failure, strategy).toBeDefined()
      const example = result.failure!
      expect(example.outcome).toEqual({ _tag: "Failure", message: "CheckFailed: A's message arrives first" })
      expect(replay(raceScenario, example).reproduced).toBe(true)
      expect(formatTimeline(example)).toContain("‼ check: A's message arrives first — VIOLATED")
    }
  })

  it("R-DET-4 the bounded exhaustive search says when it has run every schedule", () => {
    const safe: Scenario = { ...raceScenario, name: "safe", run: (ctx) => ctx.check(true, "trivially") }
    const result = explore(safe, { strategy: "dfs" })
    expect(result).toMatchObject({ exhausted: true, schedules: 1, failure: undefined })
    const unchecked: Scenario = {
      ...raceScenario,
      run: (ctx) => raceScenario.run({ ...ctx, check: () => Effect.void })
    }
    const counts = [0, 1, 2, 3].map((bound) =>
      explore(unchecked, { strategy: "dfs", bound, preemptionBound: 0, runs: 10_000 })
    )
    for (const result of counts) expect(result.exhausted).toBe(true)
    // Every schedule within the bound is distinct, and a larger bound explores strictly more.
    expect(counts.map((r) => r.schedules)).toEqual(counts.map((r) => r.distinctTraces))
    expect(counts.map((r) => r.schedules)).toEqual([...counts.map((r) => r.schedules)].sort((a, b) => a - b))
    expect(counts[0]?.schedules).toBe(1)
    expect(counts[3]?.schedules).toBeGreaterThan(counts[1]?.schedules as number)
    const budget = explore(unchecked, { timeBudgetMs: 50, runs: 1e9 })
    expect(budget.elapsedMs).toBeLessThan(5000)
  })

  it("R-DET-4 the bounded search runs each schedule once: a level passes through the lower levels' schedules without running them again", () => {
    let runs = 0
    const counted: Scenario = {
      ...raceScenario,
      run: (ctx) => {
        runs++
        return raceScenario.run({ ...ctx, check: () => Effect.void })
      }
    }
    const result = explore(counted, { strategy: "dfs", bound: 2, preemptionBound: 2, runs: 10_000 })
    expect(result.exhausted).toBe(true)
    expect(result.schedules).toBeGreaterThan(10)
    expect(runs).toBe(result.schedules)
    // Every schedule is a distinct interleaving: none is counted twice.
    expect(result.coverage.distinctInterleavings).toBe(result.schedules)
  })

  it("R-DET-3 a deadlock is reported with the fibers still waiting and what they wait in", () => {
    const stuck: Scenario = {
      name: "stuck",
      run: (ctx) =>
        Effect.gen(function* () {
          yield* ctx.beehive.addModule("m")
          const f = yield* ctx.spawn("consumer", ctx.op("consumer", "receive(m)", ctx.beehive.receive("m")))
          yield* Fiber.join(f)
        })
    }
    const result = explore(stuck, { strategy: "dfs" })
    expect(result.failure?.outcome).toEqual({ _tag: "Deadlock" })
    expect(result.failure?.waiting).toEqual(["main in started", "consumer in receive(m)"])
    expect(formatTimeline(result.failure!)).toContain(
      "DEADLOCK: still waiting: main in started; consumer in receive(m)"
    )
    expect(explore(stuck, { strategy: "dfs", deadlockIsFailure: false }).failure).toBeUndefined()
  })

  it("R-DET-5 a step-limit counterexample replays with the step budget it was found with", () => {
    const spinning: Scenario = {
      name: "spinning",
      run: (ctx) =>
        Effect.gen(function* () {
          yield* ctx.beehive.addModule("a")
          for (let i = 0; i < 500; i++) yield* Effect.yieldNow
        })
    }
    const result = explore(spinning, { runs: 1, maxSteps: 50 })
    const example = result.failure!
    expect(example.maxSteps).toBe(50)
    expect(example.outcome._tag).toBe("StepLimit")
    const replayed = replay(spinning, example)
    expect(replayed.run.outcome).toEqual(example.outcome)
    expect(replayed.reproduced).toBe(true)
  })

  // Skipped in mutation runs (vitest.mutation.config.ts): the fresh process runs the built dist/, which
  // no mutant reaches, so it could only compare mutated code with unmutated code.
  it.skipIf(process.env.BEEHIVE_MUTATION === "1")(
    "R-DET-1 R-DET-5 a counterexample file replays bit for bit in a fresh process",
    () => {
      const input = { capacity: 1, senders: [2, 1], receivers: 1, cleanups: [2, 0], lateSend: true }
      const run = runScenario(scenarios["cleanup-race"]!(input), random(11, 0.05))
      const example: Counterexample = {
        format: "beehive-effect/counterexample@1",
        scenario: "cleanup-race",
        strategy: "random",
        seed: 11,
        run: 0,
        choices: run.decisions.choices,
        preemptions: run.decisions.preemptions,
        outcome: run.outcome,
        waiting: run.waiting,
        trace: run.trace,
        input
      }
      const dir = mkdtempSync(join(tmpdir(), "cx-"))
      const file = join(dir, "cleanup-race.json")
      writeFileSync(file, JSON.stringify(example))
      // Exact replay: the verdict line names no difference from the recording, whichever way the run ended.
      const replayed = spawnSync(process.execPath, [join(root, "dist/cli/main.js"), "replay", file], {
        encoding: "utf8"
      })
      expect(replayed.stdout).toMatch(
        /\n(fixed: the property holds on this code|reproduced: the recorded failure happens again, step for step.*)\n$/
      )
      expect(replayed.status).toBe(example.outcome._tag === "Success" ? 0 : 1)
      const tampered = join(dir, "tampered.json")
      writeFileSync(
        tampered,
        JSON.stringify({ ...example, choices: [...example.choices].reverse(), trace: example.trace.slice(1) })
      )
      const differing = spawnSync(process.execPath, [join(root, "dist/cli/main.js"), "replay", tampered], {
        encoding: "utf8"
      })
      // A run that differs from its recording is either fixed (it holds now) or fails differently.
      expect(differing.stdout).toMatch(
        /\n(fixed: the property holds on this code|still failing, differently from the recording: .*)\n$/
      )
    }
  )
})
