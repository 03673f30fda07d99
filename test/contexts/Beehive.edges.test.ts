import { Cause, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import { Beehive } from "../../src/contexts/Beehive.ts"
import { ChannelContext } from "../../src/contexts/ChannelContext.ts"
import { openMailbox } from "../../src/contexts/MailboxEndpoint.ts"
import type { Endpoint, ModuleContext } from "../../src/contexts/ModuleContext.ts"
import { Registry } from "../../src/contexts/Registry.ts"
import { CurrentModule } from "../../src/effects/CurrentModule.ts"
import { runDeterministic } from "../../src/effects/DeterministicRuntime.ts"
import { random } from "../../src/effects/Strategy.ts"
import { MessageEncodeError } from "../../src/model/Errors.ts"
import * as Message from "../../src/model/Message.ts"
import { explore } from "../../src/testing/Explore.ts"
import type { Scenario } from "../../src/testing/Scenario.ts"
import { makeBeehiveWith } from "../support/contexts.ts"
import { itEffect } from "../support/itEffect.ts"
import { msg, settle } from "../support/messages.ts"

const respond = (request: Message.Message, content: unknown, id = `resp-${request.header.id}`) =>
  Message.make({ header: { id, parentId: request.header.id, timestamp: 2 }, content })

const errorOf = (exit: Exit.Exit<unknown, unknown>): unknown =>
  Exit.isFailure(exit) ? (exit.cause.reasons[0] as { error?: unknown }).error : undefined

/** A context type that records every endpoint it opens; `delayMs` makes opening take virtual time. */
const recordingContext = (type: string, delayMs = 0) => {
  const opened: Array<{ readonly module: string; readonly endpoint: Endpoint }> = []
  const context: ModuleContext = {
    type,
    open: (module, options) =>
      Effect.andThen(
        delayMs > 0 ? Effect.sleep(delayMs) : Effect.void,
        Effect.sync(() => {
          const endpoint = openMailbox(module, options)
          opened.push({ module, endpoint })
          return endpoint
        })
      )
  }
  return { context, opened }
}

describe("Beehive: error details and refusals", () => {
  itEffect("R-GLOBAL-4 after shutdown every operation fails with BeehiveShutdown naming the operation", () =>
    Effect.gen(function* () {
      const b = yield* Beehive
      yield* b.addModule("a")
      yield* b.shutdown
      const operations = {
        addModule: b.addModule("b"),
        addModuleGroup: b.addModuleGroup("a", "g"),
        send: b.send("a", msg("1")),
        receive: b.receive("a"),
        sendSync: b.sendSync("a", msg("2"), 10),
        sendToGroup: b.sendToGroup("g", msg("3")),
        sendToGroupSync: b.sendToGroupSync("g", msg("4"), 10)
      }
      for (const [operation, effect] of Object.entries(operations)) {
        expect(yield* Effect.flip(effect as Effect.Effect<unknown, unknown>)).toMatchObject({
          _tag: "BeehiveShutdown",
          operation
        })
      }
    })
  )

  itEffect("R-GLOBAL-3 a pending sendSync is cancelled with BeehiveShutdown naming sendSync", () =>
    Effect.gen(function* () {
      const b = yield* Beehive
      yield* b.addModule("a")
      const call = yield* Effect.forkChild(Effect.flip(b.sendSync("a", msg("req"), 1000)))
      yield* settle
      expect((yield* b.shutdown).cancelledCalls).toBe(1)
      expect(yield* Fiber.join(call)).toMatchObject({ _tag: "BeehiveShutdown", operation: "sendSync" })
    })
  )

  itEffect("R-MOD-1 R-SYNC-2 R-GSYNC-1 refusals name what was refused", () =>
    Effect.gen(function* () {
      const b = yield* Beehive
      expect(yield* Effect.flip(b.addModule("x", { contextType: "nope" }))).toMatchObject({
        _tag: "UnknownContextType",
        contextType: "nope"
      })
      yield* b.addModule("a")
      yield* b.addModuleGroup("a", "g")
      const pending = yield* Effect.forkChild(b.sendToGroupSync("g", msg("dup"), 1000))
      yield* settle
      expect(yield* Effect.flip(b.sendToGroupSync("g", msg("dup"), 1000))).toMatchObject({
        _tag: "DuplicateRequestId",
        msgId: "dup"
      })
      expect(yield* Effect.flip(b.sendSync("a", msg("dup"), 1000))).toMatchObject({
        _tag: "DuplicateRequestId",
        msgId: "dup"
      })
      yield* Fiber.interrupt(pending)
    })
  )

  it("R-MOD-2 R-GLOBAL-4 a taken name or a shut-down context is refused before any endpoint is opened", async () => {
    const { context, opened } = recordingContext("rec")
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const b = yield* makeBeehiveWith([context])
          yield* b.addModule("a", { contextType: "rec" })
          expect(opened.map((o) => o.module)).toEqual(["a"])
          expect((yield* Effect.flip(b.addModule("a", { contextType: "rec" })))._tag).toBe("ModuleAlreadyExists")
          yield* b.shutdown
          expect((yield* Effect.flip(b.addModule("b", { contextType: "rec" })))._tag).toBe("BeehiveShutdown")
          expect(opened.map((o) => o.module)).toEqual(["a"])
        })
      )
    )
  })

  it("R-MOD-2 R-GLOBAL-4 a name taken, or a shutdown, while an endpoint is being opened closes the new endpoint", async () => {
    const { context, opened } = recordingContext("slow", 10)
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const b = yield* makeBeehiveWith([context])
          // The slow addModule has passed its checks and is opening when the name is taken.
          const first = yield* Effect.forkChild(Effect.exit(b.addModule("x", { contextType: "slow" })))
          yield* settle
          yield* b.addModule("x")
          yield* TestClock.adjust(10)
          expect(errorOf(yield* Fiber.join(first))).toMatchObject({ _tag: "ModuleAlreadyExists", module: "x" })
          // The endpoint opened for the losing call was closed: it takes nothing.
          expect(opened.map((o) => [o.module, o.endpoint.offerNow(msg("after"), "now")])).toEqual([["x", false]])
          const snapshot = yield* b.snapshot
          expect(snapshot.modules.map((m) => `${m.name}:${m.contextType}`)).toEqual(["x:channel"])
          // The same with a shutdown while opening.
          const late = yield* Effect.forkChild(Effect.exit(b.addModule("y", { contextType: "slow" })))
          yield* settle
          yield* b.shutdown
          yield* TestClock.adjust(10)
          expect(errorOf(yield* Fiber.join(late))).toMatchObject({ _tag: "BeehiveShutdown", operation: "addModule" })
          const y = opened.find((o) => o.module === "y")?.endpoint
          expect(y?.offerNow(msg("after"), "now")).toBe(false)
        }).pipe(Effect.provide(TestClock.layer()))
      )
    )
  })
})

