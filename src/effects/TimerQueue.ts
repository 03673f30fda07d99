/**
 * The timers of waits with a deadline on Effect's own clock: one host timer per distinct delay instead
 * of one per wait. Most waits end before their deadline, and a `setTimeout` cleared at once costs Node a
 * timer list made and dropped each time (a sendSync whose answer comes first: 135 → 154 k round trips/s
 * without timers at all). Waits of one delay are due in the order they were started, so each delay
 * keeps its waits in that order and a host timer for the oldest; a withdrawn wait is only marked, and
 * dropped once it is the oldest or once withdrawn waits outnumber live ones. A delay whose waits are
 * all withdrawn keeps its timer, unreferenced, for the next wait of that delay, until there are many
 * delays.
 *
 * @since 0.3.0
 * @internal
 */

/** What a timer queue runs on: Node's timers and monotonic time, or a test's. @category models */
export interface TimerHost<H> {
  /** Monotonic milliseconds. */
  readonly now: () => number
  /** Calls `fire` once, `ms` from now. */
  readonly set: (fire: () => void, ms: number) => H
  /** Cancels a timer `set` returned that has not fired. */
  readonly clear: (handle: H) => void
  /** Whether a pending timer keeps the process alive. */
  readonly keepAlive: (handle: H, alive: boolean) => void
}

/** The longest delay `setTimeout` takes; a longer one fires at once. */
const maxTimerMillis = 2 ** 31 - 1

/** The waits of one delay, oldest first, from `head` on. */
interface Lane<H> {
  readonly delay: number
  entries: Array<Wait<H>>
  head: number
  live: number
  timer: H | undefined
  /** While its timer's waits expire: a wait started then is armed for after them. */
  firing: boolean
}

/**
 * A started wait: `withdraw` it to stop it; withdrawing it after it expired, or twice, does nothing.
 *
 * @category models
 */
export class Wait<H> {
  live = true
  readonly due: number
  readonly expire: () => void
  private readonly queue: TimerQueue<H>
  private readonly lane: Lane<H>

  constructor(queue: TimerQueue<H>, lane: Lane<H>, due: number, expire: () => void) {
    this.queue = queue
    this.lane = lane
    this.due = due
    this.expire = expire
  }

  withdraw(): void {
    if (this.live) this.queue.withdrawn(this.lane, this)
  }
}

/**
 * Timers that share one host timer per distinct delay.
 *
 * @category models
 */
export class TimerQueue<H> {
  private readonly lanes = new Map<number, Lane<H>>()
  private readonly host: TimerHost<H>
  private readonly minSweep: number
  private readonly slack: number
  /** Once there are this many delays, those without waits lose their timers. */
  private sweepAt: number

  /**
   * `minSweep`: how many delays there may be before those without waits lose their timers (32).
   * `slack`: how many more withdrawn waits than live ones a delay holds before it drops them (16).
   */
  constructor(host: TimerHost<H>, options: { readonly minSweep?: number; readonly slack?: number } = {}) {
    this.host = host
    this.minSweep = options.minSweep ?? 32
    this.slack = options.slack ?? 16
    this.sweepAt = this.minSweep
  }

  /**
   * Calls `expire` once `delay` ms (at least 0) have passed on the host's clock, unless the wait is
   * withdrawn first. Never blocks; `expire` runs from a host timer, never from `start` or a withdrawal.
   */
  start(delay: number, expire: () => void): Wait<H> {
    let lane = this.lanes.get(delay)
    if (lane === undefined) {
      if (this.lanes.size >= this.sweepAt) this.sweep()
      lane = { delay, entries: [], head: 0, live: 0, timer: undefined, firing: false }
      this.lanes.set(delay, lane)
    }
    const wait = new Wait(this, lane, this.host.now() + Math.max(0, delay), expire)
    lane.entries.push(wait)
    if (lane.live++ === 0 && lane.timer !== undefined) this.host.keepAlive(lane.timer, true)
    if (lane.timer === undefined && !lane.firing) this.arm(lane, wait.due)
    return wait
  }

  /**
   * What each delay holds, for tests: its live waits, withdrawn waits not yet dropped, places of waits
   * passed and not yet reclaimed, and whether it keeps a timer.
   */
  get held(): ReadonlyArray<{
    readonly delay: number
    readonly live: number
    readonly withdrawn: number
    readonly passed: number
    readonly timer: boolean
  }> {
    return [...this.lanes.values()].map((lane) => ({
      delay: lane.delay,
      live: lane.live,
      withdrawn: lane.entries.length - lane.head - lane.live,
      passed: lane.head,
      timer: lane.timer !== undefined
    }))
  }

  /** @internal */
  withdrawn(lane: Lane<H>, wait: Wait<H>): void {
    wait.live = false
    // With no live wait the timer stays, for the next wait of this delay, but lets the process exit.
    if (--lane.live === 0 && lane.timer !== undefined) this.host.keepAlive(lane.timer, false)
    this.dropWithdrawn(lane)
  }

  // Delays without waits keep their timers until there are `sweepAt` delays; then they lose them, and
  // the next sweep waits for twice as many delays as are left, so sweeping stays constant per wait.
  private sweep(): void {
    for (const [delay, lane] of this.lanes) {
      if (lane.entries.length > lane.head) continue
      if (lane.timer !== undefined) this.host.clear(lane.timer)
      lane.timer = undefined
      this.lanes.delete(delay)
    }
    this.sweepAt = Math.max(this.minSweep, 2 * this.lanes.size)
  }

  private dropWithdrawn(lane: Lane<H>): void {
    const entries = lane.entries
    while (lane.head < entries.length && !(entries[lane.head] as Wait<H>).live) lane.head++
    const held = entries.length - lane.head
    if (held === 0) {
      lane.entries = []
      lane.head = 0
    } else if (held - lane.live > lane.live + this.slack) {
      lane.entries = entries.filter((wait) => wait.live)
      lane.head = 0
    } else if (lane.head > held + this.slack) {
      lane.entries = entries.slice(lane.head)
      lane.head = 0
    }
  }

  // Only for a lane with a live wait: a new timer keeps the process alive.
  private arm(lane: Lane<H>, due: number): void {
    lane.timer = this.host.set(() => this.fire(lane), Math.min(due - this.host.now(), maxTimerMillis))
  }

  private fire(lane: Lane<H>): void {
    lane.timer = undefined
    lane.firing = true
    const now = this.host.now()
    while (lane.head < lane.entries.length) {
      const wait = lane.entries[lane.head] as Wait<H>
      if (wait.live && wait.due > now) break
      lane.head++
      if (!wait.live) continue
      wait.live = false
      lane.live--
      wait.expire()
    }
    lane.firing = false
    this.dropWithdrawn(lane)
    if (lane.entries.length > lane.head) this.arm(lane, (lane.entries[lane.head] as Wait<H>).due)
    else if (this.lanes.get(lane.delay) === lane) this.lanes.delete(lane.delay)
  }
}

/**
 * The timer queue of Effect's own clock: Node's (or the platform's) `setTimeout` and monotonic time. A
 * timer keeps the process alive while a wait of its delay is live, as a `setTimeout` per wait would.
 *
 * @category instances
 */
export const liveTimers = new TimerQueue<ReturnType<typeof setTimeout>>({
  now: () => performance.now(),
  set: (fire, ms) => setTimeout(fire, ms),
  clear: (handle) => clearTimeout(handle),
  keepAlive: (handle, alive) => {
    if (typeof handle !== "object" || handle === null) return
    if (alive) handle.ref()
    else handle.unref()
  }
})
