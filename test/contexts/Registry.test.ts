import { Clock, Effect, Fiber, Layer, Logger } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import { Beehive } from "../../src/contexts/Beehive.ts"
import { Registry, type RegistryOptions } from "../../src/contexts/Registry.ts"
import { calculateIntervalTime, type RestartPolicy } from "../../src/contexts/RestartPolicy.ts"
import { CurrentModule } from "../../src/effects/CurrentModule.ts"
import { msg, settle } from "../support/messages.ts"

const runRegistry = <A, E>(body: Effect.Effect<A, E, Registry | Beehive>, options: RegistryOptions = {}): Promise<A> =>
  Effect.runPromise(
    body.pipe(
      Effect.provide(Registry.layerWith(options).pipe(Layer.provideMerge(Beehive.layer))),
      Effect.provide(TestClock.layer())
    ) as Effect.Effect<A, E, never>
  )

/** A module whose starts are counted; `outcome(n)` decides how start number n ends. */
const counted = (name: string, outcome: (n: number) => Effect.Effect<unknown, unknown>, policy?: RestartPolicy) => {
  const starts: Array<number> = []
  return {
    starts,
    definition: {
      name,
      group: `${name}-group`,
      restartPolicy: policy,
      start: Effect.suspend(() => {
        starts.push(starts.length + 1)
        return outcome(starts.length)
      })
    }
  }
}

