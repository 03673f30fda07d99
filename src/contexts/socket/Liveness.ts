/**
 * The liveness check of one connection (R-SOCK-20): a peer that goes silent or trickles bytes is cut
 * off as a crash is, and an idle connection writes heartbeats so that its peer does not take it for
 * one. It looks only at counters the read and write loops keep, so reading and writing take no clock
 * reading; it runs only when a heartbeat or a frame timeout is on.
 *
 * @since 0.2.0
 * @internal
 */
import { Duration, Effect } from "effect"
import { PeerUnresponsive } from "../../model/SocketErrors.ts"

/**
 * What the check watches on the reading side.
 *
 * @category models
 */
export interface ReadActivity {
  /** Payloads read so far. */
  readonly heard: number
  /** Whether reading is paused here (backpressure): the peer's silence is then ours. */
  readonly paused: boolean
  /** Whether a frame (or line) has begun to arrive and is not finished. */
  readonly hasPartialFrame: boolean
}

/**
 * What the check watches, and asks for, on the writing side.
 *
 * @category models
 */
export interface WriteActivity {
  /** Writes made so far. */
  readonly written: number
  /** Writes a heartbeat as soon as nothing else is to be written. */
  requestHeartbeat(): void
}

/**
 * The check's settings, agreed in the handshake or configured.
 *
 * @category models
 */
export interface LivenessOptions {
  readonly peer: string
  /** The heartbeat interval in milliseconds; 0: none. */
  readonly heartbeatMs: number
  /** How long a frame may stay unfinished, in milliseconds; 0: for ever. */
  readonly frameTimeoutMs: number
}

/**
 * Fails with `PeerUnresponsive` when the peer goes silent: with a heartbeat agreed, nothing read for
 * three intervals (while reading is not paused here); with a frame timeout, a frame unfinished that
 * long. It asks for a heartbeat when nothing was written for an interval. Never succeeds; run it only
 * when `heartbeatMs` or `frameTimeoutMs` is above 0.
 *
 * @category constructors
 */
export const liveness = (
  options: LivenessOptions,
  reading: ReadActivity,
  writing: WriteActivity
): Effect.Effect<never, PeerUnresponsive> =>
  Effect.gen(function* () {
    const { heartbeatMs, frameTimeoutMs } = options
    // Checked every half interval: an idle peer's heartbeats then come at most 1.5 intervals apart,
    // well inside the three intervals of silence that make it unresponsive.
    const tick = Math.min(...[heartbeatMs, frameTimeoutMs].filter((ms) => ms > 0)) / 2
    let heard = reading.heard
    let written = writing.written
    let silentMs = 0
    let quietMs = 0
    // How long the frame now unfinished has been seen unfinished; -1: none.
    let unfinishedMs = -1
    while (true) {
      yield* Effect.sleep(Duration.millis(tick))
      const alive = reading.heard !== heard || reading.paused
      heard = reading.heard
      silentMs = alive ? 0 : silentMs + tick
      unfinishedMs = alive || !reading.hasPartialFrame ? -1 : unfinishedMs < 0 ? 0 : unfinishedMs + tick
      quietMs = writing.written !== written ? 0 : quietMs + tick
      written = writing.written
      if (heartbeatMs > 0 && silentMs >= 3 * heartbeatMs) {
        return yield* new PeerUnresponsive({
          peer: options.peer,
          detail: `nothing came for ${silentMs} ms (heartbeat every ${heartbeatMs} ms)`
        })
      }
      if (frameTimeoutMs > 0 && unfinishedMs >= frameTimeoutMs) {
        return yield* new PeerUnresponsive({
          peer: options.peer,
          detail: `a frame stayed unfinished for ${unfinishedMs} ms (limit ${frameTimeoutMs} ms)`
        })
      }
      if (heartbeatMs > 0 && quietMs >= heartbeatMs) writing.requestHeartbeat()
    }
  })
