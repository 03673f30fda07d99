/**
 * The NATS context: modules served by other processes of a NATS cluster are modules of this global
 * context like any other (spec/SPEC.md, R-NATS). It is the "nats" context type, a peer of the channel
 * and socket context types, plugged in through `ContextHost` (R-API-5):
 *
 * ```ts
 * const host = yield* Beehive.makeHost()
 * const nats = yield* NatsContext.make({ servers: "nats://127.0.0.1:4222", prefix: "site1" }).pipe(
 *   Effect.provideService(ContextHost, host)
 * )
 * yield* host.beehive.addModule("edged")
 * yield* nats.serve("edged") // reachable from every process of the cluster with the same prefix
 * ```
 *
 * - Serving (`Serving`): `serve(module)` subscribes `<prefix>.mod.<module>` (queue group `<prefix>`)
 *   and delivers what arrives with `beehive.send`; the modules a process serves are announced on
 *   `<prefix>.reg` (`Registry`, `Announcement`, `Heartbeat`).
 * - Remote modules (`Registry`, `Publisher`): a module another process announces is added here as a
 *   "nats" module, whose endpoint is a bounded outbox drained by one publisher fiber (`RemoteEndpoint`).
 * - Responses (`Replies`): each message carries a reply subject in this process's inbox
 *   (`<prefix>.resp.<process>.<module>.<msgId>`, subscribed before anything is published); a response
 *   goes to `beehive.sendResp`, and a NATS no-responders status means nobody serves the module.
 *
 * This file holds the service and its lifecycle; the parts share a `NatsState`, and the subject
 * scheme is in `Subjects`.
 *
 * @since 0.3.0
 */
import type { Msg } from "@nats-io/transport-node"
import { Cause, Context, type Duration, Effect, Layer, Queue, Scope } from "effect"
import { CurrentModule } from "../../effects/CurrentModule.ts"
import type { BeehiveShutdown, InvalidArgument, ModuleNotFound } from "../../model/Errors.ts"
import type { Message } from "../../model/Message.ts"
import type { JetStreamFailed, NatsConfigError, NatsConnectFailed, SendDurableError } from "../../model/NatsErrors.ts"
import { ContextHost, ProcessEndingReason } from "../ContextHost.ts"
import { connectNats } from "./Connection.ts"
import { heartbeat } from "./Heartbeat.ts"
import { type NatsContextOptions, resolveNatsOptions } from "./NatsOptions.ts"
import { controlCallback, drain, NatsState, promptly } from "./NatsState.ts"

/** Responses and registry messages waiting for the control fiber, at most. */
const MaxControl = 65_536

/**
 * A remote module as `remoteModules` sees it.
 *
 * @category models
 */
export interface RemoteModuleInfo {
  readonly module: string
  /** The processes that announced they serve it. */
  readonly processes: ReadonlyArray<string>
}

/**
 * A NATS context.
 *
 * @category models
 */
