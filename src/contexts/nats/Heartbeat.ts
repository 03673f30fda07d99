/**
 * The heartbeat (R-NATS-4, R-NATS-8): every `heartbeatMs` it stops serving the modules cleaned up
 * here, announces the modules served, sends the acknowledgements no answer carried, tells JetStream
 * the durable modules' fetched messages are in progress (R-NATS-12), reopens the send windows no acknowledgement opened for the
 * silence limit, finds the processes gone silent, and reports the announcements the registry ignored.
 *
 * @since 0.3.0
 * @internal
 */
import { Clock, Effect } from "effect"
import type { NatsState } from "./NatsState.ts"

/**
 * The heartbeat of the context whose state is `state`; never ends.
 *
 * @category constructors
 */
export const heartbeat = (state: NatsState): Effect.Effect<never> =>
  Effect.forever(
    Effect.gen(function* () {
      yield* Effect.sleep(state.options.heartbeatMs)
      yield* state.serving.forgetCleanedUp
      yield* state.registry.announce("beat")
      state.serving.sendOwedAcks()
      state.serving.keepFetched()
      const now = yield* Clock.currentTimeMillis
      state.publisher.reopenStalled(now)
      yield* state.registry.dropSilent(now)
      state.registry.reportIgnored(now)
    })
  )