describe("Beehive: an interrupted addModule", () => {
  it("R-MOD-2 an opened endpoint is registered or closed, never dropped, whenever the caller is interrupted", () => {
    const { context, opened } = recordingContext("rec")
    const scenario: Scenario = {
      name: "interrupted-add-module",
      run: (ctx) =>
        Effect.gen(function* () {
          yield* ctx.host.plug(context)
          opened.length = 0
          const adder = yield* ctx.spawn(
            "adder",
            ctx.op("adder", "addModule(m)", ctx.beehive.addModule("m", { contextType: "rec" }))
          )
          yield* ctx.spawn("interrupter", Fiber.interrupt(adder))
          yield* ctx.quiesce
          const registered = (yield* ctx.beehive.snapshot).modules.some((m) => m.name === "m")
          const dropped = opened.filter((o) => !registered && o.endpoint.offerNow(msg("after"), "now"))
          yield* ctx.check(dropped.length === 0, "an opened endpoint is neither registered nor closed")
        })
    }
    const result = explore(scenario, { strategy: "random", preemption: 0.5, runs: 400 })
    expect(result.failure?.outcome).toBeUndefined()
    expect(result.distinctTraces).toBeGreaterThan(2)
  })
})

describe("Beehive: cleanup fails only the calls it must", () => {
  itEffect(
    "R-CLEAN-7 R-CLEAN-5 a received request keeps its call waiting, whatever other messages with its id a cleanup returns",
    () =>
      Effect.gen(function* () {
        const b = yield* Beehive
        yield* b.addModule("a")
        yield* b.addModule("b")
        const call = yield* Effect.forkChild(Effect.exit(b.sendSync("a", msg("X"), 1000)))
        const request = yield* b.receive("a")
        // A plain message that happens to carry the request's id, still in a's mailbox...
        yield* b.send("a", msg("X"))
        // ...and the request relayed, still marked sync, to another module.
        yield* b.send("b", request)
        const reportA = yield* b.cleanup("a")
        const reportB = yield* b.cleanup("b")
        expect([reportA.undelivered.length, reportB.undelivered.length]).toEqual([1, 1])
        yield* settle
        expect(call.pollUnsafe()).toBeUndefined()
        expect(yield* b.sendResp(respond(request, "ok"))).toBe(true)
        const exit = yield* Fiber.join(call)
        expect(Exit.isSuccess(exit) && exit.value.content).toBe("ok")
      })
  )

  /** A caller whose request waits for room, a cleanup, and a responder answering the request's id. */
  const closedWhileEnqueueing = (cleanupWhenWaiting: boolean) =>
    Effect.scoped(
      Effect.gen(function* () {
        const b = yield* Beehive.make()
        yield* b.addModule("m", { capacity: 1 })
        yield* b.send("m", msg("fill"))
        const accepted: Array<boolean> = []
        let cleaned = false
        const caller = yield* Effect.forkChild(Effect.exit(b.sendSync("m", msg("req"), 1000)))
        const cleaner = yield* Effect.forkChild(
          Effect.gen(function* () {
            if (cleanupWhenWaiting) {
              while ((yield* b.snapshot).modules[0]?.waitingSenders !== 1) yield* Effect.yieldNow
            }
            yield* b.cleanup("m")
            cleaned = true
          })
        )
        const responder = yield* Effect.forkChild(
          Effect.gen(function* () {
            while (cleanupWhenWaiting && !cleaned) yield* Effect.yieldNow
            for (let i = 0; i < 6; i++) {
              const after = cleaned
              const ok = yield* b.sendResp(respond(msg("req"), i, `r${i}`))
              if (after) accepted.push(ok)
              yield* Effect.yieldNow
            }
          })
        )
        const exit = yield* Fiber.join(caller)
        yield* Fiber.joinAll([cleaner, responder])
        return {
          failedClosed: Exit.isFailure(exit) && (errorOf(exit) as { _tag: string })._tag === "ModuleClosed",
          accepted
        }
      })
    )
  const acceptedAfterClose = (cleanupWhenWaiting: boolean) => {
    let decided = 0
    const seeds: Array<number> = []
    for (let seed = 0; seed < 300; seed++) {
      const run = runDeterministic(closedWhileEnqueueing(cleanupWhenWaiting), { strategy: random(seed, 0.3) })
      expect(run.exit?._tag).toBe("Success")
      const { failedClosed, accepted } = (run.exit as Exit.Success<{ failedClosed: boolean; accepted: Array<boolean> }>)
        .value
      if (!failedClosed) continue
      decided++
      if (accepted.includes(true)) seeds.push(seed)
    }
    expect(decided).toBeGreaterThan(0)
    return seeds
  }

  it("R-SYNC-4 R-SYNC-7 a sendSync failed by a cleanup while its request waits for room refuses every later response", () => {
    // The cleanup decides the call (ModuleClosed) in its own step; a responder that runs before the
    // caller has even resumed must get false, under every schedule.
    expect(acceptedAfterClose(true)).toEqual([])
  })

  // Found by mutation testing: a caller preempted after sendSync registered its reply slot but before
  // it armed the enqueue could have a response accepted, then find the mailbox closed, and the offer's
  // ModuleClosed won over the response in the slot. The slot's outcome now goes first.
  it("R-SYNC-4 a response accepted before the enqueue is armed is the result, even if the module closed meanwhile", () => {
    expect(acceptedAfterClose(false)).toEqual([])
  })
})

