import fc from "fast-check"
import { describe, it } from "vitest"
import { checkScenarios } from "./harness/ScenarioProperty.ts"

const timeout = fc.constantFrom(0, 10, 20, 50)

describe("named properties", () => {
  it(
    "R-SYNC-1 R-SYNC-4 R-SYNC-5 R-SYNC-6 SendSync deadlines: a response before the deadline is always returned; a timeout comes exactly at the deadline, never earlier; 30 s by default",
    () =>
      checkScenarios(
        "sendsync-deadline",
        fc.record({
          calls: fc.array(
            fc.record({
              timeoutMs: timeout,
              delayMs: fc.oneof(fc.constantFrom(-1, 0, 10, 20, 50, 30_000), fc.nat({ max: 60 }))
            }),
            { minLength: 1, maxLength: 3 }
          )
        }),
        { runs: 250 }
      ),
    60_000
  )

  it(
    "R-GSYNC-2 R-GSYNC-5 R-GSYNC-6 R-RESP-1 group-sync response counting: success exactly when every member answered once",
    () =>
      checkScenarios(
        "groupsync-counting",
        fc.record({
          answers: fc.array(fc.constantFrom(0, 1, 1, 1, 2), { minLength: 1, maxLength: 3 }),
          stranger: fc.constant(false),
          anonymous: fc.boolean(),
          leaver: fc.integer({ min: -1, max: 2 }),
          leaveAfter: fc.nat({ max: 4 }),
          timeoutMs: timeout
        }),
        { runs: 250, preemption: false }
      ),
    60_000
  )

  it(
    "R-GSYNC-3 R-RESP-1 uninvited-response detection: duplicates and non-members are reported, never counted",
    () =>
      checkScenarios(
        "groupsync-counting",
        fc.record({
          answers: fc.array(fc.constantFrom(1, 2), { minLength: 1, maxLength: 3 }),
          stranger: fc.boolean(),
          anonymous: fc.boolean(),
          leaver: fc.constant(-1),
          leaveAfter: fc.constant(0),
          timeoutMs: timeout
        }),
        { runs: 250, preemption: false }
      ),
    60_000
  )

  it(
    "R-CLEAN-2 R-CLEAN-3 R-CLEAN-4 R-CLEAN-6 cleanup-close ordering: after cleanup nothing reaches the module; accepted messages are received or undelivered exactly once; concurrent cleanups are safe",
    () =>
      checkScenarios(
        "cleanup-race",
        fc.record({
          capacity: fc.integer({ min: 1, max: 2 }),
          senders: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 2 }),
          receivers: fc.nat({ max: 2 }),
          cleanups: fc.array(fc.nat({ max: 6 }), { minLength: 1, maxLength: 2 }),
          lateSend: fc.boolean()
        }),
        { runs: 300 }
      ),
    60_000
  )

  const ledger = fc.record({
    capacities: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
    senders: fc.array(fc.array(fc.integer({ min: -1, max: 2 }), { minLength: 1, maxLength: 5 }), {
      minLength: 1,
      maxLength: 3
    }),
    receivers: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    interrupt: fc.option(fc.tuple(fc.nat({ max: 2 }), fc.nat({ max: 5 }))),
    settleYields: fc.nat({ max: 8 })
  })

  it(
    "R-SEND-3 R-RECV-4 R-GROUP-5 R-CLEAN-4 conservation: no message is lost, duplicated or invented, anywhere",
    () => checkScenarios("message-ledger", ledger, { runs: 300 }),
    60_000
  )

  it(
    "R-SEND-4 R-GROUP-4 per-sender FIFO: each sender's messages reach each module in the order sent",
    () =>
      checkScenarios(
        "message-ledger",
        ledger.map((l) => ({ ...l, interrupt: null })),
        { runs: 200 }
      ),
    60_000
  )

  it(
    "R-SYNC-6 R-GSYNC-7 R-CLEAN-3 no leaks: at quiescence no reply slot, group collector, timer or fiber remains",
    () =>
      checkScenarios(
        "sync-workload",
        fc.record({
          calls: fc.array(
            fc.record({
              target: fc.integer({ min: -1, max: 2 }),
              timeoutMs: timeout,
              interruptAfter: fc.integer({ min: -1, max: 4 })
            }),
            { minLength: 1, maxLength: 3 }
          ),
          answers: fc.array(fc.nat({ max: 2 }), { minLength: 1, maxLength: 3 }),
          cleanup: fc.option(fc.tuple(fc.nat({ max: 2 }), fc.nat({ max: 4 })))
        }),
        { runs: 250 }
      ),
    60_000
  )
})
