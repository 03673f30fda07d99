/**
 * The registry as a property (R-REG-1, R-REG-2, R-REG-3, R-REG-6, R-REG-7, R-API-3), on the virtual
 * clock: generated registrations (repeated names, disabled modules, invalid definitions), modules
 * that serve until they are cleaned up, finish at once, ignore the shutdown, or take a while to end,
 * and a generated grace period. The oracle is SPEC.md's wording: a name registers once; every enabled
 * module and its group exist before any module starts, and each starts once as itself; a shutdown
 * cleans up every enabled module, waits for the modules up to the grace period and no longer,
 * interrupts the rest, and reports each as SPEC says; a second shutdown returns the first report;
 * `run` ends on a shutdown called elsewhere, or by itself once every module has ended. A `run`
 * interrupted instead still shuts down gracefully and logs the report in one line at level Info,
 * naming the reason and every module with how it ended (R-REG-7), wherever the interruption lands
 * (explored exhaustively with a preemption: while the modules are added, their keepers forked, or the
 * run waits), and every module added is cleaned up.
 */
import { Effect, Exit, Fiber, Logger, References, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Beehive, type BeehiveService, makeBeehive } from "../../src/contexts/Beehive.ts"
import {
  type GracefulShutdownReport,
  type ModuleDefinition,
  Registry,
  type RegistryService
} from "../../src/contexts/Registry.ts"
import { CurrentModule } from "../../src/effects/CurrentModule.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import { explore } from "../../src/testing/Explore.ts"
import type { Scenario } from "../../src/testing/Scenario.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"

/** How a module behaves: serves until cleaned up, ends at once, never ends, or ends `ms` after its cleanup. */
type Behaviour =
  | { readonly _tag: "serves" }
  | { readonly _tag: "finishes" }
  | { readonly _tag: "ignores shutdown" }
  | { readonly _tag: "ends late"; readonly ms: number }

type Registration =
  | {
      readonly _tag: "module"
      readonly name: string
      readonly group: string
      readonly enabled: boolean
      readonly behaviour: Behaviour
    }
  | { readonly _tag: "invalid"; readonly how: "not an object" | "empty name" | "empty group" | "start not an effect" }

/** The argument a registry names when it refuses each kind of invalid definition (R-REG-1, R-API-3). */
const refusedArgument = {
  "not an object": "module",
  "empty name": "module name",
  "empty group": "group name",
  "start not an effect": "start"
} as const

const arbBehaviour: fc.Arbitrary<Behaviour> = fc.oneof(
  fc.constant({ _tag: "serves" as const }),
  fc.constant({ _tag: "finishes" as const }),
  fc.constant({ _tag: "ignores shutdown" as const }),
  fc.integer({ min: 0, max: 120 }).map((ms) => ({ _tag: "ends late" as const, ms }))
)

const arbRegistration: fc.Arbitrary<Registration> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      _tag: fc.constant("module" as const),
      name: fc.constantFrom("edged", "edgehub", "metamanager", "twin", "bus"),
      group: fc.constantFrom("hub", "meta", "edged"),
      enabled: fc.boolean(),
      behaviour: arbBehaviour
    })
  },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("invalid" as const),
      how: fc.constantFrom(
        "not an object" as const,
        "empty name" as const,
        "empty group" as const,
        "start not an effect" as const
      )
    })
  }
)

interface Start {
  readonly name: string
  readonly as: string | undefined
  readonly at: number
  /** What the module saw of the context when it started: each module's groups. */
  readonly saw: Record<string, ReadonlyArray<string>>
}

/**
 * A global context and a registry on a simulated runtime (`sim`, or a new one), and `run`, which runs
 * an effect there (through `around`) to its end and throws on any failure.
 */
