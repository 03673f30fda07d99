/**
 * The JetStream side of durable modules (R-NATS-12): their streams (made sure of at the start), the
 * storing of their one-way messages (the publisher hands them here), `sendDurable`'s waits for a
 * message's storage, and `deleteDurable`.
 *
 * @since 0.3.0
 * @internal
 */
import {
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType
} from "@nats-io/jetstream"
import { Cause, Clock, Deferred, Effect, Exit } from "effect"
import { ModuleClosed, ModuleNotFound } from "../../model/Errors.ts"
import type { Message } from "../../model/Message.ts"
import { DurableMailboxFull, JetStreamFailed, NatsConfigError, type SendDurableError } from "../../model/NatsErrors.ts"
import type { DurableEndpoint } from "./DurableEndpoint.ts"
import { ContextTypeNats } from "./NatsOptions.ts"
import type { NatsState } from "./NatsState.ts"
import { durableStreamName } from "./Subjects.ts"

/** What a `sendDurable` waits for: its message's storage. */
type Storage = Deferred.Deferred<void, DurableMailboxFull | JetStreamFailed | ModuleClosed>

/** A refusal is a full stream when JetStream says a limit was exceeded. */
const limitExceeded = /maximum (messages|bytes|messages per subject) exceeded/i

/** A client's error as text. */
const reasonOf = (error: unknown): string => String((error as Error)?.message ?? error)

/**
 * The durable modules of one NATS context; see the module documentation.
 *
 * @category models
 */
export class DurableStore {
  private readonly state: NatsState
  /** The JetStream client. */
  readonly client: JetStreamClient
  private jsm: JetStreamManager | undefined = undefined
  /** The modules listed `durable`. */
  private readonly modules: ReadonlySet<string>
  /**
   * `sendDurable` calls waiting for storage, by module, then by the message sent (the object the outbox
   * holds: another message with the same id is not it), oldest first. By module first: one message
   * object sent to two modules has a copy in each stream, each awaited by the calls to its module.
   */
  private readonly waiting = new Map<string, Map<Message, Array<Storage>>>()

  /** The durable modules of the context whose state is `state`. */
  constructor(state: NatsState) {
    this.state = state
    this.client = jetstream(state.nc)
    this.modules = new Set(state.options.durable)
  }

  /** Whether `module` is listed durable here. */
  has(module: string): boolean {
    return this.modules.has(module)
  }

  /** The JetStream manager; fails with `NatsConfigError` (key `durable`) if the server has no JetStream. */
  manager(): Effect.Effect<JetStreamManager, NatsConfigError | JetStreamFailed> {
    return Effect.suspend(() => {
      if (this.jsm !== undefined) return Effect.succeed(this.jsm)
      return Effect.tryPromise({
        try: () => jetstreamManager(this.state.nc),
        catch: (error) =>
          /not enabled|no responders|503/i.test(reasonOf(error))
            ? new NatsConfigError({
                key: "durable",
                reason: "the server runs no JetStream (start nats-server with -js)"
              })
            : new JetStreamFailed({ operation: "stream", module: "", detail: reasonOf(error) })
      }).pipe(Effect.tap((jsm) => Effect.sync(() => (this.jsm = jsm))))
    })
  }

