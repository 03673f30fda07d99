/**
 * The NATS connection of one context: opened with the resolved options, drained and closed at the end
 * of the scope.
 *
 * @since 0.3.0
 * @internal
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { Duration, Effect, type Scope } from "effect"
import { NatsConnectFailed } from "../../model/NatsErrors.ts"
import type { ResolvedNatsOptions } from "./NatsOptions.ts"

/** How long the end of a context's scope lets its connection drain before closing it. */
const drainTimeout = Duration.seconds(2)

/**
 * Connects to the servers of `resolved`; the connection is drained (at most 2 s) and closed when the
 * scope ends. Fails with `NatsConnectFailed` when no server can be reached or one refuses the
 * connection (credentials, TLS).
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
          // With reconnection on, nats.js waits out its 20 s connect timeout ("timeout") when a server
          // closes the first connection before answering, as one refusing the client's certificate
          // after a TLS 1.3 handshake does; without it, the connect fails at once with the TLS alert.
          reconnect: false,
          maxReconnectAttempts: resolved.maxReconnectAttempts,
          reconnectTimeWait: resolved.reconnectTimeWaitMs
        }).then((nc) => {
          // The client reads this option when a connection is lost, so reconnection holds from here on.
          ;(nc as unknown as { options: { reconnect: boolean } }).options.reconnect = true
          return nc
        }),
      catch: (error) =>
        new NatsConnectFailed({ servers: resolved.servers, detail: String((error as Error)?.message ?? error) })
    }),
    // Timed by the Effect clock: a timer of its own would outlive a drain that finished first, and keep a
    // process that is done alive for the rest of it (R-NATS-14).
    (c) =>
      Effect.suspend(() =>
        c.isClosed()
          ? Effect.void
          : Effect.promise(() => c.drain().catch(() => c.close())).pipe(
              Effect.timeoutOrElse({ duration: drainTimeout, orElse: () => Effect.void }),
              Effect.andThen(Effect.promise(() => (c.isClosed() ? Promise.resolve() : c.close())))
            )
      )
  )
