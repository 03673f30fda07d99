/**
 * Reconnection delays: exponential backoff with jitter, so that a client whose server is gone neither
 * spins (Go's keeper restarts remote modules without delay) nor reconnects in lockstep with its
 * siblings. Delays are slept with `Effect.sleep`, so they follow the Effect `Clock` (virtual in tests).
 *
 * @since 0.1.0
 */
import { Duration } from "effect"

/**
 * Backoff parameters. The delay before retry `n` (0-based) is `min(max, initial × factor^n)`, of which
 * the last `jitter` fraction is random: with the defaults (100 ms, 5 s, 2, 0.5) the first retry waits
 * 50–100 ms and retries settle at 2.5–5 s (Go's fixed `connectPeriod` is 5 s).
 *
 * @category models
 */
export interface BackoffOptions {
  readonly initial?: Duration.Input | undefined
  readonly max?: Duration.Input | undefined
  readonly factor?: number | undefined
  readonly jitter?: number | undefined
}

const millis = (input: Duration.Input | undefined, fallback: number): number => {
  if (input === undefined) return fallback
  const ms = Duration.toMillis(Duration.fromInputUnsafe(input))
  return Number.isFinite(ms) && ms > 0 ? ms : fallback
}

/**
 * The delay in milliseconds before retry `attempt` (0-based), given a random number in [0, 1). Never
 * below `initial × (1 − jitter)`, which is positive: there is no tight loop.
 *
 * @category getters
 */
export const backoffDelayMillis = (attempt: number, options: BackoffOptions, random: number): number => {
  const initial = millis(options.initial, 100)
  const max = Math.max(initial, millis(options.max, 5000))
  const factor = options.factor !== undefined && options.factor >= 1 ? options.factor : 2
  const jitter = options.jitter !== undefined && options.jitter >= 0 && options.jitter < 1 ? options.jitter : 0.5
  const base = Math.min(max, initial * factor ** Math.min(attempt, 64))
  return Math.round(base * (1 - jitter) + base * jitter * Math.min(Math.max(random, 0), 1))
}
