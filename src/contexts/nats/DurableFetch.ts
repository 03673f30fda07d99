/**
 * A process serving a durable module fetches its messages from the stream's durable consumer into the
 * module's mailbox here, never more than it has room for (R-NATS-12). Stopping is cooperative: the
 * current fetch runs out (at most `FetchExpiresMs`), what arrives meanwhile goes back to JetStream at
 * once (a negative acknowledgement), so nothing waits for the ack wait after a clean stop.
 *
 * @since 0.3.0
 * @internal
 */
import { AckPolicy, type Consumer, DeliverPolicy, type JsMsg } from "@nats-io/jetstream"
import { Effect, Fiber, Result } from "effect"
import type { Message } from "../../model/Message.ts"
import { decodeJsonResult } from "../../model/MessageJson.ts"
import { JetStreamFailed } from "../../model/NatsErrors.ts"
import type { DurableEndpoint } from "./DurableEndpoint.ts"
import type { NatsState } from "./NatsState.ts"
import { DurableConsumerName, durableStreamName } from "./Subjects.ts"

/** How long one fetch waits for messages (the client's least): a clean stop takes at most this. */
const FetchExpiresMs = 1000

/**
 * The durable consumer of `module`'s stream, created if missing (R-NATS-12). Fails with
 * `JetStreamFailed` (no stream, no JetStream).
 *
 * @category constructors
 */
export const durableConsumer = (state: NatsState, module: string): Effect.Effect<Consumer, JetStreamFailed> =>
  Effect.gen(function* () {
    const jsm = yield* state.durable
      .manager()
      .pipe(Effect.mapError((e) => new JetStreamFailed({ operation: "consumer", module, detail: e.message })))
    const stream = durableStreamName(state.options.prefix, module)
    return yield* Effect.tryPromise({
      try: () =>
        jsm.consumers
          .info(stream, DurableConsumerName)
          .catch((error: unknown) => {
            if ((error as Error)?.name !== "ConsumerNotFoundError") throw error
            return jsm.consumers.add(stream, {
              durable_name: DurableConsumerName,
              ack_policy: AckPolicy.Explicit,
              deliver_policy: DeliverPolicy.All,
              ack_wait: state.options.durableAckWaitMs * 1_000_000,
              max_deliver: -1
            })
          })
          .then(() => state.durable.client.consumers.get(stream, DurableConsumerName)),
      catch: (error) =>
        new JetStreamFailed({ operation: "consumer", module, detail: String((error as Error)?.message ?? error) })
    })
  })

/**
 * The fetching of one served durable module; see the module documentation.
 *
 * @category models
 */
export class DurableFetch {
  private readonly state: NatsState
  private readonly endpoint: DurableEndpoint
  /** Fetched messages the mailbox had no room for yet (a sync request took it), oldest first. */
  private readonly pending: Array<{ readonly message: Message; readonly js: JsMsg }> = []
  private stopping = false
  private wakeRoom: (() => void) | undefined = undefined
  private fiber: Fiber.Fiber<void> | undefined = undefined

  /** The fetching of `endpoint`'s module in the context whose state is `state`; `start` starts it. */
  constructor(state: NatsState, endpoint: DurableEndpoint) {
    this.state = state
    this.endpoint = endpoint
    endpoint.onRoom = () => this.room()
  }

  /** Starts fetching, in a fiber of the context's fetch scope (closed after the served modules stop). */
  readonly start: Effect.Effect<void> = Effect.gen({ self: this }, function* () {
    this.fiber = yield* Effect.forkIn(this.loop, this.state.fetchScope)
  })

