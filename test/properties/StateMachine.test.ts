import { describe, expect, it } from "vitest"
import type { CaseCounts, CaseName } from "../../checker/harness/Cases.ts"
import { checkStateMachine, type StateMachineCoverage } from "../../checker/harness/StateMachine.ts"

const rules =
  "R-MOD-1 R-MOD-2 R-MOD-3 R-MOD-4 R-SEND-2 R-SEND-4 R-RECV-2 R-RECV-3 R-RECV-4 R-CLEAN-2 R-CLEAN-3 R-CLEAN-4 " +
  "R-CLEAN-5 R-SYNC-1 R-SYNC-2 R-SYNC-4 R-SYNC-5 R-SYNC-7 R-SYNC-8 R-RESP-1 R-RESP-2 R-GROUP-2 R-GROUP-3 " +
  "R-GSYNC-1 R-GSYNC-2 R-GSYNC-3 R-GSYNC-4 R-GSYNC-5 R-GSYNC-6 R-GLOBAL-3 R-GLOBAL-4 R-GLOBAL-6"

// Floors on what the runs explore, so that a change that quietly makes the rounds sequential, or
// stops preempting, fails here. Set at about half (choice points) or just under (the rest) of what
// the suite's seed measured: 24.7 choice points per run, 100% of the drawn preemptions fired,
// 53% of the rounds concurrent, 90% of the runs preempted.
const expectExplores = (coverage: StateMachineCoverage) => {
  expect(coverage.choicePoints / coverage.runs, "choice points per run").toBeGreaterThan(12)
  expect(coverage.preemptionsFired / coverage.preemptionsDrawn, "drawn preemptions that fired").toBeGreaterThan(0.9)
  expect(coverage.concurrentRounds / coverage.rounds, "rounds with racing operations").toBeGreaterThan(0.4)
  expect(coverage.runsPreempted / coverage.runs, "runs with a preemption").toBeGreaterThan(0.8)
  expect(coverage.distinctInterleavings / coverage.runs, "distinct schedules").toBeGreaterThan(0.9)
}

// Floors on the cases of the rules the generated runs reach, per run (issue 9: the generators must
// reach each; `checker/harness/Cases.ts` counts them from the model). Set at about half of what the
// suite's seed measured, so that a generator change that quietly stops reaching one fails here. One
// process, per run: a group send or call from a member 1.69, a timeout of 0 or less 2.03, none 0.96,
// a pending call's id again 0.68, an ended call's 0.68, an answer at its call's deadline instant
// 0.34, from nobody or a stranger 0.51, from a non-member 0.18, from a member gone since the call
// started 0.12 (0.08 after taking its copy), a waiting receive interrupted 0.14, a one-way message
// carrying a pending call's id 0.38.
const localFloors: CaseCounts = {
  sourceInOwnGroup: 0.8,
  zeroOrNegativeTimeout: 1,
  defaultTimeout: 0.45,
  duplicateId: 0.3,
  reusedId: 0.3,
  sendWithCallId: 0.18,
  answerAtDeadline: 0.15,
  unknownSenderAnswers: 0.25,
  nonMemberAnswers: 0.08,
  goneMemberAnswers: 0.05,
  goneAfterReceiving: 0.03,
  receiverInterrupted: 0.06
}

// Two processes (streams, then packets): the same cases but those of a member gone (its process's
// cleanup answers for it, R-SOCK-10) and of a deadline instant (rounds there never start early).
// Measured per run: 1.13 and 1.5, 1.54 and 1.9, 0.83 and 1.2, 0.44 and 0.68, 0.62 and 0.9, 0.23 and
// 0.32, 0.07 and 0.1, 0.26 and 0.27; a one-way message carrying a pending call's id 0.27 and 0.33.
const remoteFloors: CaseCounts = {
  sourceInOwnGroup: 0.5,
  zeroOrNegativeTimeout: 0.7,
  defaultTimeout: 0.4,
  duplicateId: 0.2,
  reusedId: 0.3,
  sendWithCallId: 0.12,
  unknownSenderAnswers: 0.1,
  nonMemberAnswers: 0.03,
  receiverInterrupted: 0.1
}

const expectCases = (coverage: StateMachineCoverage, floors: CaseCounts) => {
  for (const [name, floor] of Object.entries(floors))
    expect((coverage.cases[name as CaseName] ?? 0) / coverage.runs, `${name} per run`).toBeGreaterThan(floor)
  // A run that more model states explain than the oracle keeps is checked only up to there: rare, or
  // the check is weaker than it says (none in 1,000 runs of each machine with the campaign's seed).
  expect(coverage.uncheckedRuns / coverage.runs, "runs checked only in part").toBeLessThan(0.01)
}

