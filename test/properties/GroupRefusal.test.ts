/**
 * All or nothing for group sends (R-SOCK-2, R-GLOBAL-1): a member whose context cannot carry a
 * message (as a socket refuses content JSON cannot carry, or a message over its frame limit) makes
 * `sendToGroup` and `sendToGroupSync` fail with that member's `MessageEncodeError` before any copy is
 * offered: no member of the group gets a copy, no call is registered. The refusing context here is a
 * mailbox context with a size limit, so that the rule is checked in the global context, where it
 * lives, for any mix of members, limits and message sizes.
 */
import { Effect, Exit, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MailboxEndpoint } from "../../src/contexts/MailboxEndpoint.ts"
import type { EndpointOptions, ModuleContext } from "../../src/contexts/ModuleContext.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import { MessageEncodeError } from "../../src/model/Errors.ts"
import type { Message } from "../../src/model/Message.ts"
import { makeBeehiveWith } from "../support/contexts.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"

/** A mailbox that refuses a message whose content is longer than `limit` characters. */
class LimitedEndpoint extends MailboxEndpoint {
  readonly limit: number
  constructor(module: string, options: EndpointOptions, limit: number) {
    super(module, options)
    this.limit = limit
  }
  readonly refuse = (message: Message): MessageEncodeError | undefined =>
    String(message.content).length > this.limit
      ? new MessageEncodeError({ path: `${this.module}.content`, reason: `longer than ${this.limit}` })
      : undefined
}

/** A context type of such mailboxes, one per limit. */
const limited = (limit: number): ModuleContext => ({
  type: `limited-${limit}`,
  open: (module, options) => Effect.sync(() => new LimitedEndpoint(module, options, limit))
})

describe("R-SOCK-2 all or nothing for group sends", () => {
  it("R-SOCK-2 R-GLOBAL-1 a member that cannot carry the message fails sendToGroup and sendToGroupSync with its error, and no member gets a copy", () =>
    fc.assert(
      fc.property(
        // Each member: a plain mailbox, or one that refuses content longer than its limit.
        fc.array(fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 30 }),
        fc.constantFrom("sendToGroup" as const, "sendToGroupSync" as const),
        (limits, size, operation) => {
          const sim = new SimRuntime()
          const scope = sim.run(Scope.make())
          const contexts = [...new Set(limits.filter((l) => l !== undefined))].map(limited)
          const beehive = sim.run(Scope.provide(makeBeehiveWith(contexts), scope))
          const members = limits.map((_, i) => `member${i}`)
          sim.run(
            Effect.gen(function* () {
              for (const [i, m] of members.entries()) {
                const limit = limits[i]
                yield* beehive.addModule(m, limit === undefined ? {} : { contextType: `limited-${limit}` })
                yield* beehive.addModuleGroup(m, "g")
              }
            })
          )
          const message = msg("request", "x".repeat(size))
          const call = sim.fork<unknown, unknown>(
            operation === "sendToGroup"
              ? beehive.sendToGroup("g", message)
              : beehive.sendToGroupSync("g", message, 60_000)
          )
          sim.settle()
          const refusing = limits.findIndex((l) => l !== undefined && size > l)
          const snapshot = sim.run(beehive.snapshot)
          const queued = members.map((m) => snapshot.modules.find((s) => s.name === m)?.queued)
          if (refusing >= 0) {
            // The first member in join order that cannot carry it names itself in the error.
            const exit = call.pollUnsafe()
            expect(exit, "the call ended at once").toBeDefined()
            const error = errorOf(exit as Exit.Exit<unknown, unknown>) as MessageEncodeError | undefined
            expect(error).toBeInstanceOf(MessageEncodeError)
            expect(error?.path).toBe(`member${refusing}.content`)
            expect(queued).toEqual(members.map(() => 0))
            expect(snapshot.pendingCalls).toEqual([])
          } else {
            // Every member can carry it: each has its copy (the sync call waits for answers).
            expect(queued).toEqual(members.map(() => 1))
            if (operation === "sendToGroup") expect(call.pollUnsafe()).toMatchObject({ _tag: "Success" })
            else expect(snapshot.pendingCalls).toEqual(["request"])
          }
          sim.run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(150)
    ))

  it("R-SOCK-2 a module that cannot carry the message fails send and sendSync with its error, before or while they wait for room, and gets nothing", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 30 }),
        fc.boolean(),
        fc.constantFrom("send" as const, "sendSync" as const),
        (limit, size, full, operation) => {
          const sim = new SimRuntime()
          const scope = sim.run(Scope.make())
          const beehive = sim.run(Scope.provide(makeBeehiveWith([limited(limit)]), scope))
          sim.run(beehive.addModule("m", { contextType: `limited-${limit}`, capacity: 1 }))
          // A full mailbox makes the call wait for room: the refusal is checked again when it waits.
          if (full) sim.run(beehive.send("m", msg("filler", "")))
          const message = msg("request", "x".repeat(size))
          const call = sim.fork<unknown, unknown>(
            operation === "send" ? beehive.send("m", message) : beehive.sendSync("m", message, 60_000)
          )
          sim.settle()
          const snapshot = sim.run(beehive.snapshot)
          const module = snapshot.modules.find((s) => s.name === "m")
          if (size > limit) {
            const exit = call.pollUnsafe()
            expect(exit, "the call ended at once").toBeDefined()
            const error = errorOf(exit as Exit.Exit<unknown, unknown>) as MessageEncodeError | undefined
            expect(error).toBeInstanceOf(MessageEncodeError)
            expect(error?.path).toBe("m.content")
            expect(module?.queued).toBe(full ? 1 : 0)
            expect(module?.waitingSenders).toBe(0)
            expect(snapshot.pendingCalls).toEqual([])
          } else if (full) {
            expect(call.pollUnsafe(), "the call waits for room").toBeUndefined()
            expect(module?.waitingSenders).toBe(1)
          } else {
            expect(module?.queued).toBe(1)
            if (operation === "send") expect(call.pollUnsafe()).toMatchObject({ _tag: "Success" })
            else expect(snapshot.pendingCalls).toEqual(["request"])
          }
          sim.run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(150)
    ))
})
