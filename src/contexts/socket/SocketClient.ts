/**
 * The client role: connects to a server as a client module, handshakes, registers the server's
 * modules (and their groups) in the global context as "socket" modules, and serves the connection;
 * when it ends, those modules are cleaned up and the client reconnects after an exponential backoff
 * with jitter (reset after every successful handshake). A rejected handshake is retried the same way.
 *
 * @since 0.1.0
 */
import { Deferred, Duration, Effect, Exit, Fiber, Random, type Scope } from "effect"
import { ConnectFailed, SocketProtocolError } from "../../model/SocketErrors.ts"
import { type BackoffOptions, backoffDelayMillis } from "./Backoff.ts"
import { encoderFor, type Framing, makeDecoder } from "./Framing.ts"
import { clientHandshake, type ModuleExchange } from "./Handshake.ts"
import { Link } from "./Link.ts"
import { MessageReader } from "./MessageReader.ts"
import { formatAddress, type SocketAddress, type TlsOptions } from "./SocketAddress.ts"
import { positiveOr, type SocketState } from "./SocketState.ts"
import type { TransportShape } from "./Transport.ts"

/**
 * Options of a socket client.
 *
 * @category models
 */
export interface SocketClientOptions {
  /** The client module this process connects as (a module the server accepts). */
  readonly module: string
  readonly address: SocketAddress
  /** The handshake's `type` (Go sends its `sockettype`); "unix" or "tcp" from the address by default. */
  readonly socketType?: string | undefined
  /** "frame" (default) or "ndjson". */
  readonly framing?: Framing | undefined
  readonly tls?: TlsOptions | undefined
  /** Time allowed to connect; 10 s by default. */
  readonly connectTimeout?: Duration.Input | undefined
  /** Time allowed for the server's answer to the handshake; 10 s by default. */
  readonly handshakeTimeout?: Duration.Input | undefined
  readonly backoff?: BackoffOptions | undefined
  readonly maxFrameBytes?: number | undefined
  readonly batchBytes?: number | undefined
}

/**
 * A running client.
 *
 * @category models
 */
export interface SocketClient {
  /** The server's exchange; suspends until a connection is up (at once when one is). */
  readonly connected: Effect.Effect<ModuleExchange>
  /** Whether a connection is up now. */
  readonly isConnected: Effect.Effect<boolean>
  /** Connections made so far (handshakes completed). */
  readonly connections: Effect.Effect<number>
  /**
   * Disconnects and stops reconnecting; the remote modules are cleaned up. Idempotent. Blocks while a
   * connection attempt is in progress (at most `connectTimeout`), so that no connection is left open.
   */
  readonly close: Effect.Effect<void>
}

/**
 * Starts a client; it runs (and reconnects) until the scope closes or `close`. Never fails; failures to
 * connect are reported as `Retrying` events.
 *
 * @category constructors
 */
export const connect = (
  state: SocketState,
  transport: TransportShape,
  options: SocketClientOptions
): Effect.Effect<SocketClient, never, Scope.Scope> =>
  Effect.gen(function* () {
    const beehive = state.beehive
    const address = formatAddress(options.address)
    const framing = options.framing ?? "frame"
    const socketType = options.socketType ?? (options.address._tag === "Unix" ? "unix" : "tcp")
    const maxFrameBytes = positiveOr(options.maxFrameBytes, state.options.maxFrameBytes)
    const batchBytes = positiveOr(options.batchBytes, state.options.batchBytes)
    const connectTimeout = options.connectTimeout ?? Duration.seconds(10)
    const handshakeTimeout = options.handshakeTimeout ?? Duration.seconds(10)
    let ready = Deferred.makeUnsafe<ModuleExchange>()
    let connections = 0

    // The connection is owned from the moment it is made: connecting is uninterruptible (closing the
    // client waits for an attempt in progress, at most `connectTimeout`), and whatever ends the session
    // afterwards (a failed handshake, the link's end, an interruption at any point) closes it.
    const session = Effect.acquireUseRelease(
      transport.connect(options.address, options.tls).pipe(
        Effect.timeoutOrElse({
          duration: connectTimeout,
          orElse: () => Effect.fail(new ConnectFailed({ address, code: "ETIMEDOUT", detail: "connect timed out" }))
        })
      ),
      (connection) =>
        Effect.gen(function* () {
          const reader = new MessageReader(connection, makeDecoder(framing, maxFrameBytes))
          const exchange = yield* clientHandshake(reader, encoderFor(framing), options.module, socketType).pipe(
            Effect.timeoutOrElse({
              duration: handshakeTimeout,
              orElse: () =>
                Effect.fail(
                  new SocketProtocolError({ peer: address, reason: "Timeout", detail: "no handshake answer in time" })
                )
            })
          )
          const link = new Link(state, reader, {
            framing,
            module: options.module,
            owner: undefined,
            maxFrameBytes,
            batchBytes
          })
          return yield* Effect.gen(function* () {
            // Added once the `ensuring` below is in place, so that no interruption leaves it listed.
            state.links.add(link)
            const registered: Array<string> = []
            for (const module of exchange.modules) {
              if (module !== options.module && (yield* state.addRemoteModule(link, module))) registered.push(module)
            }
            for (const [group, members] of Object.entries(exchange.groups)) {
              for (const member of members) {
                if (registered.includes(member)) yield* Effect.ignore(beehive.addModuleGroup(member, group))
              }
            }
            connections++
            yield* state.report({ _tag: "Connected", peer: address, module: options.module, modules: registered })
            Deferred.doneUnsafe(ready, Exit.succeed(exchange))
            return yield* link.run
          }).pipe(
            // Whatever ends the session (even an interruption before the link ran) ends the link.
            Effect.ensuring(
              Effect.andThen(
                link.shutdown,
                Effect.sync(() => {
                  if (Deferred.isDoneUnsafe(ready)) ready = Deferred.makeUnsafe<ModuleExchange>()
                })
              )
            )
          )
        }),
      // Idempotent: after the link's shutdown it is already closed.
      (connection) => connection.close
    )

    const keep = Effect.gen(function* () {
      let attempt = 0
      while (true) {
        const before = connections
        const outcome = yield* Effect.result(session)
        if (connections > before) attempt = 0
        const reason = outcome._tag === "Success" ? outcome.success.message : outcome.failure.message
        const delayMs = backoffDelayMillis(attempt, options.backoff ?? {}, yield* Random.next)
        attempt++
        yield* state.report({ _tag: "Retrying", address, attempt, delayMs, reason })
        yield* Effect.sleep(delayMs)
      }
    })
    const fiber = yield* Effect.forkScoped(keep)
    return {
      connected: Effect.suspend(() => Deferred.await(ready)),
      isConnected: Effect.sync(() => Deferred.isDoneUnsafe(ready)),
      connections: Effect.sync(() => connections),
      close: Fiber.interrupt(fiber)
    }
  })