export interface NatsContextService {
  /** This process's id in the cluster (a random UUID, a subject token). */
  readonly processId: string
  /**
   * Makes a module of this process reachable over NATS (R-NATS-2): subscribes its subject, then
   * announces it. Waits for the server to acknowledge the subscription (one round trip). Fails with
   * `ModuleNotFound` if no such module is registered here, or if it is a "nats" module (served
   * elsewhere); with `InvalidArgument` if its name, percent-encoded, would make its subjects too long
   * for one NATS protocol line (`MaxControlLine`; about 1,950 bytes of name), or this process's
   * announcements longer than the server's payload limit or than 10,000 modules. Serving a module
   * served already is a no-op. It stays served until `unserve`, its cleanup here (noticed at its
   * next delivery or heartbeat), or the end of the context's scope.
   */
  readonly serve: (module: string) => Effect.Effect<void, ModuleNotFound | InvalidArgument>
  /** Stops serving a module and announces it. Never fails; a no-op for a module not served. */
  readonly unserve: (module: string) => Effect.Effect<void>
  /** The modules this process serves now. */
  readonly served: Effect.Effect<ReadonlyArray<string>>
  /** The remote modules known now, and who serves them. */
  readonly remoteModules: Effect.Effect<ReadonlyArray<RemoteModuleInfo>>
  /** Sync requests from other processes this process still owes an answer to. Never blocks. */
  readonly pendingRequests: Effect.Effect<number>
  /**
   * Waits until `module` is registered here as a remote module (some process announced it), at most
   * `timeout` (a `Duration` input; a number is milliseconds). Registration is eventually consistent
   * (R-NATS-4): a program that starts next to the one serving a module waits with this before its first
   * call. Succeeds at once if it is registered already; fails with `ModuleNotFound` at the timeout.
   */
  readonly awaitModule: (module: string, timeout: Duration.Input) => Effect.Effect<void, ModuleNotFound>
  /** Announces this process's served modules now (the heartbeat does every `heartbeatMs`). */
  readonly announce: Effect.Effect<void>
  /**
   * `send` to a durable module (R-NATS-12) that completes only once its stream has stored the message:
   * it waits for room in the module's outbox here, then for JetStream's answer (at most 5 s). Fails with
   * `DurableMailboxFull` (the stream at its message or byte limit: nothing stored), `JetStreamFailed`
   * (no stream, or no answer: the message may then have been stored), `ModuleNotFound` for a module
   * not durable here, and otherwise as `send` (`ModuleClosed` if the module is cleaned up first).
   */
  readonly sendDurable: (module: string, message: Message) => Effect.Effect<void, SendDurableError>
  /**
   * Deletes a durable module's stream, with the messages it keeps and its consumer, and cleans the
   * module up here (R-NATS-12): nothing else does, a durable mailbox outlives its processes. Waits for
   * JetStream. Fails with `ModuleNotFound` for a module not durable here, `JetStreamFailed` if JetStream
   * refuses (no such stream), `NatsConfigError` if the server runs no JetStream.
   */
  readonly deleteDurable: (module: string) => Effect.Effect<void, ModuleNotFound | JetStreamFailed | NatsConfigError>
}

/**
 * Connects to NATS, subscribes this process's reply inbox and the registry, and plugs the "nats"
 * context type into the global context of the `ContextHost` in context (R-API-5). Waits for the
 * connection and the server's acknowledgement of the subscriptions. Everything ends with the scope:
 * served modules are unsubscribed, a goodbye is announced, the connection is drained and closed.
 * Makes sure the durable modules' streams exist and registers those modules (R-NATS-12).
 * Fails with `NatsConfigError` for invalid options (naming the key) or durable modules on a server
 * without JetStream, `JetStreamFailed` when a stream cannot be made, `NatsConnectFailed` when no server
 * can be reached, `InvalidArgument` if a "nats" context type is plugged in already, `BeehiveShutdown`
 * if the global context is shut down.
 *
 * @category constructors
 */
export const makeNatsContext = (
  options: NatsContextOptions
): Effect.Effect<
  NatsContextService,
  NatsConfigError | NatsConnectFailed | JetStreamFailed | InvalidArgument | BeehiveShutdown,
  Scope.Scope | ContextHost
