/**
 * A timer host for the live clock's timer queue (R-SYNC-5) whose time only the test moves: its
 * timers fire in due order (set order on ties) as `advance` passes them.
 */
import type { TimerHost } from "../../src/effects/TimerQueue.ts"

/** A timer the host set: when it is due, whether it keeps the process alive, whether it is pending. */
export interface HostTimer {
  readonly due: number
  readonly fire: () => void
  readonly order: number
  alive: boolean
  pending: boolean
}

/** A host whose clock moves only by `advance`, firing due timers in due order (set order on ties). */
export const makeTimerHost = () => {
  let now = 0
  let order = 0
  const timers = new Set<HostTimer>()
  const host: TimerHost<HostTimer> = {
    now: () => now,
    set: (fire, ms) => {
      const timer = { due: now + Math.max(1, ms), fire, order: order++, alive: true, pending: true }
      timers.add(timer)
      return timer
    },
    clear: (timer) => {
      timer.pending = false
      timers.delete(timer)
    },
    keepAlive: (timer, alive) => {
      timer.alive = alive
    }
  }
  const advance = (ms: number) => {
    const target = now + ms
    for (;;) {
      let next: HostTimer | undefined
      for (const timer of timers) {
        if (
          timer.due <= target &&
          (next === undefined || timer.due < next.due || (timer.due === next.due && timer.order < next.order))
        )
          next = timer
      }
      if (next === undefined) break
      now = Math.max(now, next.due)
      timers.delete(next)
      next.pending = false
      next.fire()
    }
    now = target
  }
  return { host, advance, now: () => now, timers }
}
