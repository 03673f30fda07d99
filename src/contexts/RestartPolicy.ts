/**
 * Restart policies for registry modules, with the meanings of Go beehive's `ModuleRestartPolicy`
 * (kubeedge PR #6445) and the keeper loop of `localModuleKeeper`.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit } from "effect"
import { asModule } from "../effects/CurrentModule.ts"

/** Restart after every exit (Go `RestartTypeAlways`). @category constants */
export const RestartTypeAlways = "Always"
/** Restart only after a failure (Go `RestartTypeOnFailure`). @category constants */
export const RestartTypeOnFailure = "OnFailure"
/** Interval limit when none is given, in seconds (Go `DefaultRestartIntervalLimit`). @category constants */
export const DefaultRestartIntervalLimitSeconds = 30
/** First interval when none (or one <= 0) is given, in seconds (Go `DefaultIntervalSecond`). @category constants */
export const DefaultIntervalSeconds = 1

/**
 * How a module's `start` is restarted.
 *
 * @category models
 */
export interface RestartPolicy {
  /** "Always" restarts after every exit; "OnFailure" stops at the first success. */
  readonly type: typeof RestartTypeAlways | typeof RestartTypeOnFailure
  /** How many restarts are allowed (N + 1 starts in all); 0 or absent: unlimited. */
  readonly retries?: number | undefined
  /** Seconds to wait before the first restart; <= 0 or absent: 1. */
  readonly intervalSeconds?: number | undefined
  /** Factor the interval grows by after each restart; <= 1 or absent: constant. */
  readonly intervalGrowthRate?: number | undefined
  /** Upper bound of the interval in seconds; 0 or absent: 30. */
  readonly intervalLimitSeconds?: number | undefined
  /** Called once when the restart limit is reached, with the last failure (undefined after a success). */
  readonly errorHandler?: ((error: unknown) => Effect.Effect<void>) | undefined
}

/**
 * Go's `calculateIntervalTime(current, limit, rate)`, in any unit: `rate <= 1` keeps `current`;
 * `limit = 0` means 30 seconds (`limitDefault`, in the same unit); `current = limit` keeps it;
 * otherwise `min(current * rate, limit)`.
 *
 * @category getters
 */
export const calculateIntervalTime = (
  current: number,
  limit: number,
  rate: number,
  limitDefault = DefaultRestartIntervalLimitSeconds
): number => {
  if (rate <= 1) return current
  const bound = limit === 0 ? limitDefault : limit
  if (current === bound) return current
  return Math.min(current * rate, bound)
}

/**
 * Runs a module's `start` under its policy, as Go's `localModuleKeeper` does, until the policy says
 * stop or `stopping()` turns true. Every start runs as the module (`CurrentModule`). A failing or
 * dying start is logged and fed to the policy; it never fails the keeper. Interrupting the keeper
 * stops the module.
 *
 * @category constructors
 */
export const keepModule = <R>(
  name: string,
  start: Effect.Effect<unknown, unknown, R>,
  policy: RestartPolicy | undefined,
  stopping: () => boolean
): Effect.Effect<void, never, R> =>
  Effect.gen(function* () {
    const runOnce = Effect.exit(asModule(name)(start))
    if (policy === undefined) {
      const exit = yield* runOnce
      if (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)) {
        yield* Effect.logWarning(`module ${name} start failed`, Cause.pretty(exit.cause))
      }
      return
    }
    const retries = policy.retries ?? 0
    const limitMs = (policy.intervalLimitSeconds ?? 0) * 1000
    let intervalMs = (policy.intervalSeconds ?? 0) > 0 ? (policy.intervalSeconds as number) * 1000 : 1000
    let restartCount = 0
    while (true) {
      const exit = yield* runOnce
      if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) return
      if (Exit.isSuccess(exit) && policy.type === RestartTypeOnFailure) return
      if (Exit.isFailure(exit)) yield* Effect.logWarning(`module ${name} start failed`, Cause.pretty(exit.cause))
      restartCount++
      if (retries > 0 && restartCount > retries) {
        yield* Effect.logWarning(
          `module ${name} restart limit has been reached, count: ${restartCount - 1}, policy.Retries: ${retries}`
        )
        if (policy.errorHandler !== undefined) {
          yield* policy.errorHandler(Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined)
        }
        return
      }
      if (stopping()) return
      yield* Effect.sleep(intervalMs)
      if (stopping()) return
      intervalMs = calculateIntervalTime(
        intervalMs,
        limitMs,
        policy.intervalGrowthRate ?? 0,
        DefaultRestartIntervalLimitSeconds * 1000
      )
    }
  })
