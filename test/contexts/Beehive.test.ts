import { Effect, Exit, Fiber, Layer, Result, Scope } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import { Beehive, timeoutMillis } from "../../src/contexts/Beehive.ts"
import { openMailbox } from "../../src/contexts/MailboxEndpoint.ts"
import type { ModuleContext } from "../../src/contexts/ModuleContext.ts"
import { asModule } from "../../src/effects/CurrentModule.ts"
import * as Message from "../../src/model/Message.ts"
import { itEffect } from "../support/itEffect.ts"
import { msg, settle } from "../support/messages.ts"

const respond = (request: Message.Message, content: unknown, id = `resp-${request.header.id}`) =>
  Message.make({ header: { id, parentId: request.header.id, timestamp: 2 }, content })

/** A second context type, to check routing by type and mixed groups. */
const fakeContext: ModuleContext = {
  type: "fake",
  open: (module, options) =>
    Effect.sync(() => Object.defineProperty(openMailbox(module, options), "contextType", { value: "fake" }))
}

describe("Beehive (Effect API, virtual time)", () => {
  itEffect("R-SYNC-1 without a timeout (or with one <= 0) a sendSync times out at exactly 30 s", () =>
    Effect.gen(function* () {
      const b = yield* Beehive
      yield* b.addModule("m")
      const calls = yield* Effect.forEach([undefined, 0, -5], (t, i) =>
        Effect.forkChild(Effect.exit(b.sendSync("m", msg(`r${i}`), t)))
      )
      yield* TestClock.adjust(29_999)
      for (const f of calls) expect(f.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust(1)
      for (const f of calls) {
        const exit = yield* Fiber.join(f)
        expect(exit).toMatchObject({ _tag: "Failure" })
        expect(Exit.isFailure(exit) && exit.cause.reasons[0]).toMatchObject({
          error: { _tag: "SyncTimeout", timeoutMs: 30_000, phase: "response" }
        })
      }
      expect(timeoutMillis("2 seconds")).toEqual(Result.succeed(2000))
      expect(timeoutMillis(-1)).toEqual(Result.succeed(30_000))
      expect(Result.isFailure(timeoutMillis(Number.NaN))).toBe(true)
    })
  )

  itEffect("R-SYNC-5 a timeout happens at the deadline, never earlier, and covers both phases", () =>
    Effect.gen(function* () {
      const b = yield* Beehive
      yield* b.addModule("full", { capacity: 1 })
      yield* b.send("full", msg("fill"))
      const call = yield* Effect.forkChild(Effect.flip(b.sendSync("full", msg("req"), 100)))
      yield* TestClock.adjust(60)
      yield* b.receive("full")
      yield* b.receive("full")
      yield* TestClock.adjust(39)
      expect(call.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust(1)
      expect(yield* Fiber.join(call)).toMatchObject({ _tag: "SyncTimeout", phase: "response", timeoutMs: 100 })
    })
  )

  itEffect("R-SYNC-4 a response sent before the caller suspends is returned (Go loses it)", () =>
    Effect.gen(function* () {
      const b = yield* Beehive
      yield* b.addModule("echo")
      const accepted: Array<boolean> = []
      // The responder answers inside the caller's enqueue: before the caller has reached its wait.
      yield* Effect.forkChild(
        Effect.forever(
          Effect.gen(function* () {
            const request = yield* b.receive("echo")
            accepted.push(yield* b.sendResp(respond(request, request.content)))
          })
        )
      )
      yield* settle
      for (let i = 0; i < 100; i++) {
        const response = yield* b.sendSync("echo", msg(`q${i}`, i), 50)
        expect(response.content).toBe(i)
      }
      expect(accepted.every((a) => a)).toBe(true)
      expect((yield* b.snapshot).pendingCalls).toEqual([])
    })
  )

  itEffect("R-SYNC-4 a response and the deadline at the same instant: sendResp's answer tells which won", () =>
    Effect.gen(function* () {
      const b = yield* Beehive
      yield* b.addModule("slow")
      const call = yield* Effect.forkChild(Effect.exit(b.sendSync("slow", msg("req"), 100)))
      const request = yield* b.receive("slow")
      const responder = yield* Effect.forkChild(
        Effect.andThen(Effect.sleep(100), b.sendResp(respond(request, "just in time")))
      )
      yield* TestClock.adjust(100)
      const accepted = yield* Fiber.join(responder)
      const exit = yield* Fiber.join(call)
      expect(Exit.isSuccess(exit)).toBe(accepted)
    })
  )

  itEffect("R-RESP-3 inside a module, sendResp without `from` is attributed to the module", () =>
    Effect.gen(function* () {
      const b = yield* Beehive
      for (const m of ["a", "b"]) {
        yield* b.addModule(m)
        yield* b.addModuleGroup(m, "g")
        yield* Effect.forkChild(
          asModule(m)(
            Effect.gen(function* () {
              const request = yield* b.receive(m)
              yield* b.sendResp(respond(request, m, `r-${m}`))
              yield* b.sendResp(respond(request, m, `again-${m}`))
            })
          )
        )
      }
      const exit = yield* Effect.exit(b.sendToGroupSync("g", msg("req"), 1000))
      expect(exit).toMatchObject({ _tag: "Failure" })
      const error = Exit.isFailure(exit) ? (exit.cause.reasons[0] as { error: unknown }).error : undefined
      expect(error).toMatchObject({ reason: "Uninvited", responded: ["a", "b"], uninvited: 1 })
    })
  )

  itEffect("R-RECV-4 a receiver interrupted after a message was handed to it gives the message back", () =>
    Effect.gen(function* () {
      const b = yield* Beehive
      yield* b.addModule("m")
      const receiver = yield* Effect.forkChild(b.receive("m"))
      yield* settle
      // send hands the message over and wakes the receiver from a scheduler task; the interrupt
      // lands first.
      yield* b.send("m", msg("handed"))
      yield* Fiber.interrupt(receiver)
      expect((yield* b.snapshot).modules[0]?.queued).toBe(1)
      expect((yield* b.receive("m")).header.id).toBe("handed")
      const orphans: Array<string> = []
      const c = yield* Beehive.make({ onUndeliverable: (module, m) => orphans.push(`${module}:${m.header.id}`) })
      yield* c.addModule("n")
      const late = yield* Effect.forkChild(c.receive("n"))
      yield* settle
      yield* c.send("n", msg("lost"))
      yield* c.cleanup("n")
      yield* Fiber.interrupt(late)
      expect(orphans).toEqual(["n:lost"])
    })
  )

  itEffect("R-GSYNC-1 without a timeout a sendToGroupSync waits 30 s", () =>
    Effect.gen(function* () {
      const b = yield* Beehive
      yield* b.addModule("a")
      yield* b.addModuleGroup("a", "g")
      const call = yield* Effect.forkChild(Effect.flip(b.sendToGroupSync("g", msg("req"))))
      yield* TestClock.adjust(29_999)
      expect(call.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust(1)
      expect(yield* Fiber.join(call)).toMatchObject({ reason: "Timeout", missing: ["a"] })
    })
  )

  itEffect("R-GSYNC-4 copies still waiting for room at the deadline are withdrawn", () =>
    Effect.gen(function* () {
      const b = yield* Beehive
      yield* b.addModule("full", { capacity: 1 })
      yield* b.addModuleGroup("full", "g")
      yield* b.send("full", msg("fill"))
      const call = yield* Effect.forkChild(Effect.flip(b.sendToGroupSync("g", msg("req"), 10)))
      yield* settle
      expect((yield* b.snapshot).modules[0]?.waitingSenders).toBe(1)
      yield* TestClock.adjust(10)
      expect(yield* Fiber.join(call)).toMatchObject({ reason: "Timeout", missing: ["full"] })
      expect((yield* b.snapshot).modules[0]).toMatchObject({ queued: 1, waitingSenders: 0 })
    })
  )

  itEffect(
    "R-GLOBAL-1 operations route to the endpoint of the module's context type; R-GLOBAL-2 groups mix types",
    () =>
      Effect.gen(function* () {
        const b = yield* Beehive
        yield* b.addModule("local")
        yield* b.addModule("other", { contextType: "fake" })
        yield* b.addModuleGroup("local", "mixed")
        yield* b.addModuleGroup("other", "mixed")
        const snap = yield* b.snapshot
        expect(snap.modules.map((m) => [m.name, m.contextType])).toEqual([
          ["local", "channel"],
          ["other", "fake"]
        ])
        expect((yield* b.sendToGroup("mixed", msg("hello"))).delivered).toEqual(["local", "other"])
        expect((yield* b.receive("other")).header.id).toBe("hello")
        yield* b.receive("local")
        const call = yield* Effect.forkChild(b.sendToGroupSync("mixed", msg("req"), 1000))
        for (const m of ["local", "other"]) yield* b.sendResp(respond(yield* b.receive(m), m, `r-${m}`), m)
        expect([...(yield* Fiber.join(call)).responses.keys()]).toEqual(["local", "other"])
      }),
    { contexts: [fakeContext] }
  )

  it("R-GLOBAL-1 R-API-5 a context plugged into the global context gets it and the responses no local call waits for", async () => {
    const forwarded: Array<string> = []
    const remote: ModuleContext = {
      type: "remote",
      open: (module, options) => Effect.sync(() => openMailbox(module, options)),
      forwardResponse: (response, from) => {
        forwarded.push(`${response.header.parentId} from ${from}`)
        return response.header.parentId === "theirs"
      }
    }
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const host = yield* Beehive.makeHost()
          yield* host.plug(remote)
          const b = host.beehive
          const isPending = host.isPending
          expect(yield* b.sendResp(respond(msg("theirs"), 1), "m")).toBe(true)
          expect(yield* b.sendResp(respond(msg("unknown"), 2))).toBe(false)
          yield* b.addModule("m")
          const call = yield* Effect.forkChild(b.sendSync("m", msg("mine"), 1000))
          yield* settle
          // It can also ask, without blocking, whether a call still waits.
          expect([isPending("mine"), isPending("theirs")]).toEqual([true, false])
          expect(yield* b.sendResp(respond(msg("mine"), 3, "first"))).toBe(true)
          expect(isPending("mine")).toBe(false)
          expect(yield* b.sendResp(respond(msg("mine"), 4, "second"))).toBe(false)
          yield* Fiber.join(call)
          yield* b.shutdown
          expect(yield* b.sendResp(respond(msg("theirs"), 5))).toBe(false)
        })
      )
    )
    expect(forwarded).toEqual(["theirs from m", "unknown from undefined", "mine from undefined"])
  })

  it("R-GLOBAL-3 closing the layer's scope shuts the context down and `done` completes", async () => {
    const scope = Effect.runSync(Scope.make())
    const b = await Effect.runPromise(Scope.provide(Beehive.make(), scope))
    await Effect.runPromise(b.addModule("m"))
    const done = Effect.runPromise(b.done)
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await done
    expect((await Effect.runPromise(b.snapshot)).isShutdown).toBe(true)
    const report = await Effect.runPromise(b.shutdown)
    expect(report.cleanups.map((c) => c.module)).toEqual(["m"])
  })

  itEffect("R-GLOBAL-3 shutdown cancels a pending sendToGroupSync with BeehiveShutdown", () =>
    Effect.gen(function* () {
      const b = yield* Beehive
      yield* b.addModule("a")
      yield* b.addModuleGroup("a", "g")
      const call = yield* Effect.forkChild(Effect.flip(b.sendToGroupSync("g", msg("req"), 1000)))
      yield* b.receive("a")
      yield* b.addModule("other")
      const report = yield* b.shutdown
      expect(report.cancelledCalls).toBe(1)
      expect(yield* Fiber.join(call)).toMatchObject({ _tag: "BeehiveShutdown", operation: "sendToGroupSync" })
    })
  )

  itEffect("R-GLOBAL-4 after shutdown, group operations fail, cleanup is ModuleNotFound, sendResp is false", () =>
    Effect.gen(function* () {
      const b = yield* Beehive
      yield* b.addModule("a")
      yield* b.shutdown
      expect((yield* Effect.flip(b.sendToGroup("g", msg("1"))))._tag).toBe("BeehiveShutdown")
      expect((yield* Effect.flip(b.sendToGroupSync("g", msg("2"))))._tag).toBe("BeehiveShutdown")
      expect((yield* Effect.flip(b.addModuleGroup("a", "g")))._tag).toBe("BeehiveShutdown")
      expect((yield* Effect.flip(b.cleanup("a")))._tag).toBe("ModuleNotFound")
      expect(yield* b.sendResp(respond(msg("x"), 1))).toBe(false)
      yield* b.done
    })
  )

  itEffect(
    "R-MOD-2 a module added while another context was opening its endpoint keeps the first",
    () =>
      Effect.gen(function* () {
        const b = yield* Beehive
        const first = yield* Effect.forkChild(b.addModule("slow", { contextType: "slow" }))
        yield* b.addModule("slow")
        yield* TestClock.adjust(10)
        expect((yield* Effect.flip(Fiber.join(first)))._tag).toBe("ModuleAlreadyExists")
        expect((yield* b.snapshot).modules.map((m) => m.contextType)).toEqual(["channel"])
        const late = yield* Effect.forkChild(Effect.flip(b.addModule("late", { contextType: "slow" })))
        yield* b.shutdown
        yield* TestClock.adjust(10)
        expect((yield* Fiber.join(late))._tag).toBe("BeehiveShutdown")
      }),
    {
      contexts: [
        {
          type: "slow",
          open: (module, options) => Effect.as(Effect.sleep(10), openMailbox(module, options))
        }
      ]
    }
  )

  it("R-API-1 Beehive.layer provides a working context", async () => {
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const b = yield* Beehive
        yield* b.addModule("m")
        yield* b.send("m", msg("x"))
        return (yield* b.receive("m")).header.id
      }).pipe(Effect.provide(Layer.fresh(Beehive.layer)))
    )
    expect(result).toBe("x")
  })
})
