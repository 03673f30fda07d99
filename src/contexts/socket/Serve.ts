/**
 * The server role: listens, accepts up to `maxConnections` connections, and for each one reads the
 * handshake, accepts only the client module names it is configured with, registers the client module
 * in the global context as a "socket" module, answers with the module exchange, and serves the
 * connection until it ends.
 *
 * @since 0.1.0
 * @internal
 */
import { Effect, Result, type Scope } from "effect"
import { ContextTypeSocket } from "../../model/Constants.ts"
import * as Message from "../../model/Message.ts"
import { ListenFailed, SocketProtocolError } from "../../model/SocketErrors.ts"
import { AutoDecoder, encoderFor, type Framing, makeDecoder } from "./Framing.ts"
import { agreedHeartbeat, controlJson, offeredHeartbeat, offeredReceipts, readHandshake } from "./Handshake.ts"
import { Link } from "./Link.ts"
import { MessageReader } from "./MessageReader.ts"
import { MaxPacketBytes } from "./SeqpacketTransport.ts"
import { describeAddress, formatAddress, hasTls, invalidAddress, tlsOverPackets } from "./SocketAddress.ts"
import { positiveOr } from "./SocketOptions.ts"
import {
  DefaultHandshakeTimeout,
  DefaultMaxConnections,
  DefaultMaxHandshaking,
  exchangeOf,
  HandshakeMaxFrameBytes,
  type SocketServer,
  type SocketServerOptions
} from "./SocketServer.ts"
import type { SocketState } from "./SocketState.ts"
import type { Connection, TransportShape } from "./Transport.ts"

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
    const invalid =
      invalidAddress(options.address, "listen") ??
      (options.address._tag === "UnixPacket" && hasTls(options.tls) ? tlsOverPackets : undefined)
    if (invalid !== undefined) {
      return yield* Effect.fail(
        new ListenFailed({ address: describeAddress(options.address), reason: "InvalidAddress", detail: invalid })
      )
    }
    const listener = yield* transport.listen(options.address, options.tls)
    const scope = yield* Effect.scope
    const maxConnections = positiveOr(options.maxConnections, DefaultMaxConnections)
    const packets = options.address._tag === "UnixPacket"
    const maxFrameBytes = Math.min(
      positiveOr(options.maxFrameBytes, state.options.maxFrameBytes),
      packets ? MaxPacketBytes : Number.POSITIVE_INFINITY
    )
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
        const decoder = makeDecoder(
          packets ? "packet" : (options.framing ?? "auto"),
          Math.min(maxFrameBytes, HandshakeMaxFrameBytes)
        )
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
        if (Result.isFailure(handshake)) {
          // A connection closed here (for the handshake budget, or with the server) was reported, or
          // needs no report: its handshake ends because of that close, not because of its peer.
          if (closed || !handshaking.has(connection)) return
          return yield* refuse(connection, handshake.failure.message)
        }
        const request = handshake.success
        const framing: Framing = packets
          ? "packet"
          : decoder instanceof AutoDecoder
            ? (decoder.framing ?? "frame")
            : (options.framing as Framing)
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
          // The record's own keys only: a module named "toString" is not bound by Object's prototype.
          const listed = binding !== "subject" && Object.hasOwn(binding, module) ? binding[module] : undefined
          const allowed = listed ?? [module]
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
        // The connections still serving the module end first, as their own end would (R-SOCK-11): what
        // they wrote and was never receipted is parked before this handshake settles it (R-SOCK-21), and
        // what they were given and never wrote is reported Unsent, not dropped with the module.
        const old = [...state.links].filter((link) => link.options.owner === module)
        for (const link of old) yield* Effect.uninterruptible(link.shutdown)
        if (existing !== undefined) {
          // What the old links' own cleanups did not take (one was ending already) is reported here.
          const cleaned = yield* Effect.result(beehive.cleanup(module))
          if (cleaned._tag === "Success") {
            yield* state.reportWritten(
              cleaned.success.undelivered
                .filter((message) => !message.header.sync)
                .map((message) => ({ peer: old[0]?.peer ?? connection.peer, module, message })),
              "Unsent"
            )
          }
        }
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
          serverModule: options.module,
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
