/**
 * The client role: connects to a server as a client module, handshakes, registers the server's
 * modules (and their groups) in the global context as "socket" modules, and serves the connection;
 * when it ends, those modules are cleaned up and the client reconnects after an exponential backoff
 * with jitter (reset after every successful handshake). A rejected handshake is retried the same way.
 *
 * @since 0.1.0
 * @internal
 */
import { Clock, Deferred, Duration, Effect, Exit, Fiber, Random, type Scope } from "effect"
import { checkPositiveDuration, checkPositiveInteger } from "../../model/Arguments.ts"
import type { InvalidArgument } from "../../model/Errors.ts"
import { ConnectFailed, SocketProtocolError } from "../../model/SocketErrors.ts"
import { backoffDelayMillis } from "./Backoff.ts"
import { encoderFor, type Framing, makeDecoder } from "./Framing.ts"
import { GoSocketType } from "./GoStamping.ts"
import { clientHandshake, type ModuleExchange } from "./Handshake.ts"
import { Link } from "./Link.ts"
import { MessageReader } from "./MessageReader.ts"
import { MaxPacketBytes } from "./SeqpacketTransport.ts"
import { describeAddress, formatAddress, hasTls, invalidAddress, tlsOverPackets } from "./SocketAddress.ts"
import type { SocketClient, SocketClientOptions } from "./SocketClient.ts"
import { positiveOr } from "./SocketOptions.ts"
import type { SocketState } from "./SocketState.ts"
import type { TransportShape } from "./Transport.ts"

/**
 * Starts a client; it runs (and reconnects) until the scope closes, `close`, or its bound
 * (`maxAttempts`, `giveUpAfter`; none by default). Failures to connect are reported as `Retrying`
 * events. Fails at once with `ConnectFailed` (code `EINVAL`) for an address nothing can connect to
 * (a bad port, an empty host, a unix path too long), and with `InvalidArgument` for a bad bound.
 *
 * @category constructors
 */
