import { describe, expect, it } from "vitest"
import { scenarios } from "../../checker/scenarios/index.ts"
import { explore } from "../../src/testing/Explore.ts"

// Small scenarios checked for every schedule within a bound on non-FIFO choices and a bound on
// preemptions (loom-style), and larger ones under PCT and fitted random preemption: exploration beyond
// what the fast-check tapes generate.
describe("bounded exhaustive and PCT exploration of the suite's scenarios", () => {
  it("R-CLEAN-6 R-CLEAN-4 cleanup races: every schedule with 2 deviations from FIFO, or with 1 preemption, passes", () => {
    const scenario = scenarios["cleanup-race"]!({
      capacity: 1,
      senders: [2],
      receivers: 1,
      cleanups: [1, 0],
      lateSend: true
    })
    for (const bounds of [
      { bound: 2, preemptionBound: 0 },
      { bound: 0, preemptionBound: 1 }
    ]) {
      const result = explore(scenario, { strategy: "dfs", ...bounds, runs: 20_000 })
      expect(result.failure).toBeUndefined()
      expect(result.exhausted).toBe(true)
      expect(result.schedules).toBeGreaterThan(50)
    }
  })

  it("R-SYNC-4 R-SYNC-5 a response racing its deadline: every schedule with 3 deviations, or 1 and a preemption, passes", () => {
    const scenario = scenarios["sendsync-deadline"]!({
      calls: [
        { timeoutMs: 10, delayMs: 10 },
        { timeoutMs: 10, delayMs: -1 }
      ]
    })
    for (const bounds of [
      { bound: 3, preemptionBound: 0 },
      { bound: 1, preemptionBound: 1 }
    ]) {
      const result = explore(scenario, { strategy: "dfs", ...bounds, runs: 20_000 })
      expect(result.failure).toBeUndefined()
      expect(result.exhausted).toBe(true)
    }
  })

  it("R-RECV-4 R-SEND-3 R-CLEAN-4 a receiver interrupted while its module is cleaned up loses no message: every schedule with 1 preemption (and 1 deviation), or 2 preemptions, passes", () => {
    // Found by this exploration at once (about 25 schedules) while receive took its message in one
    // step and returned it in the next: an interruption between them dropped the message.
    for (const senders of [[[0, 0]], [[-1, 0]]]) {
      const scenario = scenarios["message-ledger"]!({
        capacities: [2],
        senders,
        receivers: [true, false, false],
        interrupt: null,
        settleYields: 1,
        interruptReceiver: 0
      })
      for (const bounds of [
        { bound: 0, preemptionBound: 1 },
        { bound: 1, preemptionBound: 1 },
        { bound: 0, preemptionBound: 2 }
      ]) {
        const result = explore(scenario, { strategy: "dfs", ...bounds, runs: 5_000 })
        expect(result.failure, JSON.stringify(result.failure?.outcome)).toBeUndefined()
        expect(result.exhausted).toBe(true)
      }
    }
  })

  it("R-SEND-4 R-GROUP-4 R-RECV-4 the message ledger under PCT (depth 3) and fitted random preemption", () => {
    const scenario = scenarios["message-ledger"]!({
      capacities: [1, 2],
      senders: [
        [0, -1, 1],
        [-1, 0]
      ],
      receivers: [true, true, false],
      interrupt: [1, 2],
      settleYields: 3
    })
    for (const options of [
      { strategy: "pct" as const, depth: 3, runs: 300 },
      { strategy: "random" as const, preemptions: 8, runs: 300 }
    ]) {
      const result = explore(scenario, options)
      expect(result.failure, JSON.stringify(result.failure?.outcome)).toBeUndefined()
      expect(result.distinctTraces).toBeGreaterThan(10)
    }
  })
})
