import { Clock, Effect, Exit, Fiber, Layer, Logger } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import { Beehive } from "../../src/contexts/Beehive.ts"
import { Registry } from "../../src/contexts/Registry.ts"
import {
  calculateIntervalTime,
  DefaultIntervalSeconds,
  DefaultRestartIntervalLimitSeconds,
  keepModule,
  type RestartPolicy,
  RestartTypeAlways,
  RestartTypeOnFailure
} from "../../src/contexts/RestartPolicy.ts"
import { awaitSignal, ShutdownSignals } from "../../src/contexts/Signals.ts"
import { msg, settle } from "../support/messages.ts"

/** Runs `body` with a test clock and a logger that records every message as "Level: text". */
const withLogs = async <A>(body: Effect.Effect<A, unknown, never>): Promise<{ value: A; logs: Array<string> }> => {
  const logs: Array<string> = []
  const logger = Logger.make((options: { logLevel: unknown; message: unknown }) => {
    const parts = Array.isArray(options.message) ? options.message : [options.message]
    logs.push(`${String(options.logLevel)}: ${parts.map((part) => String(part).split("\n")[0]).join(" | ")}`)
  })
  const value = await Effect.runPromise(
    body.pipe(Effect.provide(Logger.layer([logger])), Effect.provide(TestClock.layer())) as Effect.Effect<A>
  )
  return { value, logs }
}

/** Keeps a module whose starts end as `outcome(n)` says; returns the start times in seconds. */
const keep = (
  outcome: (n: number) => Effect.Effect<unknown, unknown>,
  policy: RestartPolicy | undefined,
  advanceSeconds: number,
  stopping: () => boolean = () => false
) =>
  Effect.gen(function* () {
    const starts: Array<number> = []
    const start = Effect.flatMap(Clock.currentTimeMillis, (ms) => {
      starts.push(ms / 1000)
      return outcome(starts.length)
    })
    const keeper = yield* Effect.forkChild(keepModule("m", start, policy, stopping))
    for (let s = 0; s < advanceSeconds; s++) yield* TestClock.adjust(1000)
    const exit = yield* Fiber.await(keeper)
    return { starts, exit }
  })

describe("restart policies", () => {
  it("R-REG-4 a rate of at most 1 keeps the interval, even above the limit", () => {
    expect(calculateIntervalTime(40, 30, 1)).toBe(40)
    expect(calculateIntervalTime(30, 30, 3)).toBe(30)
  })

  it("R-REG-3 the first interval is intervalSeconds when positive, 1 s otherwise", async () => {
    const times = async (intervalSeconds: number | undefined) =>
      (
        await withLogs(
          keep(
            () => Effect.void,
            { type: "Always", retries: 2, ...(intervalSeconds === undefined ? {} : { intervalSeconds }) },
            10
          )
        )
      ).value.starts
    expect(await times(undefined)).toEqual([0, 1, 2])
    expect(await times(0)).toEqual([0, 1, 2])
    expect(await times(-3)).toEqual([0, 1, 2])
    expect(await times(2)).toEqual([0, 2, 4])
  })

  it("R-REG-3 R-REG-4 a growing interval without a limit stops growing at 30 s", async () => {
    const { value } = await withLogs(
      keep(() => Effect.void, { type: "Always", retries: 3, intervalSeconds: 20, intervalGrowthRate: 2 }, 120)
    )
    expect(value.starts).toEqual([0, 20, 50, 80])
  })

  it("R-REG-3 a start that interrupts itself is not restarted and not logged", async () => {
    const policy = await withLogs(keep(() => Effect.interrupt, { type: "Always", retries: 3 }, 10))
    expect(policy.value.starts).toEqual([0])
    const none = await withLogs(keep(() => Effect.interrupt, undefined, 10))
    expect(none.value.starts).toEqual([0])
    expect([...policy.logs, ...none.logs]).toEqual([])
  })

  it("R-REG-5 failed starts are logged as warnings; successful ones are not", async () => {
    const once = await withLogs(keep(() => Effect.fail("boom"), undefined, 1))
    expect(once.logs).toEqual(["Warn: module m start failed | Error: boom"])
    const fine = await withLogs(keep(() => Effect.void, undefined, 1))
    expect(fine.logs).toEqual([])
    const restarted = await withLogs(
      keep((n) => (n === 1 ? Effect.fail("boom") : Effect.void), { type: "Always", retries: 1 }, 5)
    )
    expect(restarted.value.starts).toEqual([0, 1])
    expect(restarted.logs).toEqual([
      "Warn: module m start failed | Error: boom",
      "Warn: module m restart limit has been reached, count: 1, policy.Retries: 1"
    ])
  })

  it("R-REG-3 reaching the limit without an errorHandler just ends the keeper", async () => {
    const { value } = await withLogs(keep(() => Effect.fail("boom"), { type: "OnFailure", retries: 1 }, 5))
    expect(value.starts).toEqual([0, 1])
    expect(Exit.isSuccess(value.exit)).toBe(true)
  })

  it("R-REG-6 a keeper told to stop during its interval does not start the module again", async () => {
    let stopping = false
    const { value } = await withLogs(
      Effect.gen(function* () {
        const starts: Array<number> = []
        const keeper = yield* Effect.forkChild(
          keepModule(
            "m",
            Effect.sync(() => starts.push(starts.length + 1)),
            { type: "Always", intervalSeconds: 5 },
            () => stopping
          )
        )
        yield* TestClock.adjust(1000)
        stopping = true
        yield* TestClock.adjust(10_000)
        return { starts, exit: yield* Fiber.await(keeper) }
      })
    )
    expect(value.starts).toEqual([1])
    expect(Exit.isSuccess(value.exit)).toBe(true)
  })
})

