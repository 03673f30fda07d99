/**
 * The end of modules and of the global context: `cleanup` removes one module, `shutdown` all of them
 * and every pending call. Each does its whole change of state in one step and wakes the waiters it
 * affects only after it (`Wakeups`).
 *
 * @since 0.3.0
 * @internal
 */
import { Deferred, Effect, Exit } from "effect"
import { GroupCollector } from "../../effects/GroupCollector.ts"
import { observe, recordUnsafe } from "../../effects/Observability.ts"
import { ReplySlot } from "../../effects/ReplySlot.ts"
import { Wakeups } from "../../effects/Wakeups.ts"
import { checkName } from "../../model/Arguments.ts"
import { BeehiveShutdown, type InvalidArgument, ModuleNotFound, RequestDropped } from "../../model/Errors.ts"
import { newErrorResponse } from "../../model/Message.ts"
import type { CleanupReport, ShutdownReport } from "../../model/Reports.ts"
import type { BeehiveService } from "../BeehiveService.ts"
import type { Endpoint } from "../ModuleContext.ts"
import type { BeehiveState } from "./BeehiveState.ts"
import { firstInvalid } from "./Checks.ts"

/**
 * Removes `module` (whose endpoint is `endpoint`) from the module table and its groups, closes its
 * endpoint and fails the calls its removal decides, all in the caller's step; their waiters are woken
 * when the caller flushes `wakeups`. Returns what the module never received.
 *
 * @category constructors
 */
// One step: every part of the state is final before any waiter it affects is woken (`wakeups`).
export const cleanupNow = (
  state: BeehiveState,
  module: string,
  endpoint: Endpoint,
  wakeups: Wakeups
): CleanupReport => {
  // Every module in the table has its memberships: both are set and deleted in one step.
  const joined = state.memberships.get(module) as ReadonlySet<string>
  state.modules.delete(module)
  state.memberships.delete(module)
  for (const group of joined) {
    const members = state.groups.get(group)
    members?.delete(module)
    if (members?.size === 0) state.groups.delete(group)
  }
  const undelivered = endpoint.close(wakeups)
  for (const message of undelivered) {
    if (!message.header.sync) continue
    const call = state.calls.get(message.header.id)
    if (call instanceof ReplySlot && call.module === module) {
      call.fail(new RequestDropped({ msgId: message.header.id, module }), wakeups)
    }
  }
  for (const call of state.calls.all()) {
    if (call instanceof GroupCollector) call.memberGone(module, wakeups)
  }
  return { module, groups: [...joined], undelivered }
}

/**
 * `cleanup` (R-CLEAN-*).
 *
 * @category constructors
 */
export const makeCleanup =
  (state: BeehiveState): BeehiveService["cleanup"] =>
  (module) =>
    // Not interruptible (it never waits): until a property found it, one interrupted after it had taken
    // the mailbox and before it had answered the requests from other processes in it left their
    // callers waiting for their deadlines.
    Effect.uninterruptible(
      observe(
        "beehive.cleanup",
        () => ({ "beehive.module": String(module) }),
        (fiber): Effect.Effect<CleanupReport, InvalidArgument | ModuleNotFound> => {
          const invalid = firstInvalid(checkName("cleanup", "module name", module))
          if (invalid !== undefined) return invalid
          const endpoint = state.modules.get(module)
          if (endpoint === undefined) return Effect.fail(new ModuleNotFound({ module }))
          const wakeups = new Wakeups()
          const report = cleanupNow(state, module, endpoint, wakeups)
          wakeups.flush()
          recordUnsafe(fiber, state.metrics?.undeliverable, report.undelivered.length)
          return Effect.as(refuseForwarded(state, report), report)
        }
      )
    )

// Sync requests from other processes that a cleanup took from the mailbox: their callers get an
// error response now instead of waiting for their deadlines (R-SOCK-10, R-CLEAN-5).
const refuseForwarded = (state: BeehiveState, report: CleanupReport): Effect.Effect<void> => {
  const forwarded = report.undelivered.filter((m) => m.header.sync && state.calls.get(m.header.id) === undefined)
  if (forwarded.length === 0 || state.forwarders.length === 0) return Effect.void
  return Effect.forEach(
    forwarded,
    (request) =>
      Effect.map(newErrorResponse(request, `module "${report.module}" was cleaned up`), (error) => {
        for (const context of state.forwarders) if (context.forwardResponse?.(error, report.module)) return
      }),
    { discard: true }
  )
}

/**
 * `shutdown` (R-GLOBAL-3).
 *
 * @category constructors
 */
export const makeShutdown = (state: BeehiveState): BeehiveService["shutdown"] =>
  Effect.suspend((): Effect.Effect<ShutdownReport> => {
    if (state.isShutdown) return Deferred.await(state.shutdownReport)
    state.isShutdown = true
    // Calls are cancelled first, so that they fail with BeehiveShutdown rather than with the
    // consequences of the cleanups (RequestDropped, MemberGone).
    const wakeups = new Wakeups()
    let cancelledCalls = 0
    for (const call of state.calls.all()) {
      const error = new BeehiveShutdown({ operation: call instanceof ReplySlot ? "sendSync" : "sendToGroupSync" })
      if (call instanceof ReplySlot ? call.fail(error, wakeups) : call.abort(Exit.fail(error), wakeups))
        cancelledCalls++
    }
    const cleanups = [...state.modules].map(([name, entry]) => cleanupNow(state, name, entry, wakeups))
    const report: ShutdownReport = { cleanups, cancelledCalls }
    Deferred.doneUnsafe(state.shutdownReport, Exit.succeed(report))
    wakeups.flush()
    return Effect.succeed(report)
  })