describe("Beehive: delivery steps", () => {
  itEffect(
    "R-GROUP-2 a broadcast offers every member its copy in one step: a woken member sees the others served",
    () =>
      Effect.gen(function* () {
        const b = yield* Beehive
        yield* b.addModule("a")
        yield* b.addModule("c")
        yield* b.addModuleGroup("a", "g")
        yield* b.addModuleGroup("c", "g")
        const seen: Array<number> = []
        const receiver = yield* Effect.forkChild(
          Effect.gen(function* () {
            yield* b.receive("a")
            const snapshot = yield* b.snapshot
            seen.push(snapshot.modules.find((m) => m.name === "c")?.queued ?? -1)
          })
        )
        yield* settle
        const result = yield* b.sendToGroup("g", msg("all"))
        expect(result).toEqual({ delivered: ["a", "c"], gone: [] })
        expect(seen).toEqual([])
        yield* Fiber.join(receiver)
        expect(seen).toEqual([1])
      })
  )

  itEffect(
    "R-GSYNC-2 R-GSYNC-7 a group call answered in full while its copies are still being offered offers no more",
    () =>
      Effect.gen(function* () {
        const b = yield* Beehive
        yield* b.addModule("a")
        yield* b.addModule("c")
        yield* b.addModuleGroup("a", "g")
        yield* b.addModuleGroup("c", "g")
        // a answers at once, for itself and (unattributed) for the other member.
        yield* Effect.forkChild(
          Effect.gen(function* () {
            const request = yield* b.receive("a")
            yield* b.sendResp(respond(request, "a", "from-a"), "a")
            yield* b.sendResp(respond(request, "anon", "anonymous"))
          })
        )
        yield* settle
        const result = yield* b.sendToGroupSync("g", msg("req"), 1000)
        expect([...result.responses.keys()]).toEqual(["a"])
        expect(result.anonymous.map((m) => m.header.id)).toEqual(["anonymous"])
        const snapshot = yield* b.snapshot
        expect(snapshot.modules.find((m) => m.name === "c")?.queued).toBe(0)
        expect(snapshot.pendingCalls).toEqual([])
      })
  )

  it("R-GSYNC-3 R-GLOBAL-1 a response a local call refused is not offered to the other contexts", async () => {
    const forwarded: Array<string> = []
    const remote: ModuleContext = {
      type: "remote",
      open: (module, options) => Effect.sync(() => openMailbox(module, options)),
      forwardResponse: (response) => {
        forwarded.push(response.header.id)
        return true
      }
    }
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const b = yield* makeBeehiveWith([remote])
          yield* b.addModule("a")
          yield* b.addModuleGroup("a", "g")
          const call = yield* Effect.forkChild(Effect.exit(b.sendToGroupSync("g", msg("req"), 1000)))
          yield* settle
          expect(yield* b.sendResp(respond(msg("req"), 1, "stranger"), "stranger")).toBe(false)
          expect(forwarded).toEqual([])
          expect(yield* b.sendResp(respond(msg("req"), 2, "member"), "a")).toBe(true)
          expect(errorOf(yield* Fiber.join(call))).toMatchObject({ reason: "Uninvited", uninvited: 1 })
          expect(forwarded).toEqual([])
        })
      )
    )
  })
})