  /**
   * Makes sure each durable module's stream exists, creating it with the configured limits, and that no
   * module of the global context has its name (R-NATS-12): everything of the start that can fail for
   * the server or the configuration, done before the context type is plugged in. Waits for
   * JetStream's answers. Fails with `NatsConfigError` (no JetStream; a name taken here, key
   * `durable[i]`) or `JetStreamFailed`.
   */
  readonly prepare: Effect.Effect<void, NatsConfigError | JetStreamFailed> = Effect.gen({ self: this }, function* () {
    const state = this.state
    if (this.modules.size === 0) return
    const taken = new Set((yield* state.beehive.snapshot).modules.map((m) => m.name))
    const clash = state.options.durable.findIndex((module) => taken.has(module))
    if (clash >= 0)
      return yield* new NatsConfigError({
        key: `durable[${clash}]`,
        reason: `module "${state.options.durable[clash]}" already exists`
      })
    const jsm = yield* this.manager()
    for (const module of state.options.durable) {
      const name = durableStreamName(state.options.prefix, module)
      yield* Effect.tryPromise({
        try: () =>
          jsm.streams.info(name).catch((error: unknown) => {
            if ((error as Error)?.name !== "StreamNotFoundError") throw error
            // Made by another process meanwhile (with other limits): used as it is.
            const made = jsm.streams.add({
              name,
              subjects: [state.subjects.durable(module)],
              retention: RetentionPolicy.Workqueue,
              storage: StorageType.File,
              discard: DiscardPolicy.New,
              max_msgs: state.options.durableMaxMessages,
              max_bytes: state.options.durableMaxBytes,
              num_replicas: 1
            })
            return made.catch((error: unknown) =>
              jsm.streams.info(name).catch(() => {
                throw error
              })
            )
          }),
        catch: (error) => new JetStreamFailed({ operation: "stream", module, detail: reasonOf(error) })
      })
    }
  })

  /**
   * Registers each durable module here (R-NATS-12), once the context type is plugged in. Fails with
   * `NatsConfigError` (key `durable[i]`) for a name taken since `prepare` checked it (by the
   * application, at the same time) or a shutdown: the start then fails with the type plugged in.
   */
  readonly registerModules: Effect.Effect<void, NatsConfigError> = Effect.gen({ self: this }, function* () {
    const state = this.state
    for (const [i, module] of state.options.durable.entries()) {
      yield* state.beehive
        .addModule(module, { contextType: ContextTypeNats, capacity: state.options.maxInbound })
        .pipe(Effect.mapError((error) => new NatsConfigError({ key: `durable[${i}]`, reason: error.message })))
    }
  })

  /**
   * Stores a one-way message of `endpoint` in its stream: published now (in the publisher's order),
   * and its answer handled by a fiber of its own: the window credited, a `sendDurable` waiting for it
   * told, a refusal reported (`DurableRefused`) and passed to `onUndeliverable` (R-NATS-12).
   */
  store(endpoint: DurableEndpoint, message: Message, json: string): Effect.Effect<void> {
    return Effect.gen({ self: this }, function* () {
      const state = this.state
      const module = endpoint.module
      const answer = this.client.publish(state.subjects.durable(module), json)
      // Handled by the fiber below, which may start after the answer: not an unhandled rejection meanwhile.
      answer.catch(() => {})
      yield* Effect.forkIn(
        Effect.gen({ self: this }, function* () {
          const exit = yield* Effect.exit(Effect.tryPromise({ try: () => answer, catch: (error) => error }))
          state.publisher.credited(module, 1, yield* Clock.currentTimeMillis)
          const waiter = this.takeWaiter(module, message)
          if (Exit.isSuccess(exit)) {
            if (waiter !== undefined) Deferred.doneUnsafe(waiter, Exit.void)
            return
          }
          const error = Cause.squash(exit.cause) as { cause?: unknown }
          // The client names a stream that is missing "JetStream not enabled": the server's reason is under it.
          const detail = /not enabled/i.test(reasonOf(error))
            ? `no stream for the module (deleted?) or no JetStream: ${reasonOf(error.cause ?? error)}`
            : reasonOf(error)
          state.report({ _tag: "DurableRefused", module, msgId: message.header.id, reason: detail })
          state.host.onUndeliverable(module, message)
          if (waiter !== undefined)
            Deferred.doneUnsafe(
              waiter,
              Exit.fail(
                limitExceeded.test(detail)
                  ? new DurableMailboxFull({ module, msgId: message.header.id, reason: detail })
                  : new JetStreamFailed({ operation: "store", module, detail })
              )
            )
        }),
        state.scope
      )
    })
  }

