/**
 * A call to a module of another process, interrupted at any of its steps (R-SYNC-6, R-GSYNC-7,
 * R-SOCK-9, R-SOCK-29): once it has ended, its process holds no pending call for it, whether or not
 * the responder ever answers; once the responder has answered, the responder's process owes it
 * nothing; and the next call gets its own answer. Both directions, `sendSync` and `sendToGroupSync`. The
 * interruption's place is swept as in the other interruption properties: the caller's fiber yields
 * every few operations, and the interruption comes after a number of yields of the test's own fiber.
 */
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { BeehiveService } from "../../src/contexts/Beehive.ts"
import * as Message from "../../src/model/Message.ts"
import { makePair, run, waitForEffect } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { arbOpsBeforeYield, interruptedAfter } from "../support/interruptedAfter.ts"
import { msg } from "../support/messages.ts"

/** A module that answers every request it receives, unless it is silent at the time. */
const answering = (b: BeehiveService, module: string, silent: () => boolean) =>
  Effect.forkScoped(
    Effect.gen(function* () {
      while (true) {
        const request = yield* b.receive(module)
        if (request.header.sync && !silent()) yield* b.sendResp(yield* Message.newResponse(request, "ok"), module)
      }
    })
  )

describe("R-SYNC-6 a call to another process, interrupted", () => {
  it(
    "R-SYNC-6 R-GSYNC-7 R-SOCK-9 R-SOCK-29 property: a sendSync or sendToGroupSync to another process (either way), interrupted at any of its steps, leaves no pending call in the caller's process, answered or not, no request owed an answer in the responder's once answered, and the next call gets its own answer",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.record({
            interruptAfter: fc.nat(40),
            opsBeforeYield: arbOpsBeforeYield,
            fromClient: fc.boolean(),
            group: fc.boolean(),
            answered: fc.boolean()
          }),
          (script) =>
            run(
              Effect.gen(function* () {
                const { s, c } = yield* makePair()
                // Silent, a responder never answers the interrupted call: the caller's process must not
                // wait for an answer to forget it.
                let silent = !script.answered
                yield* answering(s.beehive, "A", () => silent)
                yield* answering(s.beehive, "B", () => silent)
                yield* answering(c.beehive, "X", () => silent)
                // From the client to the server's modules (A, or group g: A and B); from the server to
                // the client's module (X, or its group of its own name).
                const [caller, responder] = script.fromClient ? [c, s] : [s, c]
                const target = script.fromClient ? (script.group ? "g" : "A") : "X"
                const call = (id: string) =>
                  script.group
                    ? Effect.asVoid(caller.beehive.sendToGroupSync(target, msg(id), 60_000))
                    : Effect.asVoid(caller.beehive.sendSync(target, msg(id), 60_000))
                yield* interruptedAfter(Effect.ignore(call("q")), script.interruptAfter, script.opsBeforeYield)
                // The interrupted call has ended: nothing waits for it in its process, answered or not.
                expect((yield* caller.beehive.snapshot).pendingCalls).toEqual([])
                if (script.answered)
                  yield* waitForEffect(responder.socket.pendingRequests, (owed) => owed === 0, "no request owed", 1000)
                silent = false
                const answer = yield* caller.beehive.sendSync(script.fromClient ? "A" : "X", msg("next"), 1000)
                expect(answer.header.parentId).toBe("next")
                expect((yield* caller.beehive.snapshot).pendingCalls).toEqual([])
              })
            )
        ),
        fcParams(300)
      ),
    120_000
  )
})
