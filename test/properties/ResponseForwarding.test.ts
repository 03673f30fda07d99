/**
 * Which responses go to other processes (R-GLOBAL-1): a response is offered to the plugged context
 * types only when no call of this process waits for its parent id, and never after a shutdown. A
 * call that waits and refuses the response (a group call's stranger, a member answering twice) keeps
 * it from them, even when another process sent a request with the same id (ids are the callers' to
 * choose, so they may meet). The forwarding context here claims the ids it is told to, as a socket or
 * NATS context claims those of the requests it delivered; the oracle is the list of calls the test
 * itself started and has not seen end.
 */
import { Effect, Exit, type Fiber, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { openMailbox } from "../../src/contexts/MailboxEndpoint.ts"
import type { ModuleContext } from "../../src/contexts/ModuleContext.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import { makeBeehiveWith } from "../support/contexts.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"
import { arbPreemption, underPreemption } from "../support/preemption.ts"

const ids: ReadonlyArray<string> = ["r0", "r1", "r2"]

const arbStep = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("call" as const),
      id: fc.constantFrom(...ids),
      group: fc.boolean(),
      timeout: fc.constantFrom(0, 5, 20, 60)
    })
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("respond" as const),
      parent: fc.constantFrom(...ids),
      // Members, a module outside the group, one that does not exist, or nobody named.
      responder: fc.constantFrom("a0", "a1", "s", "stranger", undefined)
    })
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.constantFrom(1, 10, 30) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "receive" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "shutdown" as const }) }
)

describe("R-GLOBAL-1 responses offered to other processes", () => {
  it("R-GLOBAL-1 R-GSYNC-3 a response is offered to the other context types exactly when no call here waits for its parent id and the context is not shut down; sendResp is true when one of them took it; a waiting call that refuses it (a stranger, a second answer) keeps it here, whatever ids the other processes' requests share", () =>
    fc.assert(
      fc.property(
        fc.subarray([...ids]),
        fc.array(arbStep, { minLength: 1, maxLength: 25 }),
        fc.nat(),
        arbPreemption([0.2, 0.5]),
        (claimed, steps, seed, preemption) =>
          underPreemption(seed, preemption, (strategy) => {
            const forwarded: Array<string> = []
            const remote: ModuleContext = {
              type: "remote",
              open: (module, options) => Effect.sync(() => openMailbox(module, options)),
              forwardResponse: (response) => {
                if (!claimed.includes(response.header.parentId)) return false
                forwarded.push(response.header.id)
                return true
              }
            }
            const sim = new SimRuntime({ strategy })
            const scope = sim.run(Scope.make())
            const beehive = sim.run(Scope.provide(makeBeehiveWith([remote]), scope))
            sim.run(
              Effect.gen(function* () {
                for (const m of ["a0", "a1", "s"]) yield* beehive.addModule(m)
                yield* beehive.addModuleGroup("a0", "g")
                yield* beehive.addModuleGroup("a1", "g")
              })
            )
            const calls: Array<{ readonly id: string; readonly fiber: Fiber.Fiber<unknown, unknown> }> = []
            let shutDown = false
            let n = 0
            for (const step of steps) {
              if (step.kind === "call") {
                const request = msg(step.id)
                calls.push({
                  id: step.id,
                  fiber: sim.fork<unknown, unknown>(
                    step.group
                      ? beehive.sendToGroupSync("g", request, step.timeout)
                      : beehive.sendSync("s", request, step.timeout)
                  )
                })
              } else if (step.kind === "respond") {
                const waiting = calls.some((call) => call.id === step.parent && call.fiber.pollUnsafe() === undefined)
                const id = `answer${n++}`
                const before = forwarded.length
                const took = sim.run(
                  beehive.sendResp(msg(id, id, { header: { parentId: step.parent } }), step.responder)
                )
                const offered = !waiting && !shutDown
                if (offered && claimed.includes(step.parent)) {
                  expect(forwarded.slice(before), `${id} went to the process whose request it answers`).toEqual([id])
                  expect(took, `${id} was taken`).toBe(true)
                } else {
                  expect(forwarded.length, `${id} stays in this process`).toBe(before)
                  if (!waiting) expect(took, `${id}: nobody took it`).toBe(false)
                }
              } else if (step.kind === "advance") sim.advanceBy(step.ms)
              else if (step.kind === "receive") {
                for (const m of ["a0", "a1", "s"]) sim.fork(beehive.receiveAll(m))
              } else {
                sim.run(beehive.shutdown)
                shutDown = true
              }
              sim.settle()
            }
            sim.run(Scope.close(scope, Exit.void))
          })
      ),
      fcParams(300)
    ))
})