  /**
   * Stops fetching: waits (at most 2 × `FetchExpiresMs`) for the current fetch to run out, then gives
   * the fetched messages not yet received back to JetStream, oldest first (those in the mailbox, then
   * those waiting for room), and returns the sync requests left in the mailbox, to be answered. Giving
   * back only once no fetch is pending keeps JetStream from handing them straight back to it.
   */
  readonly stop: Effect.Effect<ReadonlyArray<Message>> = Effect.gen({ self: this }, function* () {
    this.stopping = true
    this.room()
    const fiber = this.fiber
    if (fiber !== undefined) {
      // The module is no longer served, so the heartbeat no longer keeps what it fetched in progress:
      // the wait does, from its start, or the ack wait (twice the heartbeat at least) runs out before
      // the fetch does, and JetStream hands the messages out again while they are still here.
      this.keepInProgress()
      const keeping = yield* Effect.forkChild(
        Effect.forever(
          Effect.andThen(
            Effect.sleep(this.state.options.heartbeatMs),
            Effect.sync(() => this.keepInProgress())
          )
        )
      )
      yield* Fiber.await(fiber).pipe(
        Effect.timeoutOrElse({ duration: 2 * FetchExpiresMs, orElse: () => Fiber.interrupt(fiber) })
      )
      yield* Fiber.interrupt(keeping)
    }
    const requests = this.endpoint.unserve()
    for (const { js } of this.pending.splice(0)) js.nak()
    return requests
  })

  /**
   * Tells JetStream that the fetched messages not yet received here are in progress: those in the
   * mailbox and those waiting for room in it (at every heartbeat while the module is served, and while
   * a stop waits for the fetch to run out).
   */
  keepInProgress(): void {
    for (const js of this.endpoint.heldMessages) js.working()
    for (const { js } of this.pending) js.working()
  }

  /** The mailbox has room: what waits for it goes in, and the fetching goes on. */
  private room(): void {
    // Taken off the line before it is offered: handing it to a receiver comes back here (re-entrantly).
    while (!this.stopping && this.pending.length > 0) {
      const first = this.pending.shift() as { readonly message: Message; readonly js: JsMsg }
      if (!this.endpoint.offerFetched(first.message, first.js)) {
        this.pending.unshift(first)
        break
      }
    }
    const wake = this.wakeRoom
    this.wakeRoom = undefined
    wake?.()
  }

  /** Waits until the mailbox has room beyond what waits for it, or the fetching stops. */
  private readonly awaitRoom: Effect.Effect<void> = Effect.callback<void>((resume) => {
    if (this.stopping || this.endpoint.room > this.pending.length) return resume(Effect.void)
    this.wakeRoom = () => resume(Effect.void)
  })

  private readonly loop: Effect.Effect<void> = Effect.gen({ self: this }, function* () {
    const state = this.state
    const module = this.endpoint.module
    let consumer: Consumer | undefined
    while (!this.stopping && consumer === undefined) {
      const got = yield* Effect.result(durableConsumer(state, module))
      if (Result.isSuccess(got)) consumer = got.success
      else {
        state.report({ _tag: "DurableRefused", module, msgId: "", reason: got.failure.message })
        yield* Effect.sleep(state.options.heartbeatMs)
      }
    }
    while (!this.stopping && consumer !== undefined) {
      yield* this.awaitRoom
      const room = this.endpoint.room - this.pending.length
      if (this.stopping || room <= 0) continue
      const c = consumer
      const fetched = yield* Effect.result(
        Effect.tryPromise(() => c.fetch({ max_messages: room, expires: FetchExpiresMs }))
      )
      if (Result.isFailure(fetched)) {
        yield* Effect.sleep(state.options.heartbeatMs)
        continue
      }
      const iterator = fetched.success[Symbol.asyncIterator]()
      while (true) {
        const next = yield* Effect.result(Effect.tryPromise(() => iterator.next()))
        if (Result.isFailure(next) || next.success.done === true) break
        this.handle(next.success.value)
      }
    }
  })

  /** One fetched message: to the mailbox, in order behind those waiting for room. */
  private handle(js: JsMsg): void {
    const decoded = decodeJsonResult(js.string())
    if (Result.isFailure(decoded)) {
      this.state.report({ _tag: "BadPayload", subject: js.subject, reason: decoded.failure.message })
      js.term()
      return
    }
    this.pending.push({ message: decoded.success, js })
    this.room()
  }
}