const simulatedRegistry = (
  graceMs: number,
  around: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E>,
  sim: SimRuntime = new SimRuntime()
) => {
  const run = <A, E>(effect: Effect.Effect<A, E>): A => {
    const exit = sim.runSync(around(effect))
    if (Exit.isFailure(exit)) throw new Error(`unexpected failure: ${String(exit.cause)}`)
    return exit.value
  }
  const scope = run(Scope.make())
  const beehive: BeehiveService = run(Scope.provide(makeBeehive({}), scope))
  const registry: RegistryService = run(
    Scope.provide(Registry.make({ graceMs }), scope).pipe(Effect.provideService(Beehive, beehive))
  )
  return { sim, run, scope, beehive, registry }
}

describe("R-REG the registry on the virtual clock", () => {
  it("R-REG-1 R-REG-2 R-REG-3 R-REG-6 R-REG-7 R-API-3 registrations, starts and the graceful shutdown are as SPEC says, whatever the modules do", () =>
    fc.assert(
      fc.property(
        fc.array(arbRegistration, { maxLength: 8 }),
        fc.integer({ min: 0, max: 120 }),
        fc.integer({ min: 0, max: 50 }),
        fc.constantFrom("startModules", "run"),
        (registrations, graceMs, shutdownAfterMs, driver) => {
          const { sim, run, scope, beehive, registry } = simulatedRegistry(graceMs, (effect) =>
            effect.pipe(Effect.provideService(References.MinimumLogLevel, "None"))
          )
          const starts: Array<Start> = []
          const behaviourOf = (name: string, behaviour: Behaviour): Effect.Effect<unknown, unknown, Beehive> =>
            Effect.gen(function* () {
              const snapshot = yield* beehive.snapshot
              starts.push({
                name,
                as: yield* CurrentModule,
                at: sim.now,
                saw: Object.fromEntries(snapshot.modules.map((m) => [m.name, [...m.groups]]))
              })
              switch (behaviour._tag) {
                case "serves":
                  return yield* Effect.forever(beehive.receive(name))
                case "finishes":
                  return
                case "ignores shutdown":
                  return yield* Effect.never
                case "ends late":
                  return yield* Effect.forever(beehive.receive(name)).pipe(
                    Effect.catch(() => Effect.sleep(behaviour.ms))
                  )
              }
            })

          // R-REG-1, R-API-3: the first registration of a name is kept; a repeat and an invalid one fail.
          const kept = new Map<string, Extract<Registration, { _tag: "module" }>>()
          for (const registration of registrations) {
            const definition: unknown =
              registration._tag === "module"
                ? ({
                    name: registration.name,
                    group: registration.group,
                    enabled: registration.enabled,
                    start: behaviourOf(registration.name, registration.behaviour)
                  } satisfies ModuleDefinition)
                : registration.how === "not an object"
                  ? null
                  : {
                      name: registration.how === "empty name" ? "" : "valid",
                      group: registration.how === "empty group" ? "" : "valid",
                      start: registration.how === "start not an effect" ? () => undefined : Effect.void
                    }
            const exit = sim.runSync(registry.register(definition as ModuleDefinition))
            const want =
              registration._tag === "invalid"
                ? "InvalidArgument"
                : kept.has(registration.name)
                  ? "ModuleAlreadyExists"
                  : undefined
            if (registration._tag === "module" && want === undefined) kept.set(registration.name, registration)
            const got = (errorOf(exit) as { readonly _tag: string } | undefined)?._tag
            expect(got, `registering ${JSON.stringify(registration)}`).toBe(want)
            // A refusal names its operation and what it refused, and says why (R-API-3).
            if (registration._tag === "invalid") {
              const refusal = errorOf(exit) as {
                readonly operation?: string
                readonly argument?: string
                readonly reason?: string
              }
              expect(refusal.operation).toBe("register")
              expect(refusal.argument).toBe(refusedArgument[registration.how])
              expect(refusal.reason?.trim()).not.toBe("")
            }
          }
          expect(run(registry.modules).map((m) => m.name)).toEqual([...kept.keys()])
          const enabled = [...kept.values()].filter((m) => m.enabled)

          // R-REG-2, R-REG-3: every enabled module and its group exist before any starts; each starts once, as itself.
          let running: Fiber.Fiber<GracefulShutdownReport, unknown> | undefined
          if (driver === "run")
            running = sim.fork(registry.run.pipe(Effect.provideService(References.MinimumLogLevel, "None")))
          else run(registry.startModules)
          sim.settle()
          expect(starts.map((s) => s.name).sort()).toEqual(enabled.map((m) => m.name).sort())
          const everyModule = Object.fromEntries(enabled.map((m) => [m.name, [m.group]]))
          for (const start of starts) {
            expect(start.as).toBe(start.name)
            expect(start.saw).toEqual(everyModule)
          }

          // R-REG-7: `run` ends by itself once every started module has ended (at once when none is enabled).
          const allEnd = enabled.every((m) => m.behaviour._tag === "finishes")
          if (running !== undefined && allEnd) {
            const report = running.pollUnsafe()
            expect(report !== undefined && Exit.isSuccess(report) ? report.value.reason : report).toBe("modules ended")
            if (report !== undefined && Exit.isSuccess(report)) {
              expect(report.value.modules).toEqual(enabled.map((m) => ({ name: m.name, ended: "finished" })))
            }
            run(Scope.close(scope, Exit.void))
            return
          }
          if (running !== undefined) expect(running.pollUnsafe()).toBeUndefined()

          // R-REG-6: the shutdown cleans up every enabled module, waits up to the grace period, interrupts the rest.
          sim.advanceBy(shutdownAfterMs)
          const begun = sim.now
          const shutdown = sim.fork(
            registry.gracefulShutdown("the property").pipe(Effect.provideService(References.MinimumLogLevel, "None"))
          )
          sim.settle()
          for (let ms = 0; shutdown.pollUnsafe() === undefined && ms < 10_000; ms++) sim.advanceBy(1)
          const exit = shutdown.pollUnsafe()
          if (exit === undefined || Exit.isFailure(exit)) throw new Error("the shutdown did not end, or failed")
          const report = exit.value
          const ended = (behaviour: Behaviour): ReadonlyArray<"finished" | "interrupted"> =>
            behaviour._tag === "ignores shutdown"
              ? ["interrupted"]
              : behaviour._tag !== "ends late" || behaviour.ms < graceMs
                ? ["finished"]
                : behaviour.ms > graceMs
                  ? ["interrupted"]
                  : ["finished", "interrupted"]
          expect(report.reason).toBe("the property")
          expect(report.modules.map((m) => m.name)).toEqual(enabled.map((m) => m.name))
          for (const [i, m] of enabled.entries()) {
            expect(ended(m.behaviour), `how ${m.name} ended`).toContain(report.modules[i]?.ended)
          }
          expect(report.cleanups.map((c) => c.module).sort()).toEqual(enabled.map((m) => m.name).sort())
          // It took as long as the slowest module, and never longer than the grace period.
          const waits = enabled.map((m) =>
            m.behaviour._tag === "ignores shutdown"
              ? Number.POSITIVE_INFINITY
              : m.behaviour._tag === "ends late"
                ? m.behaviour.ms
                : 0
          )
          expect(sim.now - begun).toBe(Math.min(graceMs, Math.max(0, ...waits)))
          // A second shutdown, and `run`, report the first one.
          expect(run(registry.gracefulShutdown("again"))).toEqual(report)
          if (running !== undefined) {
            sim.settle()
            const ran = running.pollUnsafe()
            expect(ran !== undefined && Exit.isSuccess(ran) ? ran.value : ran).toEqual(report)
          }
          expect(starts).toHaveLength(enabled.length)
          run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(150)
    ))

  it("R-REG-7 an interrupted run shuts down gracefully and logs the report in one Info line naming the reason and every module with how it ended", () =>
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({
            name: fc.constantFrom("edged", "edgehub", "metamanager", "twin", "bus"),
            enabled: fc.boolean(),
            ignoresShutdown: fc.boolean()
          }),
          { selector: (m) => m.name, minLength: 1, maxLength: 5 }
        ),
        fc.integer({ min: 1, max: 50 }),
        (modules, graceMs) => {
          const sim = new SimRuntime()
          const logged: Array<{ readonly level: string; readonly message: string }> = []
          const logger = Logger.make(({ logLevel, message }) => {
            logged.push({ level: logLevel, message: [message].flat().map(String).join(" ") })
          })
          const { run, scope, beehive, registry } = simulatedRegistry(graceMs, (effect) => effect, sim)
          for (const m of modules) {
            const start = m.ignoresShutdown ? Effect.never : Effect.forever(beehive.receive(m.name))
            run(registry.register({ name: m.name, group: "hub", enabled: m.enabled, start }))
          }
          const enabled = modules.filter((m) => m.enabled)
          const running = sim.fork(
            registry.run.pipe(Effect.provide(Logger.layer([logger], { mergeWithExisting: false })))
          )
          sim.settle()
          // With no module enabled, run has ended by itself: there is nothing to interrupt.
          if (enabled.length > 0) {
            const interrupting = sim.fork(Fiber.interrupt(running))
            for (let ms = 0; interrupting.pollUnsafe() === undefined && ms <= graceMs + 1; ms++) sim.advanceBy(1)
            expect(interrupting.pollUnsafe(), "the interruption completed within the grace period").toBeDefined()
            const report = run(registry.gracefulShutdown("later"))
            expect(report.reason).toBe("interrupted")
            expect(report.modules).toEqual(
              enabled.map((m) => ({ name: m.name, ended: m.ignoresShutdown ? "interrupted" : "finished" }))
            )
            const lines = logged.filter((l) => l.message.includes("shut down"))
            expect(lines).toHaveLength(1)
            const line = lines[0] as (typeof lines)[number]
            expect(line.level).toBe("Info")
            expect(line.message).toContain("interrupted;")
            // Each module named with how it ended, in the report's order.
            expect(line.message).toContain(report.modules.map((m) => `${m.name} ${m.ended}`).join(", "))
            expect(line.message).not.toContain("no modules")
          }
          run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(60)
    ))
})

// `run` interrupted by another fiber, at every point the schedule allows: while it adds the modules,
// forks their keepers, or waits. The log line written then must match the report it logs.
const reached = { noModules: 0, someModules: 0 }
const interruptedRun: Scenario = {
  name: "registry-interrupted-run",
  run: (ctx) =>
    Effect.gen(function* () {
      const logged: Array<string> = []
      const logger = Logger.make(({ message }) => {
        logged.push([message].flat().map(String).join(" "))
      })
      const registry = yield* Registry.make({ graceMs: 5 }).pipe(Effect.provideService(Beehive, ctx.beehive))
      for (const name of ["edged", "edgehub"]) {
        yield* registry.register({ name, group: "hub", start: Effect.forever(ctx.beehive.receive(name)) })
      }
      const running = yield* ctx.spawn(
        "run",
        registry.run.pipe(Effect.provide(Logger.layer([logger], { mergeWithExisting: false })))
      )
      yield* ctx.spawn("interrupter", Fiber.interrupt(running))
      yield* ctx.quiesce
      const report = yield* registry.gracefulShutdown("later")
      const lines = logged.filter((line) => line.startsWith("beehive-effect: shut down"))
      yield* ctx.check(lines.length <= 1, `one log line at most: ${JSON.stringify(lines)}`)
      const line = lines[0]
      if (line !== undefined) {
        const modules = report.modules.map((m) => `${m.name} ${m.ended}`).join(", ")
        if (modules === "") reached.noModules++
        else reached.someModules++
        yield* ctx.check(
          line.includes(`${report.reason}; ${modules === "" ? "no modules" : modules}`),
          `the log line ${JSON.stringify(line)} says the report ${JSON.stringify(report)}`
        )
      }
      // Whatever the interruption hit, the shutdown cleaned up every module that was added.
      const snapshot = yield* ctx.beehive.snapshot
      yield* ctx.check(snapshot.modules.length === 0, `modules left: ${snapshot.modules.map((m) => m.name)}`)
    })
}

describe("R-REG-7 a run interrupted at any point", () => {
  it('R-REG-7 R-REG-6 every schedule with a preemption: an interrupted run logs one line that says its report ("no modules" when it had started none) and cleans up every module it added', () => {
    for (const bounds of [
      { bound: 1, preemptionBound: 0 },
      { bound: 0, preemptionBound: 1 }
    ]) {
      const result = explore(interruptedRun, { strategy: "dfs", ...bounds, runs: 20_000 })
      expect(result.failure, JSON.stringify(result.failure?.outcome)).toBeUndefined()
      expect(result.exhausted).toBe(true)
    }
    // The search reaches both kinds of report: an interruption before any keeper, and after.
    expect(reached.noModules).toBeGreaterThan(0)
    expect(reached.someModules).toBeGreaterThan(0)
  })
})

describe("R-REG-2 a startModules that fails", () => {
  it("R-REG-2 R-REG-6 property: a startModules that cannot add every enabled module (one of a context type not plugged in, or a name taken in the global context) fails with that error, leaves none of the modules it added and starts none, however often it is called; once the name is free, it adds and starts every one, and the shutdown accounts for each (until a property found it, the modules added before the failure stayed, with no keeper: every startModules after failed with ModuleAlreadyExists, and the shutdown reported none of them)", () =>
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({ name: fc.constantFrom("edged", "edgehub", "metamanager", "twin", "bus"), enabled: fc.boolean() }),
          {
            selector: (m) => m.name,
            minLength: 1,
            maxLength: 5
          }
        ),
        fc.nat(),
        fc.constantFrom("unknown context type" as const, "name taken" as const),
        fc.integer({ min: 1, max: 3 }),
        (modules, badIndex, how, tries) => {
          const { run, sim, beehive, registry } = simulatedRegistry(10, (effect) =>
            effect.pipe(Effect.provideService(References.MinimumLogLevel, "None"))
          )
          const bad = modules[badIndex % modules.length] as (typeof modules)[number]
          const starts: Array<string> = []
          for (const m of modules) {
            const start = Effect.andThen(
              Effect.sync(() => starts.push(m.name)),
              Effect.forever(beehive.receive(m.name))
            )
            const contextType = m === bad && how === "unknown context type" ? "nowhere" : undefined
            run(registry.register({ name: m.name, group: "hub", enabled: m.enabled, start, contextType }))
          }
          if (how === "name taken") run(beehive.addModule(bad.name))
          const names = () =>
            run(beehive.snapshot)
              .modules.map((m) => m.name)
              .sort()
          const failing = bad.enabled
          for (let i = 0; i < (failing ? tries : 1); i++) {
            const exit = sim.runSync(
              registry.startModules.pipe(Effect.provideService(References.MinimumLogLevel, "None"))
            )
            if (!failing) {
              expect(Exit.isSuccess(exit), String(exit)).toBe(true)
              break
            }
            const want = how === "name taken" ? "ModuleAlreadyExists" : "UnknownContextType"
            expect((errorOf(exit) as { readonly _tag?: string } | undefined)?._tag).toBe(want)
            // None of the registry's modules stays added; the name taken is still the taker's.
            expect(names()).toEqual(how === "name taken" ? [bad.name] : [])
            sim.settle()
            expect(starts).toEqual([])
          }
          if (failing && how === "name taken") {
            run(beehive.cleanup(bad.name))
            run(registry.startModules)
          }
          sim.settle()
          const started = modules.filter((m) => m.enabled && !(failing && how === "unknown context type"))
          // A disabled module's name taken stays the taker's.
          const taker = how === "name taken" && !failing ? [bad.name] : []
          expect(names()).toEqual([...started.map((m) => m.name), ...taker].sort())
          expect([...starts].sort()).toEqual(started.map((m) => m.name).sort())
          const report = run(registry.gracefulShutdown("done"))
          expect(report.modules.map((m) => m.name).sort()).toEqual(started.map((m) => m.name).sort())
        }
      ),
      fcParams(200)
    ))
})
