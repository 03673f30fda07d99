/**
 * The response counter of one `sendToGroupSync` taken alone (R-GSYNC-2..6), against the reference
 * model's reading of SPEC over the raw events (`spec/model/Calls.ts`): any sequence of responses
 * (from members, from non-members, unattributed), members cleaned up and the deadline, including
 * events after the call has ended. Each response's `true`/`false`, whether the call still waits,
 * and the outcome must be the model's; after the end nothing counts and nothing changes.
 *
 * The state machine reaches the counter only through the global context, where the caller removes
 * an ended call in the step that ends it; the counter's own contract (what it answers once over)
 * is checked here.
 */
import type { Exit } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { summarizeExit } from "../../checker/harness/Summaries.ts"
import { expire, memberGone, openGroupCall, respond } from "../../spec/model/Calls.ts"
import { callOf, initialState } from "../../spec/model/State.ts"
import type { GroupCollectorError } from "../../src/effects/GroupCollector.ts"
import { GroupCollector } from "../../src/effects/GroupCollector.ts"
import * as Message from "../../src/model/Message.ts"
import type { GroupSyncResult } from "../../src/model/Reports.ts"
import { fcParams } from "../support/fc.ts"

const names = ["a", "b", "c", "d"] as const

type Event =
  | { readonly _tag: "response"; readonly from: string | undefined }
  | { readonly _tag: "gone"; readonly member: string }
  | { readonly _tag: "deadline" }

const events: fc.Arbitrary<ReadonlyArray<Event>> = fc.array(
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({ _tag: fc.constant("response" as const), from: fc.constantFrom(...names, "x") })
    },
    { weight: 2, arbitrary: fc.constant({ _tag: "response" as const, from: undefined }) },
    { weight: 2, arbitrary: fc.record({ _tag: fc.constant("gone" as const), member: fc.constantFrom(...names) }) },
    { weight: 1, arbitrary: fc.constant({ _tag: "deadline" as const }) }
  ),
  { maxLength: 14 }
)

describe("R-GSYNC the response counter of one group call", () => {
  it("R-GSYNC-2 R-GSYNC-3 R-GSYNC-4 R-GSYNC-5 R-GSYNC-6 the counter answers each response, waits and decides as the model reads SPEC; after the end nothing counts", () =>
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...names), { minLength: 1, maxLength: names.length }),
        events,
        (members, script) => {
          const collector = new GroupCollector("req", "g", members)
          let ended: Exit.Exit<GroupSyncResult, GroupCollectorError> | undefined
          const armed = collector.arm((exit) => {
            ended = exit
          })
          if (typeof armed !== "function") throw new Error("a call with members decided before anything came")
          const model = initialState()
          const call = openGroupCall("call", "req", "g", members, 10)
          model.calls.push(call)
          for (const [i, event] of script.entries()) {
            const at = `event ${i} ${JSON.stringify(event)}`
            if (event._tag === "response") {
              const response = Message.make({ header: { id: `r${i}`, parentId: "req" } })
              expect(collector.deliver(response, event.from), at).toBe(respond(model, `r${i}`, "req", event.from))
            } else if (event._tag === "gone") {
              collector.memberGone(event.member)
              memberGone(model, event.member)
            } else {
              const atDeadline = collector.expire()
              ended ??= atDeadline
              expire(model, 10)
            }
            const waits = callOf(model, "req") !== undefined
            expect(collector.isOpen, at).toBe(waits)
            expect(ended === undefined, at).toBe(waits)
            if (ended !== undefined) expect(summarizeExit("SendToGroupSync", ended), at).toBe(model.outcomes.call)
          }
        }
      ),
      fcParams(500)
    ))
})