describe("service identity", () => {
  it("R-API-1 the services' keys are stable, so separately bundled copies find the same services", () => {
    expect(Beehive.key).toBe("beehive-effect/Beehive")
    expect(CurrentModule.key).toBe("beehive-effect/CurrentModule")
    expect(ChannelContext.key).toBe("beehive-effect/ChannelContext")
    expect(Registry.key).toBe("beehive-effect/Registry")
  })
})

describe("Beehive: cleanup wakes no one until its step is complete", () => {
  itEffect(
    "R-CLEAN-5 R-CLEAN-3 a sender woken by a cleanup finds the dropped request already failed (found in review)",
    () =>
      Effect.gen(function* () {
        const b = yield* Beehive
        yield* b.addModule("m", { capacity: 1 })
        const call = yield* Effect.forkChild(Effect.exit(b.sendSync("m", msg("r1"), 5000)))
        yield* settle
        const seen: Array<unknown> = []
        const sender = yield* Effect.forkChild(
          b.send("m", msg("x")).pipe(
            Effect.onExit(() =>
              Effect.gen(function* () {
                // The woken sender runs inside the cleanup's step: it must find its outcome final.
                seen.push((yield* b.snapshot).pendingCalls)
                seen.push(yield* b.sendResp(msg("resp", "late", { header: { parentId: "r1" } })))
              })
            )
          )
        )
        yield* settle
        const report = yield* b.cleanup("m")
        expect(report.undelivered.map((m) => m.header.id)).toEqual(["r1"])
        const exit = yield* Fiber.join(call)
        expect(exit).toMatchObject({ _tag: "Failure" })
        expect(Exit.isFailure(exit) && exit.cause.reasons[0]).toMatchObject({
          error: { _tag: "RequestDropped", msgId: "r1" }
        })
        yield* Fiber.await(sender)
        expect(seen[1]).toBe(false)
      })
  )
})

describe("Beehive: a copy that cannot be sent at all", () => {
  // An endpoint whose transport refuses the content outright, as the socket context does for content
  // JSON cannot carry: it dies with MessageEncodeError at once (R-SOCK-2).
  const refusing: ModuleContext = {
    type: "refusing",
    open: (module, options) =>
      Effect.sync(() => {
        const endpoint = openMailbox(module, options)
        return Object.assign(Object.create(Object.getPrototypeOf(endpoint)), endpoint, {
          offerNow: () => false,
          armOffer: () => () => Exit.die(new MessageEncodeError({ path: "content", reason: "unsupported value" }))
        }) as Endpoint
      })
  }

  itEffect(
    "R-GROUP-3 R-SOCK-2 a broadcast dies with the defect instead of reporting the member gone (found in review)",
    () =>
      Effect.gen(function* () {
        const b = yield* Beehive
        yield* b.addModule("local")
        yield* b.addModule("remote", { contextType: "refusing" })
        for (const m of ["local", "remote"]) yield* b.addModuleGroup(m, "g")
        const exit = yield* Effect.exit(b.sendToGroup("g", msg("x")))
        expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toBeInstanceOf(MessageEncodeError)
        const sync = yield* Effect.exit(b.sendToGroupSync("g", msg("y"), 1000))
        expect(Exit.isFailure(sync) && Cause.squash(sync.cause)).toBeInstanceOf(MessageEncodeError)
        expect((yield* b.snapshot).pendingCalls).toEqual([])
      }),
    { contexts: [refusing] }
  )
})
