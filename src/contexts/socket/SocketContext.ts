/**
 * The socket context: modules in other processes, reached over unix-domain or TCP sockets (optionally
 * TLS), speaking Go beehive's message JSON. It is the "socket" context type of the global context, so
 * every operation works on a remote module as on a local one (spec/SPEC.md, R-SOCK), and it runs the
 * server and client roles of Go's socket mode.
 *
 It plugs itself into the global context of the `ContextHost` it is built with (R-API-5), so a socket
 * context exists only plugged in:
 *
 * ```ts
 * const host = yield* Beehive.makeHost()
 * const socket = yield* SocketContext.make().pipe(
 *   Effect.provideService(ContextHost, host),
 *   Effect.provideService(Transport, nodeTransport)
 * )
 * yield* host.beehive.addModule("edged")
 * yield* socket.serve({ address: unix("/run/beehive.sock"), accept: ["edged"] })
 * ```
 *
 * or with layers, `SocketContext.layerNode().pipe(Layer.provideMerge(Beehive.layer))`, which provides
 * `SocketContext`, `Beehive` and `ContextHost`.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, type Scope } from "effect"
import type { BeehiveShutdown, InvalidArgument } from "../../model/Errors.ts"
import type { ConnectFailed, ListenFailed, SocketConfigError } from "../../model/SocketErrors.ts"
import { ContextHost } from "../ContextHost.ts"
import { connect } from "./Connect.ts"
import { Deliveries } from "./Deliveries.ts"
import { NodeTransport } from "./NodeTransport.ts"
import { serve } from "./Serve.ts"
import type { SocketClient, SocketClientOptions } from "./SocketClient.ts"
import { clientEntry, clientModules, type SocketConfig, serverEntries } from "./SocketConfig.ts"
import { resolveOptions, type SocketContextOptions } from "./SocketOptions.ts"
import type { SocketServer, SocketServerOptions } from "./SocketServer.ts"
import { SocketState } from "./SocketState.ts"
import { Transport } from "./Transport.ts"

/**
 * One connection as `connections` sees it.
 *
 * @category models
 */
export interface ConnectionInfo {
  readonly peer: string
  /** The remote modules served over it. */
  readonly modules: ReadonlyArray<string>
}

/**
 * A socket context.
 *
 * @category models
 */
export interface SocketContextService {
  /** Starts a server (it stops with the scope). Fails with `ListenFailed`. */
  readonly serve: (options: SocketServerOptions) => Effect.Effect<SocketServer, ListenFailed, Scope.Scope>
  /**
   * Starts a client that connects, and reconnects, as `options.module` (it stops with the scope, or
   * at its bound: `maxAttempts`, `giveUpAfter`). Connection failures are retried with backoff and
   * reported as events. Fails at once with `ConnectFailed` (code `EINVAL`) for an address nothing can
   * connect to, and `InvalidArgument` for a bad bound.
   */
  readonly connect: (
    options: SocketClientOptions
  ) => Effect.Effect<SocketClient, ConnectFailed | InvalidArgument, Scope.Scope>
  /** The established connections now. */
  readonly connections: Effect.Effect<ReadonlyArray<ConnectionInfo>>
  /**
   * How many copies of sync requests from peers this process still owes an answer to (R-SOCK-9), as
   * `maxPendingRequests` counts them (two copies of one id count two): each is forgotten once answered,
   * or when its connection ends. Never blocks.
   */
  readonly pendingRequests: Effect.Effect<number>
  /**
   * How many answers wait to be written, over every connection (R-SOCK-17): at most about
   * `maxQueuedResponses` per connection, since past it the connection's reading pauses. Never blocks.
   */
  readonly queuedResponses: Effect.Effect<number>
  /**
   * How many destinations' delivery fibers wait for their next message from a peer (R-SOCK-8): at
   * most 64, whatever the peers send. Never blocks.
   */
  readonly waitingDeliveries: Effect.Effect<number>
  /**
   * How many messages read from peers wait for delivery to this process's modules (R-SOCK-17): at most
   * about `maxInboundBacklog` per peer module, however many times it connected, since past it the
   * reading of its connection pauses. Never blocks.
   */
  readonly heldForDelivery: Effect.Effect<number>
}

/** The heartbeat `SocketContext.layerNode` offers, in milliseconds (R-SOCK-20). @category constants */
export const DefaultHeartbeatMs = 10_000

/** How long `SocketContext.layerNode` lets a frame stay unfinished, in milliseconds. @category constants */
export const DefaultFrameTimeoutMs = 30_000

/**
 * The options `SocketContext.layerNode` builds its context with: `options`, with `heartbeatMs` and
 * `frameTimeoutMs` defaulting to `DefaultHeartbeatMs` and `DefaultFrameTimeoutMs` when not given
 * (0 keeps either off). Never fails.
 *
 * @category constructors
 */
