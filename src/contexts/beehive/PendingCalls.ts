/**
 * The pending-call bookkeeping of synchronous calls: a call is in the pending-call table from the step
 * it registers to its end, whatever ends it. `sendToGroupSync` registers in one step and waits in a
 * later one, and is released by a finalizer (`withPendingCall`); `sendSync` registers, offers and
 * waits in one step, and releases its slot (`releaseSlot`) where the call ends.
 *
 * @since 0.3.0
 * @internal
 */
import { Clock, Effect, type Fiber } from "effect"
import type { Cancel } from "../../effects/Arm.ts"
import type { GroupCollector } from "../../effects/GroupCollector.ts"
import { recordUnsafe } from "../../effects/Observability.ts"
import type { ReplySlot } from "../../effects/ReplySlot.ts"
import type { PendingCall } from "../../effects/ReplyTable.ts"
import type { BeehiveState, CallError } from "./BeehiveState.ts"

// The finalizer is in place before the call is registered: a fiber preempted or interrupted just
// after registering still unregisters (found by the sync-workload property). `register` returns
// where to put what withdraws the call's offers (armed after it is registered), so that they are
// withdrawn on every exit too, even one that comes before the call starts waiting.
// Built in the caller's step (`observe`'s): it adds no step of its own, so schedules recorded before
// observability replay the same (test/regressions).
/**
 * Runs a synchronous call `start`s, registered in the pending-call table by `register` and released
 * by `release` on every exit; see the comment. Used by `sendToGroupSync`.
 *
 * @category combinators
 */
export const withPendingCall = <C extends PendingCall<CallError>, A, E>(
  state: BeehiveState,
  caller: Fiber.Fiber<unknown, unknown>,
  start: (
    fiber: Fiber.Fiber<unknown, unknown>,
    register: (call: C) => (withdraw: Cancel) => void
  ) => Effect.Effect<A, E>,
  release: (state: BeehiveState, call: C) => void
): Effect.Effect<A, E> => {
  let registered: C | undefined
  let withdraw: Cancel | undefined
  const register = (call: C) => {
    registered = call
    state.calls.add(call)
    recordUnsafe(caller, state.metrics?.pendingCalls, state.calls.size)
    return (withdrawOffers: Cancel) => {
      withdraw = withdrawOffers
    }
  }
  return Effect.onExit(
    Effect.withFiber((fiber) => start(fiber, register)),
    () =>
      Effect.sync(() => {
        withdraw?.()
        if (registered === undefined) return
        release(state, registered)
        recordUnsafe(caller, state.metrics?.pendingCalls, state.calls.size)
      })
  )
}

/**
 * Takes a group call's collector out of the pending-call table.
 *
 * @category mutations
 */
export const releaseCollector = (state: BeehiveState, collector: GroupCollector): void => state.calls.remove(collector)

/**
 * Closes a call's reply slot and takes it out of the pending-call table.
 *
 * @category mutations
 */
export const releaseSlot = (state: BeehiveState, slot: ReplySlot<CallError>): void => {
  slot.close()
  state.calls.remove(slot)
}

/**
 * Records the latency of a sync call, whatever its end, when metrics are on.
 *
 * @category combinators
 */
export const timedCall = <A, E>(
  state: BeehiveState,
  caller: Fiber.Fiber<unknown, unknown>,
  call: Effect.Effect<A, E>
): Effect.Effect<A, E> => {
  const metrics = state.metrics
  if (metrics === undefined) return call
  const clock = caller.getRef(Clock.Clock)
  const started = clock.currentTimeMillisUnsafe()
  return Effect.onExit(call, () =>
    Effect.sync(() => recordUnsafe(caller, metrics.sendSyncLatency, clock.currentTimeMillisUnsafe() - started))
  )
}