describe("state machine: the implementation follows the reference model", () => {
  it(`${rules} R-DET-4: rounds of racing commands, under generated schedules with preemptions fitted to the run, ` +
    "stay within the states the model allows (linearizability of the whole history)", () => {
    const coverage = checkStateMachine("state-machine", { runs: 300 })
    console.log(
      `state machine: ${coverage.runs} runs, ${(coverage.choicePoints / coverage.runs).toFixed(1)} choice points/run, ` +
        `${coverage.preemptionsFired} of ${coverage.preemptionsDrawn} drawn preemptions fired, ` +
        `${coverage.concurrentRounds} of ${coverage.rounds} rounds concurrent, ${coverage.distinctInterleavings} distinct schedules; ` +
        `faults ${JSON.stringify(coverage.faults)}, ${coverage.closedWhileStalled} clients closed while the server did not read, ` +
        `${coverage.cutReads} reads cut short in ${coverage.runsWithCutReads} runs; ${coverage.uncheckedRuns} runs checked only in part; ` +
        `cases ${JSON.stringify(coverage.cases)}`
    )
    expectExplores(coverage)
    expectCases(coverage, localFloors)
  }, 120_000)

  it(`${rules}: one command at a time, without preemption (the sequential machine)`, () => {
    const coverage = checkStateMachine("state-machine-sequential", { runs: 100, maxRound: 1, preemption: false })
    expect(coverage.concurrentRounds).toBe(0)
    expect(coverage.preemptionsDrawn).toBe(0)
  }, 60_000)

  it(`${rules} R-SOCK-7 R-SOCK-8 R-SOCK-9 R-SOCK-10 R-SOCK-11 R-SOCK-12: with the modules behind the socket context ` +
    "(two processes; reconnections, crashes of the server, clients closed (also while the server does not read), stalled ends and split or coalesced reads as commands), the implementation stays within the states the two-process model allows", () => {
    const coverage = checkStateMachine("remote-state-machine", { runs: 150 })
    console.log(
      `remote state machine: ${coverage.runs} runs, ${(coverage.choicePoints / coverage.runs).toFixed(1)} choice points/run, ` +
        `${coverage.preemptionsFired} of ${coverage.preemptionsDrawn} drawn preemptions fired, ` +
        `${coverage.concurrentRounds} of ${coverage.rounds} rounds concurrent, ${coverage.distinctInterleavings} distinct schedules; ` +
        `faults ${JSON.stringify(coverage.faults)}, ${coverage.closedWhileStalled} clients closed while the server did not read, ` +
        `${coverage.cutReads} reads cut short in ${coverage.runsWithCutReads} runs; ${coverage.uncheckedRuns} runs checked only in part; ` +
        `cases ${JSON.stringify(coverage.cases)}`
    )
    // About half of what the suite's seed measured (25.9 choice points per run, 33% of the rounds
    // concurrent: faults are rounds of their own) or just under it (93% of the drawn preemptions
    // fired: a preemption may shorten the rest of the run, a crash or a close ending many paths
    // early, and the points it did not reach are moved into it once; 72% before they were).
    expect(coverage.choicePoints / coverage.runs, "choice points per run").toBeGreaterThan(15)
    expect(coverage.preemptionsFired / coverage.preemptionsDrawn, "drawn preemptions that fired").toBeGreaterThan(0.9)
    expect(coverage.concurrentRounds / coverage.rounds, "rounds with racing operations").toBeGreaterThan(0.3)
    expect(coverage.runsPreempted / coverage.runs, "runs with a preemption").toBeGreaterThan(0.8)
    // Every fault is generated, and cut reads happen: frames split over reads and joined in one.
    expect(Object.keys(coverage.faults).sort()).toEqual([
      "CloseClient",
      "Crash",
      "ReadSize",
      "Reconnect",
      "Resume",
      "Stall"
    ])
    expect(coverage.closedWhileStalled, "clients closed while the server did not read").toBeGreaterThan(0)
    expect(coverage.runsWithCutReads / coverage.runs, "runs with reads cut short").toBeGreaterThan(0.2)
    expectCases(coverage, remoteFloors)
  }, 180_000)

  it(`${rules} R-SOCK-8 R-SOCK-9 R-SOCK-11 R-SOCK-12 R-SOCK-30: with the modules behind the socket context over packets ` +
    "(one message per packet; reconnections, crashes, closes and stalled ends as commands), the implementation stays within the states the same two-process model allows", () => {
    const coverage = checkStateMachine("remote-packets-state-machine", { runs: 60 })
    console.log(
      `remote state machine over packets: ${coverage.runs} runs, ${(coverage.choicePoints / coverage.runs).toFixed(1)} choice points/run, ` +
        `${coverage.preemptionsFired} of ${coverage.preemptionsDrawn} drawn preemptions fired, ` +
        `${coverage.concurrentRounds} of ${coverage.rounds} rounds concurrent; faults ${JSON.stringify(coverage.faults)}; ` +
        `${coverage.uncheckedRuns} runs checked only in part; cases ${JSON.stringify(coverage.cases)}`
    )
    // Measured: 31.5 choice points per run, 96% of the drawn preemptions fired (80% before refitting).
    expect(coverage.choicePoints / coverage.runs, "choice points per run").toBeGreaterThan(15)
    expect(coverage.preemptionsFired / coverage.preemptionsDrawn, "drawn preemptions that fired").toBeGreaterThan(0.9)
    expect(coverage.runsPreempted / coverage.runs, "runs with a preemption").toBeGreaterThan(0.8)
    expect(Object.keys(coverage.faults).sort()).toEqual(["CloseClient", "Crash", "Reconnect", "Resume", "Stall"])
    expect(coverage.cutReads, "a packet is never cut").toBe(0)
    expectCases(coverage, remoteFloors)
  }, 180_000)
})
