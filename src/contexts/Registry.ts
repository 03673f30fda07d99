/**
 * The module registry: modules declared up front, added to the context all together, started in
 * their own fibers under their restart policies, and shut down gracefully (Go beehive's
 * `pkg/core/core.go` and `module.go`, with its startup race and crash paths fixed).
 *
 * @since 0.1.0
 */
import { Context, Deferred, Effect, Exit, Fiber, Layer, Result, type Scope } from "effect"
import { checkName } from "../model/Arguments.ts"
import {
  type BeehiveShutdown,
  InvalidArgument,
  ModuleAlreadyExists,
  type ModuleNotFound,
  type UnknownContextType
} from "../model/Errors.ts"
import type { CleanupReport } from "../model/Reports.ts"
import { Beehive } from "./Beehive.ts"
import { keepModule, type RestartPolicy } from "./RestartPolicy.ts"
import { awaitSignal, ShutdownSignals } from "./Signals.ts"

/**
 * A module as the registry knows it (Go's `Module` interface: `Name`, `Group`, `Enable`, `Start`,
 * `RestartPolicy`).
 *
 * @category models
 */
export interface ModuleDefinition {
  readonly name: string
  /** The group the module joins when it is added. */
  readonly group: string
  /** Disabled modules are recorded but never added or started. Default true. */
  readonly enabled?: boolean | undefined
  /** What the module does; runs in its own fiber with `CurrentModule` set to `name`. */
  readonly start: Effect.Effect<unknown, unknown, Beehive>
  readonly restartPolicy?: RestartPolicy | undefined
  /** The module's context type; "channel" by default. */
  readonly contextType?: string | undefined
  /** The module's mailbox capacity; the context's default by default. */
  readonly capacity?: number | undefined
}

/**
 * How one module's fiber ended during `gracefulShutdown`.
 *
 * @category models
 */
export interface ModuleEnd {
  readonly name: string
  readonly ended: "finished" | "interrupted"
}

/**
 * What `gracefulShutdown` did.
 *
 * @category models
 */
export interface GracefulShutdownReport {
  /** Why: the signal's name, or the reason given. */
  readonly reason: string
  readonly modules: ReadonlyArray<ModuleEnd>
  readonly cleanups: ReadonlyArray<CleanupReport>
}

/**
 * Options of a registry.
 *
 * @category models
 */
export interface RegistryOptions {
  /** How long `gracefulShutdown` waits for module fibers before interrupting them, in ms. Default 5000. */
  readonly graceMs?: number | undefined
}

/** Failures of `startModules`. @category models */
export type StartModulesError =
  | InvalidArgument
  | ModuleAlreadyExists
  | UnknownContextType
  | ModuleNotFound
  | BeehiveShutdown

/**
 * The registry's operations.
 *
 * @category models
 */
export interface RegistryService {
  /**
   * Records a module (R-REG-1). Fails with `ModuleAlreadyExists` for a name already registered, and
   * `InvalidArgument` for a definition without a name, a group or a `start` effect (R-API-3).
   */
  readonly register: (module: ModuleDefinition) => Effect.Effect<void, ModuleAlreadyExists | InvalidArgument>
  /** The registered modules, in registration order. */
  readonly modules: Effect.Effect<ReadonlyArray<ModuleDefinition>>
  /**
   * Adds every enabled module and joins its group, then starts them all (R-REG-2, R-REG-3). Returns
   * once they are started; does not wait for them. Fails with the error of the first module it cannot
   * add, having cleaned up those it added (none starts). Not interruptible; never waits.
   */
  readonly startModules: Effect.Effect<void, StartModulesError>
  /**
   * Shuts down (R-REG-6): the context, then the module fibers (waiting up to the grace period, then
   * interrupting). Calling it again returns the first report. Blocks up to the grace period; once
   * begun it cannot be interrupted, so an interrupted caller waits for its end.
   */
  readonly gracefulShutdown: (reason?: string) => Effect.Effect<GracefulShutdownReport>
  /**
   * `startModules`, then keeps the process alive until SIGINT, SIGTERM, SIGHUP or SIGQUIT, a
   * `gracefulShutdown` called from elsewhere, or the end of every started module, then shuts down
   * gracefully and returns the report (Go's `core.Run`; R-REG-7). Interrupted while it waits (as
   * `NodeRuntime.runMain` does on SIGINT/SIGTERM), it still shuts down gracefully, so every module's
   * finalizers run, and logs the report at level Info. Fails only as `startModules` does.
   */
  readonly run: Effect.Effect<GracefulShutdownReport, StartModulesError>
}

