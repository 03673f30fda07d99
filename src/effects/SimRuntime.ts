/**
 * A long-lived deterministic runtime, driven step by step from outside: fork fibers, let everything
 * that can run settle, move virtual time forward. It is what state-machine tests (and users checking
 * their own modules) drive between commands; `runDeterministic` is the one-shot form.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Exit, type Fiber } from "effect"
import { MessageIds, sequentialIds } from "../model/MessageIds.ts"
import { ControlledScheduler, type Decisions } from "./ControlledScheduler.ts"
import { fifo, type Strategy } from "./Strategy.ts"
import { VirtualClock } from "./VirtualClock.ts"

/**
 * Options of a `SimRuntime`.
 *
 * @category models
 */
export interface SimRuntimeOptions {
  readonly strategy?: Strategy | undefined
  readonly startTime?: number | undefined
  readonly idPrefix?: string | undefined
  /** Steps one `settle` may take before it reports a livelock. Default 100000. */
  readonly maxSettleSteps?: number | undefined
}

/** `settle` ran out of steps: something keeps running without ever waiting. @category errors */
export class Livelock extends Error {
  override readonly name = "Livelock"
}

/**
 * A deterministic runtime you drive; see the module documentation.
 *
 * @category models
 */
export class SimRuntime {
  readonly scheduler: ControlledScheduler
  readonly clock: VirtualClock
  private readonly ids
  private readonly maxSettleSteps: number

  constructor(options: SimRuntimeOptions = {}) {
    this.scheduler = new ControlledScheduler(options.strategy ?? fifo)
    this.clock = new VirtualClock((wake) => this.scheduler.enqueue(wake), options.startTime ?? 0)
    this.ids = sequentialIds(options.idPrefix ?? "m")
    this.maxSettleSteps = options.maxSettleSteps ?? 100_000
  }

  /** Starts `effect` in a new fiber on this runtime (it runs until its first wait at once). */
  fork<A, E>(effect: Effect.Effect<A, E>): Fiber.Fiber<A, E> {
    return Effect.runFork(
      effect.pipe(Effect.provideService(Clock.Clock, this.clock), Effect.provideService(MessageIds, this.ids)),
      { scheduler: this.scheduler }
    )
  }

  /** Runs ready tasks until none is left, without moving time. Throws `Livelock` past the step limit. */
  settle(): void {
    const taken = this.scheduler.runUntilIdle(this.maxSettleSteps)
    if (taken >= this.maxSettleSteps && this.scheduler.readyCount > 0) {
      throw new Livelock(`still running after ${taken} steps`)
    }
  }

  /** Moves virtual time forward by `ms`, settling after every timer on the way. */
  advanceBy(ms: number): void {
    this.clock.advanceTo(this.clock.currentTimeMillisUnsafe() + ms, () => this.settle())
  }

  /** Runs `effect` to its end: forks it and settles. Throws if it is still waiting afterwards. */
  runSync<A, E>(effect: Effect.Effect<A, E>): Exit.Exit<A, E> {
    const fiber = this.fork(effect)
    this.settle()
    const exit = fiber.pollUnsafe()
    if (exit === undefined) throw new Error("SimRuntime.runSync: the effect is still waiting")
    return exit
  }

  /** Runs `effect` to its end and returns its value; throws its failure. */
  run<A, E>(effect: Effect.Effect<A, E>): A {
    const exit = this.runSync(effect)
    if (Exit.isSuccess(exit)) return exit.value
    throw exit.cause
  }

  /** The virtual time, in ms. */
  get now(): number {
    return this.clock.currentTimeMillisUnsafe()
  }

  /** The scheduling decisions taken so far. */
  decisions(): Decisions {
    return this.scheduler.decisions()
  }
}
