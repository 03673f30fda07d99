/**
 * `sendSync`: a request and its response within one deadline (R-SYNC-*).
 *
 * @since 0.3.0
 * @internal
 */
import { Clock, type Duration, Effect, Exit, type Fiber, Result } from "effect"
import { armNow, type Cancel, first, mapExit } from "../../effects/Arm.ts"
import { awaitArmUntil } from "../../effects/Deadline.ts"
import { observeWith, operation, recordUnsafe } from "../../effects/Observability.ts"
import { ReplySlot } from "../../effects/ReplySlot.ts"
import { DuplicateRequestId, type SyncPhase, SyncTimeout } from "../../model/Errors.ts"
import { type Message, setSync } from "../../model/Message.ts"
import type { BeehiveService, SendSyncError } from "../BeehiveService.ts"
import type { BeehiveState, CallError } from "./BeehiveState.ts"
import { checkCall } from "./Checks.ts"
import { releaseSlot, timedCall, withPendingCall } from "./PendingCalls.ts"
import { messageAttributes } from "./SpanAttributes.ts"

/**
 * `sendSync` (R-SYNC-*).
 *
 * @category constructors
 */
export const makeSendSync = (state: BeehiveState): BeehiveService["sendSync"] => {
  // Made once: a call allocates its own state only.
  const body = (
    caller: Fiber.Fiber<unknown, unknown>,
    module: string,
    message: Message,
    timeout: Duration.Input | undefined
  ) => timedCall(state, caller, sendSyncCall(state, caller, module, message, timeout))
  const sendSync = operation("beehive.sendSync", messageAttributes, body)
  return (module, message, timeout) => observeWith(sendSync, module, message, timeout)
}

const sendSyncCall = (
  state: BeehiveState,
  caller: Fiber.Fiber<unknown, unknown>,
  module: string,
  message: Message,
  timeout: Duration.Input | undefined
) =>
  withPendingCall(
    state,
    caller,
    (
      fiber,
      register: (slot: ReplySlot<CallError>) => (withdraw: Cancel) => void
    ): Effect.Effect<Message, SendSyncError> => {
      const checked = checkCall("sendSync", "module name", module, message, timeout)
      if (Result.isFailure(checked)) return Effect.fail(checked.failure)
      const timeoutMs = checked.success
      const endpoint = state.isShutdown ? undefined : state.modules.get(module)
      if (endpoint === undefined) return Effect.fail(state.unavailable(module, "sendSync"))
      const id = message.header.id
      if (state.calls.get(id) !== undefined) return Effect.fail(new DuplicateRequestId({ msgId: id }))
      const request = setSync(message, true)
      const refused = endpoint.refuse?.(request)
      if (refused !== undefined) return Effect.fail(refused)
      const now = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
      const deadline = now + timeoutMs
      const slot = new ReplySlot<CallError>(id, module)
      const timedOut = (phase: SyncPhase) => () => {
        slot.close()
        return Exit.fail(new SyncTimeout({ msgId: id, module, timeoutMs, phase }))
      }
      const holdOffer = register(slot)
      // The slot closes when an interruption withdraws the wait: a response after that gets `false`.
      const interrupted = () => slot.close()
      const awaitResponse = (readAt?: number) =>
        awaitArmUntil<Message, SendSyncError>(slot.arm, deadline, timedOut("response"), interrupted, readAt)
      // The request is offered in the step that found the module and registered the slot, so a cleanup
      // cannot come in between (`ModuleClosed` means it waited for room). With room, or a receiver
      // waiting (most calls), it is in at once, and the call waits for its response straight away;
      // a receiver woken by it runs inline, and may have answered already: then the call ends in this
      // step (R-SYNC-4).
      if (endpoint.offerNow(request, "now")) {
        recordUnsafe(fiber, state.metrics?.sent, 1)
        return slot.settled ?? awaitResponse(now)
      }
      // Full (or closed). Enqueue and a response race: a response that arrives while the request still
      // waits for room ends the call and withdraws the request (R-SYNC-8). The slot goes first: an
      // outcome it already holds (a response accepted while this fiber waited to run) decides the call,
      // whatever the enqueue would say (R-SYNC-4). A request that waits holds its place in line from
      // the step its call was registered (R-GLOBAL-6).
      const [enqueued, withdraw] = armNow(
        first<Message | undefined, SendSyncError>(
          slot.arm,
          mapExit(endpoint.armOffer(request, "now"), (exit) => {
            if (Exit.isSuccess(exit)) recordUnsafe(fiber, state.metrics?.sent, 1)
            else slot.close()
            return Exit.map(exit, () => undefined)
          })
        )
      )
      holdOffer(withdraw)
      return awaitArmUntil(enqueued, deadline, timedOut("enqueue"), interrupted, now).pipe(
        Effect.flatMap((response) => (response !== undefined ? Effect.succeed(response) : awaitResponse()))
      )
    },
    releaseSlot
  )