  /** `NatsContextService.sendDurable`. */
  readonly sendDurable = (module: string, message: Message): Effect.Effect<void, SendDurableError> =>
    Effect.gen({ self: this }, function* () {
      if (!this.modules.has(module) || !this.state.publisher.endpoints.has(module))
        return yield* new ModuleNotFound({ module })
      const storage: Storage = Deferred.makeUnsafe()
      // Registered as a resource whose release always runs: registered in the step before the release
      // was set up, a call interrupted between the two stayed in the line, took the answer to the next
      // call's copy, and that call waited for ever (until a property found it).
      return yield* Effect.acquireUseRelease(
        Effect.sync(() => this.register(module, message, storage)),
        () => Effect.andThen(this.state.beehive.send(module, message), Deferred.await(storage)),
        (calls) => Effect.sync(() => this.withdraw(module, message, calls, storage))
      )
    })

  /**
   * The endpoint of `module` closed: the `sendDurable` calls waiting on it fail with `ModuleClosed`
   * (none for a module not durable here: `sendDurable` refuses one).
   */
  closed(module: string): void {
    const byMessage = this.waiting.get(module)
    if (byMessage === undefined) return
    this.waiting.delete(module)
    // A call resumed here runs its `forget` at once, which takes it out of its list: each list is
    // emptied before its calls resume (iterated as it was, every second call was skipped and waited
    // for ever, until a property found it).
    for (const calls of byMessage.values())
      for (const d of calls.splice(0)) Deferred.doneUnsafe(d, Exit.fail(new ModuleClosed({ module })))
  }

  /** `NatsContextService.deleteDurable`. */
  readonly deleteDurable = (module: string): Effect.Effect<void, ModuleNotFound | JetStreamFailed | NatsConfigError> =>
    Effect.gen({ self: this }, function* () {
      if (!this.modules.has(module)) return yield* new ModuleNotFound({ module })
      const jsm = yield* this.manager()
      const name = durableStreamName(this.state.options.prefix, module)
      yield* this.state.serving.unserve(module)
      yield* Effect.tryPromise({
        try: () => jsm.streams.delete(name),
        catch: (error) => new JetStreamFailed({ operation: "delete", module, detail: reasonOf(error) })
      })
      if (this.state.publisher.endpoints.has(module)) yield* Effect.ignore(this.state.beehive.cleanup(module))
    })

  /** Puts a call waiting for `storage` last in the line of `message` in the stream of `module`; returns the line. */
  private register(module: string, message: Message, storage: Storage): Array<Storage> {
    let byMessage = this.waiting.get(module)
    if (byMessage === undefined) {
      byMessage = new Map()
      this.waiting.set(module, byMessage)
    }
    const calls = byMessage.get(message) ?? []
    calls.push(storage)
    byMessage.set(message, calls)
    return calls
  }

  /** The call waiting for `storage` ended: out of its line `calls`, if an answer did not take it out already. */
  private withdraw(module: string, message: Message, calls: Array<Storage>, storage: Storage): void {
    const i = calls.indexOf(storage)
    if (i >= 0) calls.splice(i, 1)
    // A line emptied by an answer may have been replaced by a newer one: only this one is forgotten.
    if (calls.length === 0 && this.waiting.get(module)?.get(message) === calls) this.forget(module, message)
  }

  /** The oldest call waiting for the storage of `message` in the stream of `module`, taken out of the line. */
  private takeWaiter(module: string, message: Message): Storage | undefined {
    const calls = this.waiting.get(module)?.get(message)
    const first = calls?.shift()
    if (calls?.length === 0) this.forget(module, message)
    return first
  }

  /** No call waits for the storage of `message` in the stream of `module` any longer. */
  private forget(module: string, message: Message): void {
    const byMessage = this.waiting.get(module)
    byMessage?.delete(message)
    if (byMessage?.size === 0) this.waiting.delete(module)
  }
}
