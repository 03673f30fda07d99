import { Duration, Effect } from "effect"
import { openSockets } from "./openSockets.ts"

/** What this process holds that a context it opened must give back: socket descriptors and live timers. */
export interface ProcessResources {
  readonly sockets: number
  readonly timers: number
}

const liveTimers = () => process.getActiveResourcesInfo().filter((resource) => resource === "Timeout").length

/**
 * The process's socket descriptors and referenced timers, read from a `setImmediate` callback: inside a
 * timer's own callback (where a fiber resumes after a sleep) that timer still counts as active.
 */
export const processResources: Effect.Effect<ProcessResources> = Effect.promise(
  () => new Promise((resolve) => setImmediate(() => resolve({ sockets: openSockets(), timers: liveTimers() })))
)

/**
 * Polls the process until it holds no more than `before`, or `timeoutMs` passed (a bound for failures,
 * not a delay); returns what it holds last.
 */
export const resourcesBackTo = (before: ProcessResources, timeoutMs: number): Effect.Effect<ProcessResources> =>
  Effect.gen(function* () {
    const deadline = performance.now() + timeoutMs
    while (true) {
      const now = yield* processResources
      if ((now.sockets <= before.sockets && now.timers <= before.timers) || performance.now() > deadline) return now
      yield* Effect.sleep(Duration.millis(5))
    }
  })
