/**
 * The server role: listens, accepts up to `maxConnections` connections, and for each one reads the
 * handshake, accepts only the client module names it is configured with, registers the client module
 * in the global context as a "socket" module, answers with the module exchange, and serves the
 * connection until it ends.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Result, type Scope } from "effect"
import { ContextTypeChannel, ContextTypeSocket } from "../../model/Constants.ts"
import * as Message from "../../model/Message.ts"
import { ListenFailed, SocketProtocolError } from "../../model/SocketErrors.ts"
import type { BeehiveSnapshot } from "../Beehive.ts"
import { AutoDecoder, encoderFor, type Framing, type FramingOption, makeDecoder } from "./Framing.ts"
import {
  agreedHeartbeat,
  controlJson,
  type ModuleExchange,
  offeredHeartbeat,
  offeredReceipts,
  readHandshake
} from "./Handshake.ts"
import { Link } from "./Link.ts"
import { MessageReader } from "./MessageReader.ts"
import { describeAddress, formatAddress, invalidAddress, type SocketAddress, type TlsOptions } from "./SocketAddress.ts"
import { positiveOr, type SocketState } from "./SocketState.ts"
import type { Connection, TransportShape } from "./Transport.ts"

/** Connections a server holds at once unless configured (`connmax`). @category constants */
export const DefaultMaxConnections = 64

/** How long a server waits for a connection's handshake unless configured. @category constants */
export const DefaultHandshakeTimeout: Duration.Duration = Duration.seconds(3)

/** Connections still handshaking a server holds at once by default (R-SOCK-13). @category constants */
export const DefaultMaxHandshaking = 64

/**
 * Options of a socket server.
 *
 * @category models
 */
export interface SocketServerOptions {
  readonly address: SocketAddress
  /** The client module names accepted in handshakes (Go: the client entries of the config). */
  readonly accept: ReadonlyArray<string>
  /**
   * Identified connections held at once (`connmax`, 64 by default); a connection that comes while
   * they are all held is closed at once. Connections still handshaking do not count (R-SOCK-13).
   */
  readonly maxConnections?: number | undefined
  /**
   * Connections still handshaking held at once (64 by default): one more makes room by closing the
   * oldest of them, so that peers that never identify cannot shut others out (R-SOCK-13).
   */
  readonly maxHandshaking?: number | undefined
  /**
   * When a module name already connected is claimed again: `"newest"` (default, Go's behaviour) closes
   * the old connection, so a client that reconnects before the server noticed its old connection is
   * gone is not locked out; `"first"` refuses the newcomer while the first connection lives. Over plain
   * TCP anyone who can reach the port can claim an accepted name either way: only TLS with client
   * certificates says who a peer is (R-SOCK-6).
   */
  readonly takeover?: "newest" | "first" | undefined
  /**
   * Binds client module names to TLS client certificates (R-SOCK-6), for a server whose `tls` has a
   * `ca` (so that clients present certificates it verifies). `"subject"`: a client may claim a module
   * only if the name is one of its certificate's names (the subject's CN or a DNS subjectAltName). A
   * record maps module names to the certificate names that may claim them (a module not listed: its
   * own name). A claim the certificate does not cover, or a connection without a verified
   * certificate, is answered with an error. Absent (the default): any accepted name may be claimed.
   */
  readonly certificateNames?: "subject" | Readonly<Record<string, ReadonlyArray<string>>> | undefined
  /** "auto" (default) detects each connection's framing from its first byte. */
  readonly framing?: FramingOption | undefined
  readonly tls?: TlsOptions | undefined
  readonly handshakeTimeout?: Duration.Input | undefined
  readonly maxFrameBytes?: number | undefined
  readonly batchBytes?: number | undefined
}

/**
 * A running server.
 *
 * @category models
 */
export interface SocketServer {
  /** The address it listens on (with the port the system chose for port 0). */
  readonly address: SocketAddress
  /** Connections open now, handshaking ones included. */
  readonly connections: Effect.Effect<number>
  /** Stops listening and closes every connection (their modules are cleaned up). Idempotent. */
  readonly close: Effect.Effect<void>
}

/**
 * The module exchange a server sends: its local modules (not the client's, not other clients'), and
 * its groups restricted to those modules.
 *
 * @category getters
 */
export const exchangeOf = (snapshot: BeehiveSnapshot): ModuleExchange => {
  const local = new Set(snapshot.modules.filter((m) => m.contextType === ContextTypeChannel).map((m) => m.name))
  const groups: Record<string, ReadonlyArray<string>> = {}
  for (const [group, members] of snapshot.groups) {
    const served = members.filter((m) => local.has(m))
    if (served.length > 0) groups[group] = served
  }
  return { modules: [...local], groups }
}

