/**
 * `addModule`'s refusals as a property (R-MOD-1, R-MOD-2, R-GLOBAL-4): over any sequence of
 * additions (of a context type plugged in or not), cleanups and a shutdown, each addition fails with
 * the first refusal that applies, in SPEC's order (the shutdown, then the context type, then the name
 * taken), and a refused addition opens nothing: the context type is asked to open exactly the
 * endpoints of the additions that succeed, in their order.
 *
 * The oracle is a set of names and a flag written from SPEC.md, never the module table's code.
 */
import { Effect, Exit, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Beehive } from "../../src/contexts/Beehive.ts"
import { openMailbox } from "../../src/contexts/MailboxEndpoint.ts"
import type { ModuleContext } from "../../src/contexts/ModuleContext.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"

type Command =
  | { readonly _tag: "add"; readonly name: string; readonly plugged: boolean }
  | { readonly _tag: "cleanup"; readonly name: string }
  | { readonly _tag: "shutdown" }

const names = fc.constantFrom("edged", "twin", "meta")

const commands: fc.Arbitrary<ReadonlyArray<Command>> = fc.array(
  fc.oneof(
    { weight: 5, arbitrary: fc.record({ _tag: fc.constant("add" as const), name: names, plugged: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ _tag: fc.constant("cleanup" as const), name: names }) },
    { weight: 1, arbitrary: fc.constant({ _tag: "shutdown" as const }) }
  ),
  { maxLength: 20 }
)

describe("R-MOD-2 addModule's refusals", () => {
  it("R-MOD-1 R-MOD-2 R-GLOBAL-4 an addModule fails with the first refusal in SPEC's order (shutdown, context type, name taken) and a refused one opens no endpoint", () =>
    fc.assert(
      fc.property(commands, (script) => {
        const sim = new SimRuntime()
        const scope = sim.run(Scope.make())
        const host = sim.run(Scope.provide(Beehive.makeHost(), scope))
        const opened: Array<string> = []
        const recording: ModuleContext = {
          type: "recording",
          open: (module, options) =>
            Effect.sync(() => {
              opened.push(module)
              return openMailbox(module, options)
            })
        }
        sim.run(host.plug(recording))
        const beehive = host.beehive
        const added = new Set<string>()
        const expectedOpens: Array<string> = []
        let shutdown = false
        for (const command of script) {
          if (command._tag === "shutdown") {
            sim.run(beehive.shutdown)
            shutdown = true
            added.clear()
            continue
          }
          if (command._tag === "cleanup") {
            const exit = sim.runSync(beehive.cleanup(command.name))
            if (added.has(command.name)) expect(exit._tag).toBe("Success")
            else expect(errorOf(exit)).toMatchObject({ _tag: "ModuleNotFound" })
            added.delete(command.name)
            continue
          }
          const contextType = command.plugged ? "recording" : "absent"
          const exit = sim.runSync(beehive.addModule(command.name, { contextType }))
          const refusal = shutdown
            ? "BeehiveShutdown"
            : !command.plugged
              ? "UnknownContextType"
              : added.has(command.name)
                ? "ModuleAlreadyExists"
                : undefined
          if (refusal === undefined) {
            expect(exit).toEqual(Exit.void)
            added.add(command.name)
            expectedOpens.push(command.name)
          } else expect(errorOf(exit)).toMatchObject({ _tag: refusal })
          expect(opened).toEqual(expectedOpens)
        }
        const table = sim.run(beehive.snapshot).modules.map((m) => m.name)
        expect(new Set(table)).toEqual(added)
        sim.run(Scope.close(scope, Exit.void))
      }),
      fcParams(200)
    ))
})
