import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { strategyOptions } from "../../checker/campaign.ts"
import { checkScenarios } from "../../checker/harness/ScenarioProperty.ts"
import { properties } from "../../checker/properties.ts"
import { scenarios } from "../../checker/scenarios/index.ts"
import {
  addCoverage,
  coverageRates,
  emptyCoverage,
  explore,
  formatCoverage,
  type ScheduleCoverage
} from "../../src/testing/Explore.ts"
import type { Scenario } from "../../src/testing/Scenario.ts"

// Floors on how much of the interleavings the suite's properties reach, so that a change to the
// generators or the scheduler that quietly stops preempting, or stops meeting choice points, fails
// here instead of leaving properties that hold over FIFO runs. Each property runs a small sample
// (the named tests run the full counts); choice-point floors are about half of what the sample
// measured when they were set, and a family not listed here needs at least one per run.
const choicePointFloor: Record<string, number> = {
  "sendsync-deadline": 2.5,
  "groupsync-counting": 2,
  "cleanup-race": 10,
  "cleanup-wake": 3,
  "message-ledger": 10,
  "sync-workload": 10,
  "concurrent-branches": 10,
  "socket-ledger": 20
}
const sampleRuns = 12

const check = (name: string, coverage: ScheduleCoverage, preemption: boolean, family = name) => {
  const { choicePointsPerRun, fired } = coverageRates(coverage)
  expect(choicePointsPerRun, `${name}: choice points per run`).toBeGreaterThanOrEqual(choicePointFloor[family] ?? 1)
  if (!preemption) return
  // Half of the runs draw no preemption by design, and a sample of 12 can hold a streak of them (the
  // conservation property's did, once its input grew a field): each property must draw some, and the
  // properties together at least one per run (below).
  expect(coverage.preemptionsDrawn, `${name}: preemptions drawn`).toBeGreaterThan(0)
  expect(fired, `${name}: fraction of drawn preemptions that fired`).toBeGreaterThanOrEqual(0.9)
  expect(coverage.distinctInterleavings, `${name}: distinct interleavings`).toBeGreaterThanOrEqual(0.8 * coverage.runs)
}

const report = (title: string, rows: ReadonlyArray<readonly [string, ScheduleCoverage]>) =>
  console.log([title, ...rows.map(([name, c]) => `  ${name.padEnd(24)} ${formatCoverage(c)}`)].join("\n"))

describe("schedule coverage of the suite's properties", () => {
  it("R-DET-4 the scenario properties: at least 90% of drawn preemptions fire (each property's and all together), runs meet choice points, schedules differ", () => {
    const rows = properties.map(
      (p) => [p.name, checkScenarios(p.scenario, p.input, { runs: sampleRuns, preemption: p.preemption })] as const
    )
    report("schedule coverage of the scenario properties (sample):", rows)
    for (const [i, [name, coverage]] of rows.entries()) {
      const property = properties[i]
      check(name, coverage, property?.preemption ?? true, property?.scenario)
    }
    const total = rows.reduce((sum, [, c]) => addCoverage(sum, c), emptyCoverage)
    expect(coverageRates(total).fired).toBeGreaterThanOrEqual(0.9)
    const preempting = rows.filter((_, i) => properties[i]?.preemption ?? true)
    const drawn = preempting.reduce((n, [, c]) => n + c.preemptionsDrawn, 0)
    expect(drawn, "preemptions drawn over the preempting properties").toBeGreaterThanOrEqual(
      preempting.length * sampleRuns
    )
  }, 60_000)

  it("R-DET-4 the campaign's random strategy fits its preemptions to the run: at least 90% fire", () => {
    const rows = properties.flatMap((p, i) => {
      if (!p.preemption) return []
      const [input] = fc.sample(p.input, { seed: i, numRuns: 1 })
      const scenario = (scenarios[p.scenario] as (input: unknown) => Scenario)(input)
      // Three rounds of a measuring run and the three preempted runs fitted to it.
      const result = explore(scenario, { ...strategyOptions("random", true), runs: 12, seed: i })
      expect(result.failure, p.scenario).toBeUndefined()
      return [[`${p.scenario}#${i}`, result.coverage] as const]
    })
    report("schedule coverage of `beehive check` (one input per property):", rows)
    const total = rows.reduce((sum, [, c]) => addCoverage(sum, c), emptyCoverage)
    expect(coverageRates(total).fired).toBeGreaterThanOrEqual(0.9)
    expect(total.preemptionsFired).toBeGreaterThanOrEqual((3 / 4) * total.runs)
  }, 60_000)
})
