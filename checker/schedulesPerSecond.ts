/**
 * The checker's speed: schedules of a scenario explored per second under a strategy, and its baseline,
 * the same scenario's effect run on Effect's own runtime (no controlled scheduler, no virtual clock, no
 * trace) as many times per second as it goes. `beehive bench` prints both, on the three-fiber
 * `sync-trio` scenario.
 */
import { Effect, Exit } from "effect"
import { Beehive } from "../src/contexts/Beehive.ts"
import { type ExploreOptions, explore } from "../src/testing/Explore.ts"
import { CheckFailed, type Scenario, type ScenarioContext } from "../src/testing/Scenario.ts"

/**
 * Schedules per second `explore` runs on `scenario` with `options`, over at most `schedules` schedules
 * (fewer when a bounded search is exhausted first). Throws if a schedule fails: a failing scenario
 * says nothing about speed.
 */
export const exploredPerSecond = (scenario: Scenario, options: ExploreOptions, schedules: number): number => {
  const result = explore(scenario, { ...options, runs: schedules })
  if (result.failure !== undefined)
    throw new Error(`${scenario.name} failed: ${JSON.stringify(result.failure.outcome)}`)
  return (result.schedules / result.elapsedMs) * 1000
}

/**
 * Runs of `scenario` per second on Effect's own runtime, `runs` in a row in one program: the same body
 * with a context whose observed operations are the bare operations, whose fibers are plain forks and
 * whose checks only fail.
 */
export const plainRunsPerSecond = async (scenario: Scenario, runs: number): Promise<number> => {
  const once = Effect.scoped(
    Effect.gen(function* () {
      const host = yield* Beehive.makeHost(scenario.beehive)
      const context: ScenarioContext = {
        beehive: host.beehive,
        host,
        spawn: (_name, effect) => Effect.forkChild(effect, { startImmediately: false }),
        op: (_fiber, _label, effect) => effect,
        note: () => Effect.void,
        check: (condition, message) => (condition ? Effect.void : Effect.die(new CheckFailed(message))),
        now: () => 0,
        pendingTimers: () => 0,
        quiesce: Effect.yieldNow,
        running: () => []
      }
      yield* scenario.run(context)
    })
  )
  const start = performance.now()
  const exit = await Effect.runPromiseExit(
    Effect.gen(function* () {
      for (let i = 0; i < runs; i++) yield* once
    })
  )
  const elapsed = performance.now() - start
  if (Exit.isFailure(exit)) throw new Error(`${scenario.name} failed on Effect's runtime`)
  return (runs / elapsed) * 1000
}
