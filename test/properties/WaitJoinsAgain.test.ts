/**
 * A send that waits for room joins the line of the module its name has when the wait starts
 * (R-GLOBAL-6), under any schedule: when the name was cleaned up and added again meanwhile, as a module
 * of a context type that refuses the message (as a socket or NATS module refuses one it cannot carry,
 * R-SOCK-2, R-NATS-11), the send fails with that refusal, and the message never reaches that module.
 *
 * The oracle is SPEC's wording: the send's end tells where its message went, and the message is found
 * exactly there.
 */
import { Effect, Exit, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { makeHost } from "../../src/contexts/Beehive.ts"
import { openMailbox } from "../../src/contexts/MailboxEndpoint.ts"
import type { ModuleContext } from "../../src/contexts/ModuleContext.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import { MessageEncodeError } from "../../src/model/Errors.ts"
import type * as Message from "../../src/model/Message.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"
import { arbPreemption, underPreemption } from "../support/preemption.ts"

/** A context type whose modules refuse any message whose content is "heavy", as one they cannot carry. */
const picky: ModuleContext = {
  type: "picky",
  open: (module, options) =>
    Effect.sync(() =>
      Object.assign(openMailbox(module, options), {
        contextType: "picky",
        refuse: (message: Message.Message) =>
          message.content === "heavy" ? new MessageEncodeError({ path: "content", reason: "too heavy" }) : undefined
      })
    )
}

describe("R-GLOBAL-6 a waiting send joins the module its name has when the wait starts", () => {
  it("R-GLOBAL-6 R-CLEAN-3 R-SEND-2 a send waiting for room in a module cleaned up and added again as one that refuses its message: accepted by the first (then undelivered by the cleanup), ModuleClosed, ModuleNotFound, or the second's refusal; never in the second's mailbox", () =>
    fc.assert(
      fc.property(fc.nat(), arbPreemption([0.3, 0.6]), fc.boolean(), (seed, preemption, cleanupLater) =>
        underPreemption(seed, preemption, (strategy) => {
          const sim = new SimRuntime({ strategy })
          const scope = sim.run(Scope.make())
          const host = sim.run(Scope.provide(makeHost(), scope))
          const beehive = host.beehive
          sim.run(host.plug(picky))
          sim.run(beehive.addModule("X", { capacity: 1 }))
          sim.run(beehive.send("X", msg("filler")))
          let undelivered: ReadonlyArray<string> = []
          const sender = sim.fork(beehive.send("X", msg("m", "heavy")))
          const reshaper = sim.fork(
            Effect.gen(function* () {
              if (cleanupLater) yield* Effect.yieldNow
              undelivered = (yield* beehive.cleanup("X")).undelivered.map((m) => m.header.id)
              yield* beehive.addModule("X", { contextType: "picky", capacity: 4 })
            })
          )
          sim.settle()
          expect(reshaper.pollUnsafe(), "the cleanup and the new module").toEqual(Exit.void)
          const sent = sender.pollUnsafe()
          if (sent === undefined) throw new Error("the send still waits")
          // What the new module holds: nothing, whatever happened to the send.
          const held: Array<string> = []
          for (;;) {
            const taken = sim.run(beehive.receiveAll("X", 8).pipe(Effect.timeout(0), Effect.option))
            if (taken._tag === "None") break
            held.push(...taken.value.map((m) => m.header.id))
          }
          expect(held, "the module that refuses it never holds it").toEqual([])
          if (Exit.isSuccess(sent)) expect(undelivered, "accepted by the first module").toContain("m")
          else {
            expect(undelivered).not.toContain("m")
            expect(["ModuleClosed", "ModuleNotFound", "MessageEncodeError"]).toContain(
              (errorOf(sent) as { _tag?: string } | undefined)?._tag
            )
          }
          sim.run(Scope.close(scope, Exit.void))
        })
      ),
      fcParams(300)
    ))
})
