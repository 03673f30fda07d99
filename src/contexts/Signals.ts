/**
 * Waiting for the operating-system signals that end a beehive process.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"

/** The signals Go beehive's `GracefulShutdown` reacts to that Node can listen for. @category constants */
export const ShutdownSignals: ReadonlyArray<NodeJS.Signals> = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"]

/**
 * Suspends until the process receives one of `signals`, and returns its name. While it waits the
 * signals do not kill the process, and the process stays alive even when nothing else is pending (a
 * signal listener alone does not hold Node's event loop open). The listeners and the keep-alive
 * timer are removed when it completes or is interrupted.
 *
 * @category constructors
 */
export const awaitSignal = (signals: ReadonlyArray<NodeJS.Signals> = ShutdownSignals): Effect.Effect<NodeJS.Signals> =>
  Effect.callback<NodeJS.Signals>((resume) => {
    const handlers = signals.map((signal) => {
      const handler = () => {
        remove()
        resume(Effect.succeed(signal))
      }
      process.on(signal, handler)
      return [signal, handler] as const
    })
    const keepAlive = setInterval(() => {}, 2 ** 31 - 1)
    const remove = () => {
      clearInterval(keepAlive)
      for (const [signal, handler] of handlers) process.off(signal, handler)
    }
    return Effect.sync(remove)
  })