> =>
  Effect.gen(function* () {
    const resolved = yield* Effect.fromResult(resolveNatsOptions(options))
    const host = yield* ContextHost
    const scope = yield* Effect.scope
    const nc = yield* connectNats(resolved)
    // Made `promptly`: a queue wakes its taker through the scheduler it was made under, so the
    // publisher and the control fiber are woken by microtask (`promptly`'s), not by `setImmediate`.
    const wake = yield* promptly(Queue.sliding<void>(1))
    const control = yield* promptly(Queue.dropping<Msg>(MaxControl))
    // Durable modules' fetching ends after the finalizer below has stopped serving them (R-NATS-12).
    const fetchScope = yield* Scope.fork(scope)
    const state = new NatsState(resolved, globalThis.crypto.randomUUID(), nc, host, scope, wake, fetchScope)
    const onControl = controlCallback(control, state.report)
    // The reply inbox exists before anything is published (R-NATS-6).
    nc.subscribe(state.subjects.replyInbox(state.processId), { callback: onControl })
    nc.subscribe(state.subjects.registry, { callback: onControl })
    yield* state.flushBriefly
    // What can fail for the server or the configuration is done before the context type is plugged in:
    // until a property found it, a start that failed after (a server without JetStream, a durable name
    // taken) left the type plugged in and its durable modules registered, and a start after refused.
    yield* state.durable.prepare
    yield* host.plug(state.context)
    yield* state.durable.registerModules
    // Each message of the reply inbox or the registry goes to the part that handles it.
    const handleControl = (m: Msg): Effect.Effect<void> =>
      m.subject === state.subjects.registry ? state.registry.handle(m) : state.replies.handle(m)
    // One message's defect is reported and the loop goes on: responses behind it are not stranded.
    const handleReported = (m: Msg) =>
      Effect.catchCause(handleControl(m), (cause) =>
        Effect.sync(() => state.report({ _tag: "BadPayload", subject: m.subject, reason: String(Cause.squash(cause)) }))
      )
    // Responses handed on unattributed (R-NATS-6) must not be attributed to a module the fiber that made
    // the context happens to run for (R-RESP-3).
    yield* Effect.forkIn(
      promptly(drain(control, handleReported)).pipe(Effect.provideService(CurrentModule, undefined)),
      scope
    )
    yield* Effect.forkIn(promptly(state.publisher.run), scope)
    yield* Effect.forkIn(heartbeat(state), scope)
    // The connection closed for good (reconnection gave up): every remote module is gone (R-NATS-9).
    yield* Effect.forkIn(
      Effect.flatMap(
        Effect.promise(() => nc.closed()),
        (reason) =>
          Effect.gen(function* () {
            if (state.closed) return
            state.report({ _tag: "ConnectionClosed", reason: reason instanceof Error ? reason.message : "closed" })
            yield* state.registry.connectionLost
          })
      ),
      scope
    )
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        for (const module of state.serving.modules()) yield* state.serving.stopServing(module, ProcessEndingReason)
        yield* state.registry.announce("bye")
        // Nothing is announced after the goodbye (a heartbeat would bring this process back).
        state.closed = true
        yield* state.flushBriefly
      })
    )
    yield* state.registry.announce("hello")
    yield* state.flushBriefly

    return {
      processId: state.processId,
      serve: state.serving.serve,
      unserve: state.serving.unserve,
      served: Effect.sync(() => state.serving.modules()),
      remoteModules: state.registry.remoteModules,
      awaitModule: state.registry.awaitModule,
      pendingRequests: state.replies.pendingRequests,
      announce: state.registry.announce("beat"),
      sendDurable: state.durable.sendDurable,
      deleteDurable: state.durable.deleteDurable
    } satisfies NatsContextService
  })

/**
 * The NATS context as a service.
 *
 * @category services
 */
export class NatsContext extends Context.Service<NatsContext, NatsContextService>()("beehive-effect/NatsContext") {
  /** Builds the service in the current scope, over the `ContextHost` in context; see `makeNatsContext`. */
  static readonly make = makeNatsContext

  /**
   * A layer over the `ContextHost` in context (`Beehive.layer` provides one); fails as
   * `makeNatsContext` does: `NatsContext.layer(options).pipe(Layer.provideMerge(Beehive.layer))`.
   */
  static readonly layer = (
    options: NatsContextOptions
  ): Layer.Layer<
    NatsContext,
    NatsConfigError | NatsConnectFailed | JetStreamFailed | InvalidArgument | BeehiveShutdown,
    ContextHost
  > => Layer.effect(NatsContext, makeNatsContext(options))
}
