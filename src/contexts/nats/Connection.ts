/**
 * The NATS connection of one context: opened with the resolved options, drained and closed at the end
 * of the scope.
 *
 * @since 0.3.0
 * @internal
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { Effect, type Scope } from "effect"
import { NatsConnectFailed } from "../../model/NatsErrors.ts"
import type { ResolvedNatsOptions } from "./NatsOptions.ts"

/**
 * Connects to the servers of `resolved`; the connection is drained (at most 2 s) and closed when the
 * scope ends. Fails with `NatsConnectFailed` when no server can be reached.
 *
 * @category constructors
 */
export const connectNats = (
  resolved: ResolvedNatsOptions
): Effect.Effect<NatsConnection, NatsConnectFailed, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () =>
        connect({
          servers: [...resolved.servers],
          ...(resolved.user === undefined ? {} : { user: resolved.user, pass: resolved.pass ?? "" }),
          ...(resolved.token === undefined ? {} : { token: resolved.token }),
          ...(resolved.name === undefined ? {} : { name: resolved.name }),
          ...(resolved.tls === undefined
            ? {}
            : {
                tls: {
                  ...(resolved.tls.ca === undefined ? {} : { caFile: resolved.tls.ca }),
                  ...(resolved.tls.cert === undefined ? {} : { certFile: resolved.tls.cert }),
                  ...(resolved.tls.key === undefined ? {} : { keyFile: resolved.tls.key })
                }
              }),
          maxReconnectAttempts: resolved.maxReconnectAttempts,
          reconnectTimeWait: resolved.reconnectTimeWaitMs
        }),
      catch: (error) =>
        new NatsConnectFailed({ servers: resolved.servers, detail: String((error as Error)?.message ?? error) })
    }),
    (c) =>
      Effect.promise(async () => {
        if (c.isClosed()) return
        await Promise.race([c.drain().catch(() => c.close()), new Promise((r) => setTimeout(r, 2000))])
        if (!c.isClosed()) await c.close()
      })
  )
