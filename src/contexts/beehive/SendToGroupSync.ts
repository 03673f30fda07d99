/**
 * `sendToGroupSync`: a sync copy to every member of a group, and one response from each, within one
 * deadline (R-GSYNC-*).
 *
 * @since 0.3.0
 * @internal
 */
import { Cause, Clock, type Duration, Effect, Exit, type Fiber, Result } from "effect"
import type { Arm, Cancel } from "../../effects/Arm.ts"
import { awaitArmUntil } from "../../effects/Deadline.ts"
import { GroupCollector } from "../../effects/GroupCollector.ts"
import { observe, recordUnsafe } from "../../effects/Observability.ts"
import { DuplicateRequestId, GroupNotFound } from "../../model/Errors.ts"
import { type Message, setSync } from "../../model/Message.ts"
import type { GroupSyncResult } from "../../model/Reports.ts"
import type { BeehiveService, SendToGroupSyncError } from "../BeehiveService.ts"
import type { BeehiveState } from "./BeehiveState.ts"
import { checkCall, refusal } from "./Checks.ts"
import { releaseCollector, timedCall, withPendingCall } from "./PendingCalls.ts"

/**
 * `sendToGroupSync` (R-GSYNC-*).
 *
 * @category constructors
 */
export const makeSendToGroupSync =
  (state: BeehiveState): BeehiveService["sendToGroupSync"] =>
  (group, message, timeout) =>
    observe(
      "beehive.sendToGroupSync",
      () => ({ "beehive.group": String(group), "beehive.message.id": message?.header?.id }),
      (caller) => timedCall(state, caller, sendToGroupSyncCall(state, caller, group, message, timeout))
    )

const sendToGroupSyncCall = (
  state: BeehiveState,
  caller: Fiber.Fiber<unknown, unknown>,
  group: string,
  message: Message,
  timeout: Duration.Input | undefined
) =>
  withPendingCall(
    state,
    caller,
    (
      fiber,
      register: (collector: GroupCollector) => (withdraw: Cancel) => void
    ): Effect.Effect<GroupSyncResult, SendToGroupSyncError> => {
      const checked = checkCall("sendToGroupSync", "group name", group, message, timeout)
      if (Result.isFailure(checked)) return Effect.fail(checked.failure)
      if (state.isShutdown) return state.refused("sendToGroupSync")
      const endpoints = state.membersOf(group)
      if (endpoints === undefined) return Effect.fail(new GroupNotFound({ group }))
      const id = message.header.id
      if (state.calls.get(id) !== undefined) return Effect.fail(new DuplicateRequestId({ msgId: id }))
      const copy = setSync(message, true)
      // All or nothing: no copy is offered if one member cannot carry the request (R-SOCK-2).
      const refusedByOne = refusal(endpoints, copy)
      if (refusedByOne !== undefined) return Effect.fail(refusedByOne)
      const now = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
      const deadline = now + checked.success
      const collector = new GroupCollector(
        id,
        group,
        endpoints.map((e) => e.module)
      )
      const holdCopies = register(collector)
      // Every copy is offered in the step that registered the collector: members with room take it
      // (a member cleaned up later has it in its report, R-CLEAN-4, and counts as gone, R-GSYNC-5),
      // full members hold it in line from that step (R-GLOBAL-6). A copy woken into a receiver at
      // once may get the answers that decide the call: then no more are offered. Copies that wait
      // are withdrawn when the call ends; a member cleaned up instead is reported to the collector
      // by `cleanup` (R-GSYNC-5).
      const waiting: Array<Cancel> = []
      const withdraw = () => {
        for (const cancel of waiting) cancel()
      }
      holdCopies(withdraw)
      const countCopy = (exit: Exit.Exit<void, unknown>) => {
        if (Exit.isSuccess(exit)) recordUnsafe(fiber, state.metrics?.sent, 1)
      }
      for (const endpoint of endpoints) {
        if (!collector.isOpen) break
        const armed = endpoint.armOffer(copy, "now")(countCopy)
        if (typeof armed === "function") waiting.push(armed)
        // A copy its context could not take at all (after `refuse` let it through) ends the call with that defect.
        else if (Exit.isFailure(armed) && Cause.hasDies(armed.cause))
          collector.abort(Exit.die(Cause.squash(armed.cause)))
        else countCopy(armed)
      }
      const decided: Arm<GroupSyncResult, SendToGroupSyncError> = (settle) => {
        const armed = collector.arm((exit) => {
          withdraw()
          settle(exit)
        })
        if (typeof armed !== "function") {
          withdraw()
          return armed
        }
        return () => {
          withdraw()
          armed()
        }
      }
      // The collector ends when an interruption withdraws the wait: a response after that gets `false`.
      return awaitArmUntil(
        decided,
        deadline,
        () => collector.expire(),
        () => collector.abort(Exit.interrupt()),
        now
      )
    },
    releaseCollector
  )
