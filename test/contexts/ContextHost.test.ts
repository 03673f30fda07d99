/**
 * The one way a context type plugs in (R-API-5): the `ContextHost` built with a global context.
 */
import { Effect, Layer, type Scope } from "effect"
import { describe, expect, it } from "vitest"
import { Beehive } from "../../src/contexts/Beehive.ts"
import { ChannelContext } from "../../src/contexts/ChannelContext.ts"
import { ContextHost } from "../../src/contexts/ContextHost.ts"
import { openMailbox } from "../../src/contexts/MailboxEndpoint.ts"
import type { ModuleContext } from "../../src/contexts/ModuleContext.ts"
import { msg } from "../support/messages.ts"

const run = <A, E>(body: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(body) as Effect.Effect<A, E>)

const mailboxes = (type: string): ModuleContext => ({
  type,
  open: (module, options) => Effect.sync(() => openMailbox(module, options))
})

describe("ContextHost", () => {
  it("R-API-5 a plugged context type opens the endpoints of its modules; the host's beehive is the global context", () =>
    run(
      Effect.gen(function* () {
        const host = yield* Beehive.makeHost()
        expect((yield* Effect.flip(host.beehive.addModule("m", { contextType: "other" })))._tag).toBe(
          "UnknownContextType"
        )
        yield* host.plug(mailboxes("other"))
        yield* host.beehive.addModule("m", { contextType: "other" })
        yield* host.beehive.send("m", msg("one"))
        expect((yield* host.beehive.receive("m")).header.id).toBe("one")
        expect((yield* host.beehive.snapshot).modules.map((m) => m.contextType)).toEqual(["channel"])
      })
    ))

  it("R-API-5 plugging a type name twice fails with InvalidArgument and changes nothing, the channel's included", () =>
    run(
      Effect.gen(function* () {
        const host = yield* Beehive.makeHost()
        expect(yield* Effect.flip(host.plug(ChannelContext.make))).toMatchObject({
          _tag: "InvalidArgument",
          operation: "plug",
          argument: "context type"
        })
        const opened: Array<string> = []
        const first: ModuleContext = {
          type: "other",
          open: (module, options) =>
            Effect.sync(() => {
              opened.push(module)
              return openMailbox(module, options)
            })
        }
        yield* host.plug(first)
        const second: ModuleContext = { type: "other", open: () => Effect.die("the second one opened an endpoint") }
        expect(yield* Effect.flip(host.plug(second))).toMatchObject({ _tag: "InvalidArgument", operation: "plug" })
        yield* host.beehive.addModule("m", { contextType: "other" })
        expect(opened).toEqual(["m"])
      })
    ))

  it("R-API-3 R-API-5 plug refuses what is not a context type of this package, and plugs nothing after shutdown", () =>
    run(
      Effect.gen(function* () {
        const host = yield* Beehive.makeHost()
        for (const bad of [{ type: "bare" }, null, { type: "", open: () => Effect.die("no") }] as const) {
          expect(yield* Effect.flip(host.plug(bad as never))).toMatchObject({
            _tag: "InvalidArgument",
            operation: "plug"
          })
        }
        expect((yield* Effect.flip(host.beehive.addModule("m", { contextType: "bare" })))._tag).toBe(
          "UnknownContextType"
        )
        yield* host.beehive.shutdown
        expect(yield* Effect.flip(host.plug(mailboxes("late")))).toMatchObject({
          _tag: "BeehiveShutdown",
          operation: "plug"
        })
      })
    ))

  it("R-API-5 Beehive.layer provides the global context and its host, the same context", () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const host = yield* ContextHost
        expect(host.beehive).toBe(yield* Beehive)
        expect(host.isPending("none")).toBe(false)
      }).pipe(Effect.provide(Layer.fresh(Beehive.layer)))
    ))
})
