import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { runCampaign } from "../../checker/campaign.ts"
import { type Counterexample, explore, replay } from "../../src/testing/Explore.ts"
import { plantedWindow } from "../support/plantedWindow.ts"

// Issue 9: a deadline that decides a call one operation before it releases the reply slot escaped
// the suite. The same kind of bug, planted in a copy of the sendsync-deadline scenario, must be
// found by what users run as their CI gate and by the bounded search, and by nothing that lacks
// preemption.
const violation = "call 0: it returned the response iff sendResp accepted it (R-SYNC-4)"
const deadlineInstant = { timeoutMs: 10, delayMs: 10 }

describe("a bug that needs one preemption inside a one-operation window", () => {
  it("R-DET-4 R-SYNC-4 no schedule without preemption shows it: the window is inside one fiber's run", () => {
    const result = explore(plantedWindow({ calls: [deadlineInstant] }), {
      strategy: "dfs",
      bound: 3,
      preemptionBound: 0
    })
    expect(result).toMatchObject({ exhausted: true, failure: undefined })
  })

  it("R-DET-4 R-DET-5 R-SYNC-4 `beehive check --runs 1000` finds it on every seed, and the file replays it", () => {
    const scenario = plantedWindow({ calls: [deadlineInstant, { timeoutMs: 20, delayMs: 5 }] })
    // The default seed of `beehive check`, then four more.
    for (const seed of [20261125, 1, 2, 3, 4]) {
      const outDir = mkdtempSync(join(tmpdir(), "beehive-planted-"))
      const report = runCampaign({
        runs: 1000,
        seed,
        outDir,
        catalogue: false,
        userScenarios: [{ scenario, source: "test/support/plantedWindow.ts" }]
      })
      const [property] = report.properties
      expect(property?.failure?.message, `seed ${seed}`).toBe(`CheckFailed: ${violation}`)
      expect(property?.coverage?.preemptionsFired).toBeGreaterThan(0)
      const example = JSON.parse(readFileSync(property?.failure?.file as string, "utf8")) as Counterexample
      expect(example.preemptions.length).toBeGreaterThan(0)
      expect(replay(scenario, example).reproduced).toBe(true)
    }
  })

  it("R-DET-4 R-SYNC-4 the bounded search with one preemption finds it, and passes the layer without the window", () => {
    const found = explore(plantedWindow({ calls: [deadlineInstant] }), {
      strategy: "dfs",
      bound: 1,
      preemptionBound: 1
    })
    expect(found.failure?.outcome).toEqual({ _tag: "Failure", message: `CheckFailed: ${violation}` })
    expect(found.failure?.preemptions).toHaveLength(1)
    const atomic = explore(plantedWindow({ calls: [deadlineInstant], atomic: true }), {
      strategy: "dfs",
      bound: 1,
      preemptionBound: 1
    })
    expect(atomic).toMatchObject({ exhausted: true, failure: undefined })
    expect(atomic.schedules).toBeGreaterThan(found.schedules)
  })
})