export const withNodeDefaults = (options?: SocketContextOptions): SocketContextOptions => ({
  ...options,
  heartbeatMs: options?.heartbeatMs ?? DefaultHeartbeatMs,
  frameTimeoutMs: options?.frameTimeoutMs ?? DefaultFrameTimeoutMs
})

/**
 * Builds a socket context over the `Transport` in context and plugs its "socket" context type into
 * the global context of the `ContextHost` in context. Connections and deliveries end with the scope.
 * Never blocks. Fails with `InvalidArgument` if a "socket" context type is plugged into that global
 * context already (R-API-5), with `BeehiveShutdown` if it is shut down.
 *
 * @category constructors
 */
export const makeSocketContext = (
  options: SocketContextOptions = {}
): Effect.Effect<SocketContextService, InvalidArgument | BeehiveShutdown, Scope.Scope | Transport | ContextHost> =>
  Effect.gen(function* () {
    const transport = yield* Transport
    const host = yield* ContextHost
    const scope = yield* Effect.scope
    const state = new SocketState(resolveOptions(options), scope, host)
    yield* host.plug(state.context)
    // Last, after every connection has ended: what a delivery that never started holds is reported
    // (R-SOCK-10), and what no peer will ever receipt now is in doubt (R-SOCK-21).
    yield* Effect.addFinalizer(() =>
      Effect.andThen(
        Deliveries.reportAbandoned(state),
        Effect.suspend(() => state.reportWritten(state.receipts.abandonAll(), "InDoubt"))
      )
    )
    return {
      serve: (serverOptions) => serve(state, transport, serverOptions),
      connect: (clientOptions) => connect(state, transport, clientOptions),
      connections: Effect.sync(() => [...state.links].map((link) => ({ peer: link.peer, modules: link.modules }))),
      pendingRequests: Effect.sync(() => state.pendingRequests),
      queuedResponses: Effect.sync(() => [...state.links].reduce((n, link) => n + link.queuedResponses, 0)),
      waitingDeliveries: Effect.sync(() => state.parkedDeliveries),
      heldForDelivery: Effect.sync(() => state.heldForDelivery)
    }
  })

/**
 * Starts every server entry of a configuration; each accepts the config's client module names.
 * Fails with `ListenFailed`.
 *
 * @category constructors
 */
export const serveConfig = (
  socket: SocketContextService,
  config: SocketConfig
): Effect.Effect<ReadonlyArray<SocketServer>, ListenFailed, Scope.Scope> =>
  Effect.forEach(serverEntries(config), (entry) =>
    socket.serve({
      address: entry.address,
      module: entry.module,
      accept: clientModules(config),
      maxConnections: entry.connMax,
      tls: entry.tls,
      maxFrameBytes: entry.maxFrameBytes,
      batchBytes: entry.bufferSize
    })
  )

/**
 * Starts the client of `module` as its configuration entry says. Fails with `SocketConfigError` when
 * there is no client entry for it, `ConnectFailed` for an address nothing can connect to.
 *
 * @category constructors
 */
export const connectConfig = (
  socket: SocketContextService,
  config: SocketConfig,
  module: string
): Effect.Effect<SocketClient, SocketConfigError | ConnectFailed | InvalidArgument, Scope.Scope> =>
  Effect.flatMap(Effect.fromResult(clientEntry(config, module)), (entry) =>
    socket.connect({
      module,
      address: entry.address,
      socketType: entry.socketType,
      framing: entry.framing,
      tls: entry.tls,
      maxFrameBytes: entry.maxFrameBytes,
      batchBytes: entry.bufferSize
    })
  )

/**
 * The socket context as a service.
 *
 * @category services
 */
export class SocketContext extends Context.Service<SocketContext, SocketContextService>()(
  "beehive-effect/SocketContext"
) {
  /** Builds the service in the current scope, over the `Transport` and the `ContextHost` in context. */
  static readonly make = makeSocketContext

  /**
   * A layer over the `Transport` and the `ContextHost` in context (`Beehive.layer` provides one);
   * fails as `makeSocketContext` does.
   */
  static readonly layer = (
    options?: SocketContextOptions
  ): Layer.Layer<SocketContext, InvalidArgument | BeehiveShutdown, Transport | ContextHost> =>
    Layer.effect(SocketContext, makeSocketContext(options))

  /**
   * A layer over node:net and node:tls. Peers that stop are detected (R-SOCK-20): a heartbeat of 10 s
   * is offered and a frame may stay unfinished 30 s, unless `heartbeatMs` or `frameTimeoutMs` say
   * otherwise (0 turns either off). Requires the `ContextHost` of the global context it plugs into:
   * `SocketContext.layerNode().pipe(Layer.provideMerge(Beehive.layer))` gives a program `Beehive`,
   * `ContextHost` and `SocketContext`.
   */
  static readonly layerNode = (
    options?: SocketContextOptions
  ): Layer.Layer<SocketContext, InvalidArgument | BeehiveShutdown, ContextHost> =>
    Layer.provide(SocketContext.layer(withNodeDefaults(options)), NodeTransport)
}
