/**
 * A bound on the warnings a peer can make a process write (R-SOCK-19): at most `perWindow` lines per
 * kind of event and per peer host in each window of `windowMs`; what is held back is counted and said
 * in one line when that peer's next window opens. Memory is bounded too: at most `maxKeys` peers are
 * tracked, the oldest window forgotten first.
 *
 * @since 0.2.0
 * @internal
 */

interface Window {
  start: number
  logged: number
  suppressed: number
}

/** What to log for one event. @category models */
export interface Admission {
  /** Whether this event's line is written. */
  readonly log: boolean
  /** Lines held back in this key's previous window, to be reported now (0: nothing to report). */
  readonly suppressed: number
}

/** Counts lines per key and window. @category models */
export class LogLimiter {
  private readonly windows = new Map<string, Window>()

  readonly perWindow: number
  readonly windowMs: number
  readonly maxKeys: number

  constructor(perWindow = 10, windowMs = 1000, maxKeys = 1024) {
    this.perWindow = perWindow
    this.windowMs = windowMs
    this.maxKeys = maxKeys
  }

  /** Admits or holds back one line for `key` at time `now` (ms). Never blocks. */
  admit(key: string, now: number): Admission {
    let window = this.windows.get(key)
    let suppressed = 0
    if (window !== undefined && now - window.start >= this.windowMs) {
      suppressed = window.suppressed
      this.windows.delete(key)
      window = undefined
    }
    if (window === undefined) {
      if (this.windows.size >= this.maxKeys) {
        const oldest = this.windows.keys().next()
        if (oldest.done !== true) this.windows.delete(oldest.value)
      }
      window = { start: now, logged: 0, suppressed: 0 }
      this.windows.set(key, window)
    }
    if (window.logged < this.perWindow) {
      window.logged++
      return { log: true, suppressed }
    }
    window.suppressed++
    return { log: false, suppressed }
  }
}

/** The host part of a peer (`10.0.0.5:41234` → `10.0.0.5`): one attacker's many connections share it. @category getters */
export const peerHost = (peer: string): string => {
  const v6 = /^\[([^\]]+)\]:\d+$/.exec(peer)
  if (v6 !== null) return v6[1] as string
  const v4 = /^([^:]+):\d+$/.exec(peer)
  return v4 !== null ? (v4[1] as string) : peer
}