const makeRegistry = (options: RegistryOptions = {}): Effect.Effect<RegistryService, never, Beehive | Scope.Scope> =>
  Effect.gen(function* () {
    const beehive = yield* Beehive
    const scope = yield* Effect.scope
    const graceMs = options.graceMs ?? 5000
    const definitions = new Map<string, ModuleDefinition>()
    const keepers = new Map<string, Fiber.Fiber<void>>()
    const report = Deferred.makeUnsafe<GracefulShutdownReport>()
    let stopping = false

    const register: RegistryService["register"] = (module) =>
      Effect.suspend((): Effect.Effect<void, ModuleAlreadyExists | InvalidArgument> => {
        const refused = (argument: string, reason: string) =>
          Effect.fail(new InvalidArgument({ operation: "register", argument, reason }))
        if (typeof module !== "object" || module === null) return refused("module", "expected a module definition")
        const name = checkName("register", "module name", module.name)
        if (Result.isFailure(name)) return Effect.fail(name.failure)
        const group = checkName("register", "group name", module.group)
        if (Result.isFailure(group)) return Effect.fail(group.failure)
        if (!Effect.isEffect(module.start)) return refused("start", "expected an Effect")
        if (definitions.has(module.name)) return Effect.fail(new ModuleAlreadyExists({ module: module.name }))
        definitions.set(module.name, module)
        return Effect.void
      })

    // Not interruptible (adding a module never waits): every module it adds gets its keeper, so the
    // shutdown accounts for it, or, when one cannot be added, the ones it added are cleaned up again.
    // Until a property found it, those stayed, with no keeper: every startModules after failed with
    // ModuleAlreadyExists, and the shutdown reported none of them.
    const startModules: RegistryService["startModules"] = Effect.uninterruptible(
      Effect.gen(function* () {
        const enabled = [...definitions.values()].filter((m) => m.enabled !== false && !keepers.has(m.name))
        const added: Array<string> = []
        const adding = yield* Effect.exit(
          Effect.gen(function* () {
            for (const m of enabled) {
              yield* beehive.addModule(m.name, { contextType: m.contextType, capacity: m.capacity })
              added.push(m.name)
              yield* beehive.addModuleGroup(m.name, m.group)
            }
          })
        )
        if (Exit.isFailure(adding)) {
          for (const name of added) yield* Effect.ignore(beehive.cleanup(name))
          return yield* adding
        }
        for (const m of enabled) {
          const keeper = yield* Effect.forkIn(
            keepModule(m.name, m.start, m.restartPolicy, () => stopping).pipe(Effect.provideService(Beehive, beehive)),
            scope
          )
          keepers.set(m.name, keeper)
        }
      })
    )

    const gracefulShutdown: RegistryService["gracefulShutdown"] = (reason = "requested") =>
      // The shutdown itself is not interruptible (it is bounded by the grace period): a caller that gives
      // up must not leave it half done, with the report never written for the callers after it.
      Effect.uninterruptibleMask((restore) => {
        if (stopping) return restore(Deferred.await(report))
        stopping = true
        return Effect.gen(function* () {
          const { cleanups } = yield* beehive.shutdown
          const fibers = [...keepers]
          yield* Effect.timeoutOption(Fiber.awaitAll(fibers.map(([, f]) => f)), graceMs)
          const modules: Array<ModuleEnd> = fibers.map(([name, fiber]) => ({
            name,
            ended: fiber.pollUnsafe() === undefined ? "interrupted" : "finished"
          }))
          yield* Fiber.interruptAll(fibers.map(([, f]) => f))
          const result: GracefulShutdownReport = { reason, modules, cleanups }
          Deferred.doneUnsafe(report, Exit.succeed(result))
          return result
        })
      })

    const everyModuleEnded = Effect.suspend(() => Fiber.awaitAll([...keepers.values()]))

    const run: RegistryService["run"] = Effect.suspend(() => {
      // The signal that arrived in the instant `run` was interrupted names the shutdown: a runtime that
      // interrupts on signals (NodeRuntime.runMain) listens too, and its listener may run first.
      let lastSignal: string | undefined
      const note = (signal: NodeJS.Signals) => () => {
        lastSignal = signal
      }
      const notes = ShutdownSignals.map((signal) => [signal, note(signal)] as const)
      const shutdownOnInterrupt = Effect.yieldNow.pipe(
        Effect.andThen(Effect.suspend(() => gracefulShutdown(lastSignal ?? "interrupted"))),
        Effect.tap((report) => Effect.logInfo(`beehive-effect: shut down (${describeReport(report)})`))
      )
      const waitAndShutdown = Effect.gen(function* () {
        yield* startModules
        // A shutdown requested elsewhere gave its own reason: `gracefulShutdown` returns that report.
        const reason = yield* Effect.raceAll([
          awaitSignal(),
          Effect.as(Deferred.await(report), undefined),
          Effect.as(everyModuleEnded, "modules ended")
        ])
        return yield* gracefulShutdown(reason)
      }).pipe(Effect.onInterrupt(() => shutdownOnInterrupt))
      return Effect.acquireUseRelease(
        Effect.sync(() => {
          for (const [signal, handler] of notes) process.on(signal, handler)
        }),
        () => waitAndShutdown,
        () =>
          Effect.sync(() => {
            for (const [signal, handler] of notes) process.off(signal, handler)
          })
      )
    })

    return {
      register,
      modules: Effect.sync(() => [...definitions.values()]),
      startModules,
      gracefulShutdown,
      run
    }
  })

/** A report in one line, for the log. */
const describeReport = (report: GracefulShutdownReport): string =>
  `${report.reason}; ${report.modules.map((m) => `${m.name} ${m.ended}`).join(", ") || "no modules"}`

/**
 * The registry as an Effect service; needs a `Beehive`.
 *
 * @category services
 */
export class Registry extends Context.Service<Registry, RegistryService>()("beehive-effect/Registry") {
  /** Builds the service in the current scope. */
  static readonly make = makeRegistry

  /** A registry with the default grace period (5 s). */
  static readonly layer: Layer.Layer<Registry, never, Beehive> = Layer.effect(Registry, makeRegistry())

  /** A registry with the given options. */
  static readonly layerWith = (options: RegistryOptions): Layer.Layer<Registry, never, Beehive> =>
    Layer.effect(Registry, makeRegistry(options))
}
