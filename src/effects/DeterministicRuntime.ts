/**
 * Runs an Effect program synchronously and deterministically: a `ControlledScheduler` decides every
 * interleaving, a `VirtualClock` moves time only when nothing can run, message ids are sequential.
 * The result is a pure function of the strategy's decisions; the decisions are recorded so that the
 * run can be replayed bit for bit, in this process or another.
 *
 * @since 0.1.0
 */
import { Cause, Clock, Effect, Exit } from "effect"
import { MessageIds, sequentialIds } from "../model/MessageIds.ts"
import { ControlledScheduler, type Decisions } from "./ControlledScheduler.ts"
import type { Strategy } from "./Strategy.ts"
import { fifo } from "./Strategy.ts"
import { VirtualClock } from "./VirtualClock.ts"

/**
 * How a run ended: the program completed ("Success"), failed or died ("Failure", with the error's
 * text), could not go on ("Deadlock": nothing runnable, no timer, program not finished), or took too
 * many steps ("StepLimit", a livelock or a runaway program).
 *
 * @category models
 */
export type RunOutcome =
  | { readonly _tag: "Success" }
  | { readonly _tag: "Failure"; readonly message: string }
  | { readonly _tag: "Deadlock" }
  | { readonly _tag: "StepLimit"; readonly steps: number }

/**
 * Options of a deterministic run.
 *
 * @category models
 */
export interface RunOptions {
  /** Who runs next; FIFO by default. */
  readonly strategy?: Strategy | undefined
  /** Steps after which the run stops with "StepLimit". Default 200000. */
  readonly maxSteps?: number | undefined
  /** What the virtual clock reads first, in ms. Default 0. */
  readonly startTime?: number | undefined
  /** Prefix of the sequential message ids. Default "m". */
  readonly idPrefix?: string | undefined
  /** Called when the run is stuck (deadlock or step limit), before the program is interrupted. */
  readonly onStuck?: (() => void) | undefined
}

/**
 * The result of a deterministic run.
 *
 * @category models
 */
export interface RunResult<A> {
  readonly outcome: RunOutcome
  /** The program's exit when it completed. */
  readonly exit: Exit.Exit<A, unknown> | undefined
  readonly decisions: Decisions
  readonly steps: number
  /** The virtual time at the end, in ms. */
  readonly time: number
  /** Timers still set at the end (a sign of a leak when the program completed). */
  readonly pendingTimers: number
}

/** The clock of the current deterministic run, for code that needs the virtual time. @category models */
export interface RunEnvironment {
  readonly clock: VirtualClock
  readonly scheduler: ControlledScheduler
}

/**
 * Runs `program` to its end under the given strategy; see the module documentation. Never throws and
 * never hangs: a deadlock and a step limit are outcomes. At a deadlock the program is interrupted
 * so that its finalizers run.
 *
 * @category running
 */
export const runDeterministic = <A, E>(
  program: Effect.Effect<A, E> | ((environment: RunEnvironment) => Effect.Effect<A, E>),
  options: RunOptions = {}
): RunResult<A> => {
  const maxSteps = options.maxSteps ?? 200_000
  const scheduler = new ControlledScheduler(options.strategy ?? fifo)
  const clock = new VirtualClock((wake) => scheduler.enqueue(wake), options.startTime ?? 0)
  const effect = typeof program === "function" ? program({ clock, scheduler }) : program
  const fiber = Effect.runFork(
    effect.pipe(
      Effect.provideService(Clock.Clock, clock),
      Effect.provideService(MessageIds, sequentialIds(options.idPrefix ?? "m"))
    ),
    { scheduler }
  )
  const finish = (outcome: RunOutcome): RunResult<A> => ({
    outcome,
    exit: fiber.pollUnsafe() as Exit.Exit<A, unknown> | undefined,
    decisions: scheduler.decisions(),
    steps: scheduler.stepCount,
    time: clock.currentTimeMillisUnsafe(),
    pendingTimers: clock.pendingTimers
  })
  while (true) {
    scheduler.runUntilIdle(maxSteps - scheduler.stepCount)
    if (scheduler.stepCount >= maxSteps) {
      options.onStuck?.()
      fiber.interruptUnsafe()
      return finish({ _tag: "StepLimit", steps: scheduler.stepCount })
    }
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) {
      return finish(
        Exit.isSuccess(exit) ? { _tag: "Success" } : { _tag: "Failure", message: describeCause(exit.cause) }
      )
    }
    if (!clock.advance()) {
      options.onStuck?.()
      fiber.interruptUnsafe()
      scheduler.runUntilIdle(10_000)
      return finish({ _tag: "Deadlock" })
    }
  }
}

/** A one-line description of why a program failed. @category getters */
export const describeCause = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  if (error instanceof Error) return `${error.name === "Error" ? "" : `${error.name}: `}${error.message}`
  if (typeof error === "object" && error !== null && "_tag" in error) return JSON.stringify(error)
  return String(error)
}
