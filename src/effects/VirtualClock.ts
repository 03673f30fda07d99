/**
 * A virtual `Clock` for the deterministic runtime. Time stands still while anything can run; when
 * nothing can, `advance` moves it to the next timer and makes every timer due at that instant a
 * ready task, so the scheduling strategy orders them (a response and a deadline at the same instant
 * can land either way).
 *
 * @since 0.1.0
 */
import { type Clock, Duration, Effect } from "effect"

interface Timer {
  readonly at: number
  readonly seq: number
  readonly wake: () => void
}

/**
 * Virtual time in milliseconds, driven by `advance`.
 *
 * @category models
 */
export class VirtualClock implements Clock.Clock {
  private now: number
  private seq = 0
  private timers: Array<Timer> = []
  private readonly enqueue: (wake: () => void) => void

  /**
   * @param enqueue makes a due timer's wake-up a ready task.
   * @param start the time the clock reads first, in ms.
   */
  constructor(enqueue: (wake: () => void) => void, start = 0) {
    this.enqueue = enqueue
    this.now = start
  }

  currentTimeMillisUnsafe(): number {
    return this.now
  }
  readonly currentTimeMillis: Effect.Effect<number> = Effect.sync(() => this.now)
  currentTimeNanosUnsafe(): bigint {
    return BigInt(this.now) * 1_000_000n
  }
  readonly currentTimeNanos: Effect.Effect<bigint> = Effect.sync(() => this.currentTimeNanosUnsafe())
  monotonicTimeNanosUnsafe(): bigint {
    return this.currentTimeNanosUnsafe()
  }
  readonly monotonicTimeNanos: Effect.Effect<bigint> = Effect.sync(() => this.currentTimeNanosUnsafe())

  /** Suspends until the clock has advanced by `duration`; interrupting removes the timer. */
  sleep(duration: Duration.Duration): Effect.Effect<void> {
    const ms = Duration.toMillis(duration)
    if (ms <= 0) return Effect.yieldNow
    return Effect.callback<void>((resume) => {
      const timer: Timer = { at: this.now + ms, seq: ++this.seq, wake: () => resume(Effect.void) }
      this.insert(timer)
      return Effect.sync(() => this.remove(timer))
    })
  }

  /** The time of the next timer, if any finite one is set. */
  get nextTimer(): number | undefined {
    const first = this.timers[0]
    return first !== undefined && Number.isFinite(first.at) ? first.at : undefined
  }

  /** Pending timers. */
  get pendingTimers(): number {
    return this.timers.length
  }

  /** Moves time to the next timer and readies every timer due then; false if there is none. */
  advance(): boolean {
    const at = this.nextTimer
    if (at === undefined) return false
    this.now = at
    while (this.timers.length > 0 && (this.timers[0] as Timer).at === at) {
      const timer = this.timers.shift() as Timer
      this.enqueue(timer.wake)
    }
    return true
  }

  /**
   * Moves time forward to `target` step by step: each timer due on the way is readied and `settle`
   * runs everything it wakes before time moves on. Never moves time backward.
   */
  advanceTo(target: number, settle: () => void): void {
    settle()
    for (let next = this.nextTimer; next !== undefined && next <= target; next = this.nextTimer) {
      this.advance()
      settle()
    }
    this.now = Math.max(this.now, target)
  }

  private insert(timer: Timer): void {
    let i = this.timers.length
    while (i > 0 && (this.timers[i - 1] as Timer).at > timer.at) i--
    this.timers.splice(i, 0, timer)
  }

  private remove(timer: Timer): void {
    const i = this.timers.indexOf(timer)
    if (i >= 0) this.timers.splice(i, 1)
  }
}