describe("Registry", () => {
  it("R-REG-1 a name registers once; disabled modules are neither added nor started", async () => {
    const disabled = counted("off", () => Effect.void)
    await runRegistry(
      Effect.gen(function* () {
        const r = yield* Registry
        yield* r.register({ ...disabled.definition, enabled: false })
        expect((yield* Effect.flip(r.register(disabled.definition)))._tag).toBe("ModuleAlreadyExists")
        yield* r.startModules
        yield* settle
        expect((yield* (yield* Beehive).snapshot).modules).toEqual([])
        expect((yield* r.modules).map((m) => m.name)).toEqual(["off"])
      })
    )
    expect(disabled.starts).toEqual([])
  })

  it("R-REG-2 every module and group is added before any module starts", async () => {
    const seen: Array<unknown> = []
    await runRegistry(
      Effect.gen(function* () {
        const r = yield* Registry
        const b = yield* Beehive
        yield* r.register({
          name: "first",
          group: "g1",
          start: Effect.gen(function* () {
            seen.push((yield* b.snapshot).modules.map((m) => [m.name, m.groups]))
            yield* b.send("last", msg("early"))
          })
        })
        yield* r.register({ name: "last", group: "g2", start: b.receive("last") })
        yield* r.startModules
        yield* settle
        expect((yield* b.snapshot).modules.map((m) => m.queued)).toEqual([0, 0])
      })
    )
    expect(seen).toEqual([
      [
        ["first", ["g1"]],
        ["last", ["g2"]]
      ]
    ])
  })

  it("R-REG-3 without a policy a module starts once, as itself", async () => {
    const names: Array<string | undefined> = []
    const once = counted("once", () =>
      Effect.gen(function* () {
        names.push(yield* CurrentModule)
      })
    )
    await runRegistry(
      Effect.gen(function* () {
        const r = yield* Registry
        yield* r.register(once.definition)
        yield* r.startModules
        yield* TestClock.adjust(60_000)
      })
    )
    expect(once.starts).toEqual([1])
    expect(names).toEqual(["once"])
  })

  it("R-REG-3 Always with retries N starts N + 1 times, one interval apart; OnFailure stops at a success", async () => {
    const errors: Array<unknown> = []
    const always = counted("always", () => Effect.void, {
      type: "Always",
      retries: 2,
      intervalSeconds: 1,
      errorHandler: (e) => Effect.sync(() => errors.push(e))
    })
    const onFailure = counted("onfailure", (n) => (n === 1 ? Effect.fail("first start fails") : Effect.void), {
      type: "OnFailure",
      retries: 2,
      intervalSeconds: 1
    })
    await runRegistry(
      Effect.gen(function* () {
        const r = yield* Registry
        yield* r.register(always.definition)
        yield* r.register(onFailure.definition)
        yield* r.startModules
        yield* settle
        expect([always.starts.length, onFailure.starts.length]).toEqual([1, 1])
        yield* TestClock.adjust(999)
        expect(always.starts.length).toBe(1)
        yield* TestClock.adjust(1)
        expect([always.starts.length, onFailure.starts.length]).toEqual([2, 2])
        yield* TestClock.adjust(1000)
        yield* TestClock.adjust(60_000)
      })
    )
    expect(always.starts).toEqual([1, 2, 3])
    expect(errors).toEqual([undefined])
    expect(onFailure.starts).toEqual([1, 2])
  })

  it("R-REG-3 retries 0 is unlimited and the interval grows up to its limit; the handler gets the last error", async () => {
    const times: Array<number> = []
    const errors: Array<unknown> = []
    const growing = counted("growing", () => Effect.map(Clock.currentTimeMillis, (ms) => times.push(ms / 1000)), {
      type: "Always",
      intervalSeconds: 1,
      intervalGrowthRate: 2,
      intervalLimitSeconds: 4
    })
    const failing = counted("failing", (n) => Effect.fail(`failure ${n}`), {
      type: "OnFailure",
      retries: 3,
      intervalSeconds: 0,
      errorHandler: (e) => Effect.sync(() => errors.push(e))
    })
    await runRegistry(
      Effect.gen(function* () {
        const r = yield* Registry
        yield* r.register(growing.definition)
        yield* r.register(failing.definition)
        yield* r.startModules
        for (let t = 0; t < 20; t++) {
          yield* TestClock.adjust(1000)
        }
      })
    )
    expect(times).toEqual([0, 1, 3, 7, 11, 15, 19])
    expect(failing.starts).toEqual([1, 2, 3, 4])
    expect(errors).toEqual(["failure 4"])
  })

  it("R-REG-4 calculateIntervalTime reproduces Go's TestCalculateIntervalTime", () => {
    expect(calculateIntervalTime(1, 0, 0)).toBe(1)
    expect(calculateIntervalTime(30, 0, 2)).toBe(30)
    expect(calculateIntervalTime(4, 10, 2)).toBe(8)
    expect(calculateIntervalTime(6, 10, 2)).toBe(10)
    expect(calculateIntervalTime(1, 0, 2)).toBe(2)
    expect(calculateIntervalTime(20, 0, 2)).toBe(30)
    expect(calculateIntervalTime(5, 10, 1)).toBe(5)
  })

  it("R-REG-5 a start that fails or dies never takes the process down", async () => {
    const dies = counted("dies", () =>
      Effect.sync(() => {
        throw new Error("boom")
      })
    )
    const fails = counted("fails", () => Effect.fail("nope"))
    const diesRestarted = counted(
      "dies-restarted",
      () =>
        Effect.sync(() => {
          throw new Error("boom")
        }),
      { type: "OnFailure", retries: 1 }
    )
    await runRegistry(
      Effect.gen(function* () {
        const r = yield* Registry
        for (const m of [dies, fails, diesRestarted]) yield* r.register(m.definition)
        yield* r.startModules
        yield* TestClock.adjust(10_000)
        const report = yield* r.gracefulShutdown()
        expect(report.modules.map((m) => m.ended)).toEqual(["finished", "finished", "finished"])
      })
    )
    expect([dies.starts, fails.starts, diesRestarted.starts]).toEqual([[1], [1], [1, 2]])
  })

  it("R-REG-6 gracefulShutdown cleans up, waits for modules up to the grace period, then interrupts", async () => {
    const report = await runRegistry(
      Effect.gen(function* () {
        const r = yield* Registry
        const b = yield* Beehive
        yield* r.register({ name: "loop", group: "g", start: Effect.forever(b.receive("loop")) })
        yield* r.register({ name: "stuck", group: "g", start: Effect.never })
        yield* r.register({
          name: "restarter",
          group: "g",
          start: b.receive("restarter"),
          restartPolicy: { type: "Always" }
        })
        yield* r.startModules
        yield* settle
        yield* b.send("loop", msg("x"))
        const shutdown = yield* Effect.forkChild(r.gracefulShutdown("test"))
        yield* settle
        expect(shutdown.pollUnsafe()).toBeUndefined()
        yield* TestClock.adjust(250)
        const first = yield* Fiber.join(shutdown)
        expect(yield* r.gracefulShutdown("again")).toBe(first)
        return first
      }),
      { graceMs: 250 }
    )
    expect(report.reason).toBe("test")
    expect(report.modules).toEqual([
      { name: "loop", ended: "finished" },
      { name: "stuck", ended: "interrupted" },
      { name: "restarter", ended: "finished" }
    ])
    expect(report.cleanups.map((c) => c.module)).toEqual(["loop", "stuck", "restarter"])
  })

  it("R-REG-6 a caller interrupted during the grace period does not stop the shutdown; later calls get its report", async () => {
    const report = await runRegistry(
      Effect.gen(function* () {
        const r = yield* Registry
        yield* r.register({ name: "stuck", group: "g", start: Effect.never })
        yield* r.startModules
        yield* settle
        const impatient = yield* Effect.forkChild(r.gracefulShutdown("first"))
        yield* settle
        const interrupting = yield* Effect.forkChild(Fiber.interrupt(impatient))
        yield* settle
        yield* TestClock.adjust(250)
        yield* Fiber.join(interrupting)
        return yield* r.gracefulShutdown("second")
      }),
      { graceMs: 250 }
    )
    expect(report).toMatchObject({ reason: "first", modules: [{ name: "stuck", ended: "interrupted" }] })
  })

  it("R-REG-6 run starts the modules and shuts down gracefully on a signal", async () => {
    const report = await runRegistry(
      Effect.gen(function* () {
        const r = yield* Registry
        const b = yield* Beehive
        yield* r.register({ name: "m", group: "g", start: Effect.forever(b.receive("m")) })
        const running = yield* Effect.forkChild(r.run)
        yield* settle
        expect((yield* b.snapshot).modules.map((m) => m.name)).toEqual(["m"])
        process.emit("SIGTERM")
        return yield* Fiber.join(running)
      })
    )
    expect(report).toMatchObject({ reason: "SIGTERM", modules: [{ name: "m", ended: "finished" }] })
    expect(process.listenerCount("SIGTERM")).toBe(0)
  })

  it("R-REG-6 run also ends when gracefulShutdown is called from elsewhere", async () => {
    const report = await runRegistry(
      Effect.gen(function* () {
        const r = yield* Registry
        const b = yield* Beehive
        yield* r.register({ name: "m", group: "g", start: Effect.forever(b.receive("m")) })
        const running = yield* Effect.forkChild(r.run)
        yield* settle
        yield* r.gracefulShutdown("by hand")
        return yield* Fiber.join(running)
      })
    )
    expect(report.reason).toBe("by hand")
  })

  it("R-REG-7 run ends when every started module has ended for good, and at once with no module", async () => {
    const report = await runRegistry(
      Effect.gen(function* () {
        const r = yield* Registry
        yield* r.register({ name: "short", group: "g", start: Effect.void })
        yield* r.register({ name: "fails", group: "g", start: Effect.fail("no") })
        return yield* r.run
      })
    )
    expect(report).toMatchObject({ reason: "modules ended" })
    expect(report.modules.map((m) => m.ended)).toEqual(["finished", "finished"])
    const empty = await runRegistry(Effect.flatMap(Registry, (r) => r.run))
    expect(empty).toEqual({ reason: "modules ended", modules: [], cleanups: [] })
  })

  it("R-REG-7 interrupted while it waits, run still shuts down gracefully: finalizers run, the signal names it", async () => {
    const listenersBefore = process.listenerCount("SIGINT")
    const finalized: Array<string> = []
    const logged: Array<unknown> = []
    const report = await runRegistry(
      Effect.gen(function* () {
        const r = yield* Registry
        const b = yield* Beehive
        yield* r.register({
          name: "m",
          group: "g",
          start: Effect.forever(b.receive("m")).pipe(Effect.ensuring(Effect.sync(() => finalized.push("m"))))
        })
        const running = yield* Effect.forkChild(r.run.pipe(Effect.tapCause(() => Effect.void)))
        yield* settle
        // As NodeRuntime.runMain does: its own listener interrupts the main fiber, in the same emit.
        const interrupter = () => Effect.runFork(Fiber.interrupt(running))
        process.prependListener("SIGINT", interrupter)
        process.emit("SIGINT")
        process.off("SIGINT", interrupter)
        yield* Fiber.await(running)
        return yield* r.gracefulShutdown("later")
      }).pipe(
        Effect.provide(Logger.layer([Logger.make(({ message }) => logged.push(message))], { mergeWithExisting: false }))
      )
    )
    expect(finalized).toEqual(["m"])
    expect(report).toMatchObject({ reason: "SIGINT", modules: [{ name: "m", ended: "finished" }] })
    expect(String(logged)).toContain("beehive-effect: shut down (SIGINT; m finished)")
    expect(process.listenerCount("SIGINT")).toBe(listenersBefore)
  })

  it("R-API-3 a definition without a name, a group or a start effect is InvalidArgument", async () => {
    const refusals = await runRegistry(
      Effect.gen(function* () {
        const r = yield* Registry
        const bad = [
          null,
          { name: "", group: "g", start: Effect.void },
          { name: "m", group: 7, start: Effect.void },
          { name: "m", group: "g", start: "go" }
        ]
        const errors = []
        for (const definition of bad) errors.push(yield* Effect.flip(r.register(definition as never)))
        expect(yield* r.modules).toEqual([])
        return errors
      })
    )
    expect(refusals.map((e) => [e._tag, (e as { argument?: string }).argument])).toEqual([
      ["InvalidArgument", "module"],
      ["InvalidArgument", "module name"],
      ["InvalidArgument", "group name"],
      ["InvalidArgument", "start"]
    ])
  })
})
