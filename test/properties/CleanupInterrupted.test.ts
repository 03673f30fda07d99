/**
 * A `cleanup` interrupted at any of its steps (R-CLEAN-5, R-SOCK-10): it cleans the module up and
 * answers every sync request from another process that it took from the mailbox, or it does nothing.
 * The interruption's place is swept as in the NATS properties: the cleanup's fiber yields every few
 * operations, and the interruption comes after a number of yields of the test's own fiber. The other
 * process is a context type whose `forwardResponse` records what it is handed.
 */
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { openMailbox } from "../../src/contexts/MailboxEndpoint.ts"
import type { ModuleContext } from "../../src/contexts/ModuleContext.ts"
import { makeBeehiveWith } from "../support/contexts.ts"
import { fcParams } from "../support/fc.ts"
import { arbOpsBeforeYield, interruptedAfter } from "../support/interruptedAfter.ts"
import { msg, settle } from "../support/messages.ts"

describe("R-CLEAN-5 a cleanup interrupted", () => {
  it("R-CLEAN-5 R-CLEAN-6 R-SOCK-10 property: a cleanup interrupted at any of its steps either leaves the module as it was, its mailbox whole, or cleans it up and answers each sync request from another process it took from the mailbox with an error response (until a property found it, one interrupted after it had taken the mailbox and before it had answered left those callers waiting for their deadlines)", () =>
    fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.nat(2),
        fc.nat(8),
        arbOpsBeforeYield,
        (requests, oneWay, after, opsBeforeYield) =>
          Effect.runPromise(
            Effect.scoped(
              Effect.gen(function* () {
                const answered: Array<string> = []
                const remote: ModuleContext = {
                  type: "remote",
                  open: (module, options) => Effect.sync(() => openMailbox(module, options)),
                  forwardResponse: (response) => {
                    answered.push(response.header.parentId)
                    return true
                  }
                }
                const beehive = yield* makeBeehiveWith([remote])
                yield* beehive.addModule("m")
                // Requests another process sent (sync, no call of this process waits for them), and messages.
                const ids = Array.from({ length: requests }, (_, i) => `r${i}`)
                for (const id of ids) yield* beehive.send("m", msg(id, id, { header: { sync: true } }))
                for (let i = 0; i < oneWay; i++) yield* beehive.send("m", msg(`o${i}`))
                yield* interruptedAfter(beehive.cleanup("m"), after, opsBeforeYield)
                yield* settle
                const m = (yield* beehive.snapshot).modules.find((module) => module.name === "m")
                if (m === undefined) expect([...answered].sort()).toEqual(ids)
                else {
                  expect(answered).toEqual([])
                  expect(m.queued).toBe(requests + oneWay)
                }
              })
            )
          )
      ),
      fcParams(300)
    ))
})