describe("registry details", () => {
  const runRegistry = <A, E>(body: Effect.Effect<A, E, Registry | Beehive>): Promise<A> =>
    Effect.runPromise(
      body.pipe(
        Effect.provide(Registry.layer.pipe(Layer.provideMerge(Beehive.layer))),
        Effect.provide(TestClock.layer())
      ) as Effect.Effect<A, E, never>
    )

  it("R-REG-1 R-REG-2 a duplicate registration names the module; a module's context type and capacity are used", async () => {
    await runRegistry(
      Effect.gen(function* () {
        const r = yield* Registry
        const b = yield* Beehive
        const definition = { name: "small", group: "g", capacity: 1, start: Effect.never }
        yield* r.register(definition)
        expect(yield* Effect.flip(r.register(definition))).toMatchObject({
          _tag: "ModuleAlreadyExists",
          module: "small"
        })
        yield* r.startModules
        yield* b.send("small", msg("1"))
        const second = yield* Effect.forkChild(b.send("small", msg("2")))
        yield* settle
        expect(second.pollUnsafe()).toBeUndefined()
        expect((yield* b.snapshot).modules[0]?.waitingSenders).toBe(1)
        yield* r.register({ name: "remote", group: "g", contextType: "nope", start: Effect.void })
        expect(yield* Effect.flip(r.startModules)).toMatchObject({ _tag: "UnknownContextType", contextType: "nope" })
      })
    )
  })

  it("R-REG-6 a shutdown asked for without a reason reports 'requested', also through run", async () => {
    await runRegistry(
      Effect.gen(function* () {
        const r = yield* Registry
        yield* r.register({ name: "m", group: "g", start: Effect.never })
        const running = yield* Effect.forkChild(r.run)
        yield* settle
        const stopping = yield* Effect.forkChild(r.gracefulShutdown())
        yield* settle
        yield* TestClock.adjust(5000)
        expect((yield* Fiber.join(stopping)).reason).toBe("requested")
        expect((yield* Fiber.join(running)).reason).toBe("requested")
      })
    )
  })

  it("R-REG-6 awaitSignal listens for SIGINT, SIGTERM, SIGHUP and SIGQUIT by default", async () => {
    expect(ShutdownSignals).toEqual(["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"])
    for (const signal of ShutdownSignals) {
      const waiting = Effect.runPromise(awaitSignal())
      await Effect.runPromise(Effect.yieldNow)
      process.emit(signal)
      expect(await waiting).toBe(signal)
    }
  })

  it("R-REG-3 R-REG-4 the policy constants are Go's", () => {
    expect([RestartTypeAlways, RestartTypeOnFailure]).toEqual(["Always", "OnFailure"])
    expect([DefaultRestartIntervalLimitSeconds, DefaultIntervalSeconds]).toEqual([30, 1])
  })
})
