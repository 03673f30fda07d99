/**
 * Floors on what the socket properties reach (checker/scenarios/socketLedger.ts): the faults they
 * generate must take effect, connections must be made again, losses that R-SOCK-11 allows must occur,
 * and synchronous calls must end every way they can. A generator change that quietly stops reaching
 * them fails here instead of leaving the properties to hold over fault-free runs. The schedule
 * coverage of the same properties (choice points, preemptions fired) is kept by Coverage.test.ts.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { properties } from "../../checker/properties.ts"
import { everyFault } from "../../checker/scenarios/socketInputs.ts"
import { type SocketLedgerSummary, socketLedger, summaryOf } from "../../checker/scenarios/socketLedger.ts"
import { random, runSeed } from "../../src/effects/Strategy.ts"
import { runScenario } from "../../src/testing/Scenario.ts"

const sampleRuns = 25

/** Runs a sample of a property's inputs, each under one seeded random schedule, and collects their summaries. */
const sample = (index: number): Array<SocketLedgerSummary> => {
  const property = properties[index]
  if (property === undefined) throw new Error(`no property ${index}`)
  return fc.sample(property.input, { seed: index, numRuns: sampleRuns }).map((input, i) => {
    const run = runScenario(socketLedger(input as never), random(runSeed(index, i), 0.02))
    expect(run.outcome, JSON.stringify(input)).toEqual({ _tag: "Success" })
    const summary = summaryOf(run.trace)
    if (summary === undefined) throw new Error("the run noted no summary")
    return summary
  })
}

const socketProperties = properties.flatMap((p, i) => (p.scenario === "socket-ledger" ? [i] : []))
// Both tests read the same sample, run once.
let sampled: Array<SocketLedgerSummary> | undefined
const allRuns = () => {
  sampled ??= socketProperties.flatMap(sample)
  return sampled
}
const share = (runs: ReadonlyArray<SocketLedgerSummary>, holds: (s: SocketLedgerSummary) => boolean) =>
  runs.filter(holds).length / runs.length

describe("what the socket properties reach", () => {
  it("R-SOCK-11 R-SOCK-12 R-SOCK-17 R-SOCK-21 every fault takes effect, connections are made again, and written copies are reported unsent or in doubt, never lost", () => {
    expect(socketProperties.length).toBeGreaterThanOrEqual(3)
    const runs = allRuns()
    const applied = new Set(runs.flatMap((r) => r.faults))
    expect(everyFault.filter((f) => !applied.has(f))).toEqual([])
    console.log(
      `socket properties (${runs.length} runs): ${Math.round(100 * share(runs, (r) => r.faults.length > 0))}% with a fault, ` +
        `${Math.round(100 * share(runs, (r) => r.connections > 1))}% reconnected, ` +
        `${Math.round(100 * share(runs, (r) => r.lost > 0))}% with a copy lost to a crash, ` +
        `${runs.reduce((n, r) => n + r.inDoubt, 0)} reported in doubt, ` +
        `${runs.reduce((n, r) => n + r.received, 0)} of ${runs.reduce((n, r) => n + r.copies, 0)} copies received, ` +
        `${runs.reduce((n, r) => n + r.unsent, 0)} reported unsent`
    )
    expect(share(runs, (r) => r.faults.length > 0)).toBeGreaterThanOrEqual(0.5)
    expect(share(runs, (r) => r.connections > 1)).toBeGreaterThanOrEqual(0.2)
    // Nothing is lost on the wire any more (R-SOCK-21): a copy is missing only with a crashed process,
    // and copies written to a peer that never said are reported in doubt.
    expect(share(runs, (r) => r.lost > 0 && !r.faults.includes("crash"))).toBe(0)
    expect(share(runs, (r) => r.inDoubt > 0)).toBeGreaterThan(0)
    // The Unsent report is exercised: the oracle then checks that no copy is both unsent and delivered.
    expect(share(runs, (r) => r.unsent > 0)).toBeGreaterThan(0)
  }, 60_000)

  it("R-SOCK-9 R-SOCK-11 R-SYNC-4 synchronous calls across processes end every way they can", () => {
    const outcomes = allRuns().flatMap((r) => r.sync)
    const count = (tag: string) => outcomes.filter((t) => t === tag).length
    console.log(
      `socket sync outcomes: ${[...new Set(outcomes)].map((t) => `${t} ${count(t)}`).join(", ")} (${outcomes.length} calls)`
    )
    for (const tag of ["Success", "SyncTimeout", "RequestDropped", "ModuleNotFound", "GroupSyncError"]) {
      expect(count(tag), tag).toBeGreaterThan(0)
    }
  }, 60_000)
})
