/**
 * An Effect `Scheduler` whose every decision is taken by a `Strategy`: all fibers' dispatchers share
 * one list of ready tasks, the strategy picks which runs next, and may preempt a fiber at any Effect
 * operation but the first after the fiber is entered (where Effect's scheduler never yields either). Each dispatcher (Effect makes one per fiber) gets a number in creation order, so the
 * strategy can tell owners apart deterministically.
 *
 * @since 0.1.0
 */
import type { Fiber, Scheduler } from "effect"
import type { ReadyTask, Strategy } from "./Strategy.ts"

interface Task extends ReadyTask {
  readonly run: () => void
}

/**
 * The decisions a run took, enough to replay it: the index chosen at every point where two or more
 * tasks were ready, and the operations at which a fiber was preempted.
 *
 * @category models
 */
export interface Decisions {
  readonly choices: ReadonlyArray<number>
  /** How many tasks were ready at each choice point (for exhaustive search). */
  readonly arities: ReadonlyArray<number>
  readonly preemptions: ReadonlyArray<number>
}

/**
 * A scheduler driven by a strategy; see the module documentation.
 *
 * @category models
 */
export class ControlledScheduler implements Scheduler.Scheduler {
  readonly executionMode = "async" as const
  private readonly strategy: Strategy
  private readonly maxOpsBeforeYield: number | undefined
  private ready: Array<Task> = []
  private owners = 0
  private ops = 0
  private steps = 0
  private readonly choices: Array<number> = []
  private readonly arities: Array<number> = []
  private readonly preemptions: Array<number> = []

  /** Owner number of tasks that wake timers. */
  static readonly timerOwner = 0

  /**
   * `maxOpsBeforeYield`: the operations a fiber runs before it yields; when not given, the fiber's own
   * `References.MaxOpsBeforeYield` (2048 unless set), as Effect's own scheduler reads it.
   */
  constructor(strategy: Strategy, maxOpsBeforeYield?: number) {
    this.strategy = strategy
    this.maxOpsBeforeYield = maxOpsBeforeYield
  }

  shouldYield(fiber: Fiber.Fiber<unknown, unknown>): boolean {
    const op = ++this.ops
    // Never at the first operation after a fiber is entered: Effect's own scheduler never yields
    // there, and a yield there lets a fiber's pending start overwrite an interrupt delivered before
    // it started (a schedule no real run can take, once reported as a deadlock).
    // The strategy sees how many other tasks are ready: with none, a preemption resumes the same
    // fiber at once and changes nothing, so a search need not spend a schedule on it.
    if (fiber.currentOpCount > 1 && this.strategy.preempt(op, this.ready.length)) {
      this.preemptions.push(op)
      return true
    }
    return fiber.currentOpCount >= (this.maxOpsBeforeYield ?? fiber.cache.maxOpsBeforeYield)
  }

  makeDispatcher(): Scheduler.SchedulerDispatcher {
    const owner = ++this.owners
    return {
      scheduleTask: (run) => this.enqueue(run, owner),
      flush: () => this.runUntilIdle()
    }
  }

  /** Makes `run` a ready task of `owner`. */
  enqueue(run: () => void, owner: number = ControlledScheduler.timerOwner): void {
    this.ready.push({ run, owner })
  }

  /** Runs one ready task, chosen by the strategy; false when nothing is ready. */
  step(): boolean {
    const n = this.ready.length
    if (n === 0) return false
    let index = 0
    if (n > 1) {
      index = this.strategy.choose(this.ready, this.choices.length)
      if (!Number.isInteger(index) || index < 0 || index >= n) index = 0
      this.choices.push(index)
      this.arities.push(n)
    }
    const [task] = this.ready.splice(index, 1) as [Task]
    this.steps++
    task.run()
    return true
  }

  /** Runs ready tasks until none is left, or `limit` steps; returns the steps taken. */
  runUntilIdle(limit = Number.POSITIVE_INFINITY): number {
    let taken = 0
    while (taken < limit && this.step()) taken++
    return taken
  }

  /** Tasks ready now. */
  get readyCount(): number {
    return this.ready.length
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.steps
  }

  /** The decisions taken so far. */
  decisions(): Decisions {
    return { choices: [...this.choices], arities: [...this.arities], preemptions: [...this.preemptions] }
  }
}
