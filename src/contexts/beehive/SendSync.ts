/**
 * `sendSync`: a request and its response within one deadline (R-SYNC-*).
 *
 * @since 0.3.0
 * @internal
 */
import { Clock, type Duration, Effect, Exit, type Fiber, Result } from "effect"
import { type Arm, type Cancel, first, mapExit } from "../../effects/Arm.ts"
import { awaitArmUntilOn } from "../../effects/Deadline.ts"
import { observeWith, operation, recordUnsafe } from "../../effects/Observability.ts"
import { ReplySlot } from "../../effects/ReplySlot.ts"
import { DuplicateRequestId, type SyncPhase, SyncTimeout } from "../../model/Errors.ts"
import { type Message, setSync } from "../../model/Message.ts"
import type { BeehiveService, SendSyncError } from "../BeehiveService.ts"
import type { BeehiveState, CallError } from "./BeehiveState.ts"
import { checkCall } from "./Checks.ts"
import { releaseSlot, timedCall } from "./PendingCalls.ts"
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
  ): Effect.Effect<Message, SendSyncError> => {
    const checked = checkCall("sendSync", "module name", module, message, timeout)
    if (Result.isFailure(checked)) return Effect.fail(checked.failure)
    const now = caller.getRef(Clock.Clock).currentTimeMillisUnsafe()
    const call = new SyncCall(state, caller, module, message, checked.success)
    return timedCall(
      state,
      caller,
      awaitArmUntilOn(caller, call.arm, now + checked.success, call.timedOut, call.interrupted, now)
    )
  }
  const sendSync = operation("beehive.sendSync", messageAttributes, body)
  return (module, message, timeout) => observeWith(sendSync, module, message, timeout)
}

// One call as an arm: armed in the step that suspends its caller (`awaitArmUntilOn`), it registers the
// call, offers the request and waits, for room and then for the response, all in that step, so no
// step comes between registering the call and waiting in which an interruption could leave it
// registered (R-SYNC-6). The call leaves the table where it ends (response, deadline, failure,
// interruption), before its caller is resumed, instead of in a finalizer of its own: a finalizer
// (`Effect.onExit`) and the steps around the wait cost a call about a sixth of its time under an
// `Effect.forever` responder (measured: 262.6 → 313.8 k round trips/s).
class SyncCall {
  private readonly state: BeehiveState
  private readonly fiber: Fiber.Fiber<unknown, unknown>
  private readonly module: string
  private readonly message: Message
  private readonly timeoutMs: number
  private slot: ReplySlot<CallError> | undefined = undefined
  /** Withdraws the wait in progress: for room or a response, then for the response. */
  private armed: Cancel | undefined = undefined
  private phase: SyncPhase = "response"

  constructor(
    state: BeehiveState,
    fiber: Fiber.Fiber<unknown, unknown>,
    module: string,
    message: Message,
    timeoutMs: number
  ) {
    this.state = state
    this.fiber = fiber
    this.module = module
    this.message = message
    this.timeoutMs = timeoutMs
  }

  readonly arm: Arm<Message, SendSyncError> = (settle) => {
    const { state, fiber, module, message } = this
    const endpoint = state.isShutdown ? undefined : state.modules.get(module)
    if (endpoint === undefined) return Exit.fail(state.unavailable(module, "sendSync"))
    const id = message.header.id
    if (state.calls.get(id) !== undefined) return Exit.fail(new DuplicateRequestId({ msgId: id }))
    const request = setSync(message, true)
    const refused = endpoint.refuse?.(request)
    if (refused !== undefined) return Exit.fail(refused)
    const slot = new ReplySlot<CallError>(id, module)
    this.slot = slot
    // Registered before the request is offered, so a response that comes while the request is being
    // handed over finds the call (R-SYNC-4).
    state.calls.add(slot)
    recordUnsafe(fiber, state.metrics?.pendingCalls, state.calls.size)
    // Out of the table before the caller has the outcome.
    const ended = (exit: Exit.Exit<Message, SendSyncError>) => {
      this.release()
      settle(exit)
    }
    // The request is offered in the step that found the module, so a cleanup cannot come in between
    // (`ModuleClosed` means it waited for room). With room, or a receiver waiting (most calls), it is
    // in at once, and the call waits for its response; a receiver woken by it runs inline, and may
    // have answered already: then the call ends here (R-SYNC-4).
    if (endpoint.offerNow(request, "now")) {
      recordUnsafe(fiber, state.metrics?.sent, 1)
      return this.awaitResponse(ended) ?? this.withdraw
    }
    // Full (or closed). Enqueue and a response race: a response that arrives while the request still
    // waits for room ends the call and withdraws the request (R-SYNC-8). The slot is armed first, so
    // an outcome it holds decides the call whatever the enqueue would say (R-SYNC-4).
    this.phase = "enqueue"
    const enqueued = (exit: Exit.Exit<Message | undefined, SendSyncError>) => {
      const outcome = this.afterEnqueue(exit, ended)
      if (outcome !== undefined) settle(outcome)
    }
    const armed = first<Message | undefined, SendSyncError>(
      slot.arm,
      mapExit(endpoint.armOffer(request, "now"), (exit) => {
        if (Exit.isSuccess(exit)) recordUnsafe(fiber, state.metrics?.sent, 1)
        else slot.close()
        return Exit.map(exit, () => undefined)
      })
    )(enqueued)
    // Completed at once only if the mailbox closed or made room since `offerNow`, which nothing
    // running in between could do; handled as the arm protocol says all the same.
    if (typeof armed !== "function") return this.afterEnqueue(armed, ended) ?? this.withdraw
    this.armed = armed
    return this.withdraw
  }

  // The enqueue phase's outcome: the request is in (then the call waits for its response, undefined
  // while it does), or a response or a failure ended the call (released).
  private afterEnqueue(
    exit: Exit.Exit<Message | undefined, SendSyncError>,
    ended: (exit: Exit.Exit<Message, SendSyncError>) => void
  ): Exit.Exit<Message, SendSyncError> | undefined {
    if (Exit.isSuccess(exit) && exit.value === undefined) {
      this.phase = "response"
      return this.awaitResponse(ended)
    }
    this.release()
    return exit as Exit.Exit<Message, SendSyncError>
  }

  // Waits for the response; its outcome if it is there already (the call is then released).
  private awaitResponse(
    ended: (exit: Exit.Exit<Message, SendSyncError>) => void
  ): Exit.Exit<Message, SendSyncError> | undefined {
    const armed = (this.slot as ReplySlot<CallError>).arm(ended)
    if (typeof armed === "function") {
      this.armed = armed
      return undefined
    }
    this.release()
    return armed
  }

  private readonly withdraw: Cancel = () => this.armed?.()

  /** The outcome at the deadline (the wait already withdrawn): `SyncTimeout` in the phase it was in. */
  readonly timedOut = (): Exit.Exit<Message, SendSyncError> => {
    this.release()
    return Exit.fail(
      new SyncTimeout({
        msgId: this.message.header.id,
        module: this.module,
        timeoutMs: this.timeoutMs,
        phase: this.phase
      })
    )
  }

  // The slot closes when an interruption withdraws the wait: a response after that gets `false`.
  readonly interrupted = (): void => this.release()

  private release(): void {
    const slot = this.slot
    if (slot === undefined) return
    releaseSlot(this.state, slot)
    recordUnsafe(this.fiber, this.state.metrics?.pendingCalls, this.state.calls.size)
  }
}