export const connect = (
  state: SocketState,
  transport: TransportShape,
  options: SocketClientOptions
): Effect.Effect<SocketClient, ConnectFailed | InvalidArgument, Scope.Scope> =>
  Effect.gen(function* () {
    const invalid =
      invalidAddress(options.address, "connect") ??
      (options.address._tag === "UnixPacket" && hasTls(options.tls) ? tlsOverPackets : undefined)
    if (invalid !== undefined) {
      return yield* Effect.fail(
        new ConnectFailed({ address: describeAddress(options.address), code: "EINVAL", detail: invalid })
      )
    }
    const maxAttempts =
      options.maxAttempts === undefined
        ? undefined
        : yield* Effect.fromResult(checkPositiveInteger("connect", "maxAttempts", options.maxAttempts))
    const giveUpAfterMs =
      options.giveUpAfter === undefined
        ? undefined
        : yield* Effect.fromResult(checkPositiveDuration("connect", "giveUpAfter", options.giveUpAfter))
    const beehive = state.beehive
    const address = formatAddress(options.address)
    const packets = options.address._tag === "UnixPacket"
    const framing: Framing = packets ? "packet" : (options.framing ?? "frame")
    const socketType = options.socketType ?? (packets ? GoSocketType : options.address._tag === "Unix" ? "unix" : "tcp")
    const maxFrameBytes = Math.min(
      positiveOr(options.maxFrameBytes, state.options.maxFrameBytes),
      packets ? MaxPacketBytes : Number.POSITIVE_INFINITY
    )
    const batchBytes = positiveOr(options.batchBytes, state.options.batchBytes)
    const connectTimeout = options.connectTimeout ?? Duration.seconds(10)
    const handshakeTimeout = options.handshakeTimeout ?? Duration.seconds(10)
    let ready = Deferred.makeUnsafe<ModuleExchange, ConnectFailed>()
    let connections = 0
    let gaveUp = false

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
          const ledger = state.receipts
          const lastPeer = ledger.peerOf(options.module)
          // The offer tells the server what was handled from it: from here on, what an earlier
          // connection to it for the module still reads is not handled, so that count stays true
          // (R-SOCK-21; two clients of one module would otherwise race it).
          const offered =
            state.options.receipts && lastPeer !== undefined ? ledger.key(lastPeer, options.module) : undefined
          // The claim is the acquisition and its undoing the release, so that no interruption lands
          // between them: a claim left behind by a connection that never handshook would have the
          // earlier connection, which the server still writes to, hold (or drop) all it reads.
          const exchange = yield* Effect.acquireUseRelease(
            Effect.sync(() => {
              if (offered !== undefined) ledger.claim(offered, connection, true)
            }),
            () =>
              clientHandshake(reader, encoderFor(framing), options.module, socketType, {
                heartbeatMs: state.options.heartbeatMs,
                receipts: state.options.receipts ? ledger.offer(options.module, lastPeer) : undefined
              }).pipe(
                Effect.timeoutOrElse({
                  duration: handshakeTimeout,
                  orElse: () =>
                    Effect.fail(
                      new SocketProtocolError({
                        peer: address,
                        reason: "Timeout",
                        detail: "no handshake answer in time"
                      })
                    )
                })
              ),
            // A refused, failed or interrupted handshake speaks for nobody: the connection that did goes on
            // doing so, and handles what it held meanwhile. An answered one speaks for the peer from now on.
            (_, exit) =>
              Effect.sync(() => {
                if (offered === undefined) return
                if (Exit.isFailure(exit)) ledger.unclaim(offered, connection)
                else ledger.confirm(offered, connection)
              })
          )
          // What the last connection to this server wrote and never had receipted is settled by its
          // word; what was written to a server since restarted can no longer be (R-SOCK-21).
          const answer = state.options.receipts ? exchange.receipts : undefined
          const key = answer === undefined ? undefined : ledger.key(answer.incarnation, options.module)
          const sameRun = answer !== undefined && ledger.peerOf(options.module) === answer.incarnation
          if (answer !== undefined) ledger.setPeerOf(options.module, answer.incarnation)
          yield* state.settleReceipts(options.module, key, sameRun ? (answer.read ?? 0) : undefined)
          const link = new Link(state, reader, {
            framing,
            module: options.module,
            owner: undefined,
            serverModule: undefined,
            maxFrameBytes,
            batchBytes,
            heartbeatMs: exchange.heartbeat ?? 0,
            frameTimeoutMs: state.options.frameTimeoutMs,
            receipts: key
          })
          if (key !== undefined) ledger.claim(key, link)
          return yield* Effect.gen(function* () {
            // Added once the `ensuring` below is in place, so that no interruption leaves it listed.
            state.links.add(link)
            const registered: Array<string> = []
            for (const module of exchange.modules) {
              if (module !== options.module && (yield* state.addRemoteModule(link, module))) registered.push(module)
            }
            // A set: the exchange may list 10,000 modules in 100,000 memberships (R-SOCK-7).
            const isRegistered = new Set(registered)
            for (const [group, members] of Object.entries(exchange.groups)) {
              for (const member of members) {
                if (isRegistered.has(member)) yield* Effect.ignore(beehive.addModuleGroup(member, group))
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
                  if (Deferred.isDoneUnsafe(ready)) ready = Deferred.makeUnsafe<ModuleExchange, ConnectFailed>()
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
      let failedInARow = 0
      let unconnectedSince = yield* Clock.currentTimeMillis
      while (true) {
        const before = connections
        const outcome = yield* Effect.result(session)
        const now = yield* Clock.currentTimeMillis
        if (connections > before) {
          attempt = 0
          failedInARow = 0
          unconnectedSince = now
        } else failedInARow++
        const reason = outcome._tag === "Success" ? outcome.success.message : outcome.failure.message
        const outOfAttempts = maxAttempts !== undefined && failedInARow >= maxAttempts
        // After a session that connected, no time has passed since `unconnectedSince`, and both bounds
        // are positive: a client that just lost its connection always tries again.
        const outOfTime = giveUpAfterMs !== undefined && now - unconnectedSince >= giveUpAfterMs
        if (outOfAttempts || outOfTime) {
          gaveUp = true
          yield* state.report({ _tag: "GaveUp", address, attempts: failedInARow, reason })
          const code =
            outcome._tag === "Failure" && outcome.failure._tag === "ConnectFailed" ? outcome.failure.code : "EGAVEUP"
          Deferred.doneUnsafe(
            ready,
            Exit.fail(
              new ConnectFailed({
                address,
                code,
                detail: `gave up after ${failedInARow} failed attempt(s) in ${now - unconnectedSince} ms: ${reason}`
              })
            )
          )
          return
        }
        const delayMs = backoffDelayMillis(attempt, options.backoff ?? {}, yield* Random.next)
        attempt++
        yield* state.report({ _tag: "Retrying", address, attempt, delayMs, reason })
        yield* Effect.sleep(delayMs)
      }
    })
    const fiber = yield* Effect.forkScoped(keep)
    return {
      connected: Effect.suspend(() => Deferred.await(ready)),
      isConnected: Effect.sync(() => !gaveUp && Deferred.isDoneUnsafe(ready)),
      connections: Effect.sync(() => connections),
      close: Fiber.interrupt(fiber)
    }
  })