/**
 * The largest frame (or line) a server reads before the handshake is done: a handshake is about 200
 * bytes, and an unidentified peer gets no more room than it needs (R-SOCK-2).
 *
 * @category constants
 */
export const HandshakeMaxFrameBytes = 4096

/**
 * Starts a server; it stops when the scope closes. Fails with `ListenFailed`. Never blocks beyond
 * binding the address.
 *
 * @category constructors
 */
export const serve = (
  state: SocketState,
  transport: TransportShape,
  options: SocketServerOptions
): Effect.Effect<SocketServer, ListenFailed, Scope.Scope> =>
  Effect.gen(function* () {
    const beehive = state.beehive
    const invalid = invalidAddress(options.address, "listen")
    if (invalid !== undefined) {
      return yield* Effect.fail(
        new ListenFailed({ address: describeAddress(options.address), reason: "InvalidAddress", detail: invalid })
      )
    }
    const listener = yield* transport.listen(options.address, options.tls)
    const scope = yield* Effect.scope
    const maxConnections = positiveOr(options.maxConnections, DefaultMaxConnections)
    const maxFrameBytes = positiveOr(options.maxFrameBytes, state.options.maxFrameBytes)
    const batchBytes = positiveOr(options.batchBytes, state.options.batchBytes)
    const handshakeTimeout = options.handshakeTimeout ?? DefaultHandshakeTimeout
    const accepted = new Set(options.accept)
    const links = new Set<Link>()
    /**
     * Accepted connections no link serves yet (handshaking, refused, or whose fiber has not started:
     * a fiber interrupted before it starts never runs its finalizers); `close` closes them.
     */
    const unlinked = new Set<Connection>()
    // Connections still handshaking (oldest first), and those whose handshake was accepted.
    const handshaking = new Set<Connection>()
    const identified = new Set<Connection>()
    const maxHandshaking = positiveOr(options.maxHandshaking, DefaultMaxHandshaking)
    let closed = false

    const refuse = (connection: Connection, reason: string) =>
      Effect.andThen(state.report({ _tag: "Refused", peer: connection.peer, reason }), connection.close)

    const handle = (connection: Connection) =>
      Effect.gen(function* () {
        // Until a peer has identified itself, its frames may hold a handshake and no more (R-SOCK-2).
        const decoder = makeDecoder(options.framing ?? "auto", Math.min(maxFrameBytes, HandshakeMaxFrameBytes))
        const reader = new MessageReader(connection, decoder)
        const handshake = yield* readHandshake(reader).pipe(
          Effect.timeoutOrElse({
            duration: handshakeTimeout,
            orElse: () =>
              Effect.fail(
                new SocketProtocolError({ peer: connection.peer, reason: "Timeout", detail: "no handshake in time" })
              )
          }),
          Effect.result
        )
        if (Result.isFailure(handshake)) return yield* refuse(connection, handshake.failure.message)
        const request = handshake.success
        const framing: Framing =
          decoder instanceof AutoDecoder ? (decoder.framing ?? "frame") : (options.framing as Framing)
        const encode = encoderFor(framing)
        const module = request.route.source
        const reject = (reason: string) =>
          Effect.gen(function* () {
            const answer = yield* Message.newErrorResponse(request, reason)
            yield* Effect.ignore(connection.write(encode(controlJson(answer))))
            yield* refuse(connection, reason)
          })
        if (!accepted.has(module)) return yield* reject(`module "${module}" is not accepted by this server`)
        const binding = options.certificateNames
        if (binding !== undefined) {
          const names = connection.certificateNames ?? []
          const allowed = binding === "subject" ? [module] : (binding[module] ?? [module])
          if (!names.some((name) => allowed.includes(name))) {
            return yield* reject(
              names.length === 0
                ? `module "${module}" needs a verified client certificate`
                : `module "${module}" is not bound to this client's certificate (${names.join(", ")})`
            )
          }
        }
        const before = yield* beehive.snapshot
        const existing = before.modules.find((m) => m.name === module)
        if (existing !== undefined && existing.contextType !== ContextTypeSocket) {
          return yield* reject(`module "${module}" is served by this process`)
        }
        // By default the newest connection for a module wins: a client that reconnects before the server
        // noticed its old connection is gone must not be locked out.
        if (existing !== undefined && options.takeover === "first") {
          return yield* reject(`module "${module}" is connected already`)
        }
        if (existing !== undefined) yield* Effect.ignore(beehive.cleanup(module))
        decoder.setLimit(maxFrameBytes)
        handshaking.delete(connection)
        identified.add(connection)
        const heartbeatMs = agreedHeartbeat(state.options.heartbeatMs, offeredHeartbeat(request))
        // Receipts (R-SOCK-21): what was written to this client (the same run of it) and never
        // receipted is settled by its word; what was written to an earlier run of it cannot be.
        const ledger = state.receipts
        const offer = state.options.receipts ? offeredReceipts(request) : undefined
        const receiptsKey = offer === undefined ? undefined : ledger.key(offer.incarnation, module)
        yield* state.settleReceipts(
          module,
          receiptsKey,
          offer !== undefined && offer.peer === ledger.incarnation ? (offer.read ?? 0) : undefined
        )
        const link = new Link(state, reader, {
          framing,
          module,
          owner: module,
          maxFrameBytes,
          batchBytes,
          heartbeatMs,
          frameTimeoutMs: state.options.frameTimeoutMs,
          receipts: receiptsKey
        })
        if (receiptsKey !== undefined) ledger.claim(receiptsKey, link)
        yield* Effect.gen(function* () {
          // Listed once the `ensuring` below is in place, so that no interruption leaves it listed.
          links.add(link)
          state.links.add(link)
          unlinked.delete(connection)
          if (!(yield* state.addRemoteModule(link, module))) {
            return yield* reject(`module "${module}" could not be registered`)
          }
          yield* Effect.ignore(beehive.addModuleGroup(module, module))
          const exchange = {
            ...exchangeOf(yield* beehive.snapshot),
            ...(heartbeatMs > 0 ? { heartbeat: heartbeatMs } : {}),
            ...(receiptsKey === undefined
              ? {}
              : { receipts: { incarnation: ledger.incarnation, read: ledger.handledFrom(receiptsKey) } })
          }
          const answer = Message.setDestination(yield* Message.newResponse(request, exchange), module)
          link.sendResponse(answer, undefined)
          yield* state.report({ _tag: "Connected", peer: connection.peer, module, modules: exchange.modules })
          yield* link.run
        }).pipe(
          // Whatever ends the connection (even an interruption before the link ran) ends the link.
          Effect.ensuring(
            Effect.andThen(
              link.shutdown,
              Effect.sync(() => links.delete(link))
            )
          )
        )
      }).pipe(
        // However the connection ends (refused, served, interrupted by the server's close), it is closed
        // (idempotent) and its slot freed.
        Effect.ensuring(
          Effect.andThen(
            connection.close,
            Effect.sync(() => {
              unlinked.delete(connection)
              handshaking.delete(connection)
              identified.delete(connection)
            })
          )
        )
      )

    // From the accept to the fork, uninterruptible: an accepted connection is always in `unlinked`.
    const acceptOne = Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(restore(listener.accept), (connection) => {
        if (closed) return connection.close
        unlinked.add(connection)
        if (identified.size >= maxConnections) {
          // Closing waits for a flush; the accept loop must not wait with it.
          const refused = refuse(connection, `connection limit (${maxConnections}) reached`)
          return Effect.forkIn(
            Effect.ensuring(
              refused,
              Effect.sync(() => unlinked.delete(connection))
            ),
            scope
          )
        }
        // A full handshake budget makes room: the peer that has been silent longest goes.
        const oldest = handshaking.size >= maxHandshaking ? handshaking.values().next().value : undefined
        if (oldest !== undefined) handshaking.delete(oldest)
        handshaking.add(connection)
        const evict =
          oldest === undefined
            ? Effect.void
            : Effect.forkIn(refuse(oldest, `handshake budget (${maxHandshaking}) full: the oldest goes`), scope)
        return Effect.andThen(evict, Effect.forkIn(handle(connection), scope))
      })
    )
    const acceptLoop = Effect.forever(acceptOne)
    yield* Effect.forkIn(Effect.ignore(acceptLoop), scope)
    yield* state.report({ _tag: "Listening", address: formatAddress(listener.address) })
    const close = Effect.suspend(() => {
      closed = true
      return Effect.andThen(
        listener.close,
        Effect.suspend(() => {
          for (const link of links) link.requestClose("the server is closed")
          return Effect.forEach([...unlinked], (connection) => connection.close, {
            concurrency: "unbounded",
            discard: true
          })
        })
      )
    })
    yield* Effect.addFinalizer(() => close)
    return { address: listener.address, connections: Effect.sync(() => identified.size + handshaking.size), close }
  })
