/**
 * `sendSync`: a request and its response within one deadline (R-SYNC-*).
 *
 * @since 0.3.0
 * @internal
 */
import { Clock, type Duration, Effect, Exit, type Fiber, Result } from "effect"
import { type Cancel, first, mapExit } from "../../effects/Arm.ts"
import { type Timer, timerOn } from "../../effects/Deadline.ts"
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
  ) =>
    timedCall(
      state,
      caller,
      Effect.callback<Message, SendSyncError>((resume) =>
        new SyncCall(state, caller, resume).start(module, message, timeout)
      )
    )
  const sendSync = operation("beehive.sendSync", messageAttributes, body)
  return (module, message, timeout) => observeWith(sendSync, module, message, timeout)
}

type Resume = (outcome: Effect.Effect<Message, SendSyncError>) => void

// One call, from its checks to its end, in the step that suspends its caller: the call is registered,
// its request offered, its wait armed and its deadline's timer started all at once, so no step comes
// between registering the call and waiting in which an interruption could leave it registered
// (R-SYNC-6), and the call leaves the table where it ends (response, deadline, failure, interruption)
// instead of in a finalizer of its own. A finalizer (`Effect.onExit`) and the steps around the wait
// cost a call about a sixth of its time under an `Effect.forever` responder (measured: 262.6 →
// 313.8 k round trips/s).
class SyncCall {
  private readonly state: BeehiveState
  private readonly fiber: Fiber.Fiber<unknown, unknown>
  private readonly resume: Resume
  private slot: ReplySlot<CallError> | undefined = undefined
  private timer: ReturnType<Timer> | undefined = undefined
  /** Withdraws the wait in progress: for room or a response, then for the response. */
  private armed: Cancel | undefined = undefined
  private phase: SyncPhase = "response"
  private timeoutMs = 0
  private ended = false

  constructor(state: BeehiveState, fiber: Fiber.Fiber<unknown, unknown>, resume: Resume) {
    this.state = state
    this.fiber = fiber
    this.resume = resume
  }

  /** Runs the call up to its wait; returns what withdraws the wait if the caller is interrupted. */
  start(module: string, message: Message, timeout: Duration.Input | undefined): Effect.Effect<void> | undefined {
    const { state, fiber } = this
    const checked = checkCall("sendSync", "module name", module, message, timeout)
    if (Result.isFailure(checked)) return this.fail(Exit.fail(checked.failure))
    const timeoutMs = checked.success
    const endpoint = state.isShutdown ? undefined : state.modules.get(module)
    if (endpoint === undefined) return this.fail(Exit.fail(state.unavailable(module, "sendSync")))
    const id = message.header.id
    if (state.calls.get(id) !== undefined) return this.fail(Exit.fail(new DuplicateRequestId({ msgId: id })))
    const request = setSync(message, true)
    const refused = endpoint.refuse?.(request)
    if (refused !== undefined) return this.fail(Exit.fail(refused))
    const now = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
    const slot = new ReplySlot<CallError>(id, module)
    this.slot = slot
    this.timeoutMs = timeoutMs
    // Registered before the request is offered, so a response that comes while the request is being
    // handed over finds the call (R-SYNC-4).
    state.calls.add(slot)
    recordUnsafe(fiber, state.metrics?.pendingCalls, state.calls.size)
    // The request is offered in the step that found the module, so a cleanup cannot come in between
    // (`ModuleClosed` means it waited for room). With room, or a receiver waiting (most calls), it is
    // in at once, and the call waits for its response; a receiver woken by it runs inline, and may
    // have answered already: then the call ends here (R-SYNC-4).
    if (endpoint.offerNow(request, "now")) {
      recordUnsafe(fiber, state.metrics?.sent, 1)
      this.awaitResponse()
    } else {
      // Full (or closed). Enqueue and a response race: a response that arrives while the request still
      // waits for room ends the call and withdraws the request (R-SYNC-8). The slot is armed first, so
      // an outcome it holds decides the call whatever the enqueue would say (R-SYNC-4).
      this.phase = "enqueue"
      const armed = first<Message | undefined, SendSyncError>(
        slot.arm,
        mapExit(endpoint.armOffer(request, "now"), (exit) => {
          if (Exit.isSuccess(exit)) recordUnsafe(fiber, state.metrics?.sent, 1)
          else slot.close()
          return Exit.map(exit, () => undefined)
        })
      )(this.enqueued)
      // Completed at once only if the mailbox closed or made room since `offerNow`, which nothing
      // running in between could do; handled as the arm protocol says all the same.
      if (typeof armed === "function") this.armed = armed
      else this.enqueued(armed)
    }
    if (this.ended) return undefined
    this.timer = timerOn(fiber, now + timeoutMs, now)(this.expire)
    // An interruption withdraws the wait in the operation after the one it arrives in (Effect runs a
    // callback's canceller as an operation of its own): an outcome handed over in between was
    // accepted and is dropped with the interrupted call (R-GLOBAL-6).
    return Effect.sync(this.interrupted)
  }

  // Fails the call before it was registered: nothing to release.
  private fail(exit: Exit.Exit<never, SendSyncError>): undefined {
    this.ended = true
    this.resume(exit)
    return undefined
  }

  private awaitResponse(): void {
    const armed = (this.slot as ReplySlot<CallError>).arm(this.end)
    if (typeof armed === "function") this.armed = armed
    else this.end(armed)
  }

  // The enqueue phase's outcome: the request is in (then the call waits for its response), or a
  // response, or a failure, ended it.
  private readonly enqueued = (exit: Exit.Exit<Message | undefined, SendSyncError>): void => {
    if (this.ended) return
    if (Exit.isSuccess(exit) && exit.value === undefined) {
      this.phase = "response"
      this.armed = undefined
      this.awaitResponse()
    } else this.end(exit as Exit.Exit<Message, SendSyncError>)
  }

  private readonly expire = (): void => {
    if (this.ended) return
    this.timer = undefined
    this.armed?.()
    const slot = this.slot as ReplySlot<CallError>
    slot.close()
    this.end(
      Exit.fail(new SyncTimeout({ msgId: slot.id, module: slot.module, timeoutMs: this.timeoutMs, phase: this.phase }))
    )
  }

  // The slot closes when an interruption withdraws the wait: a response after that gets `false`.
  private readonly interrupted = (): void => {
    if (this.ended) return
    this.ended = true
    this.timer?.interruptUnsafe()
    this.armed?.()
    this.release()
  }

  /** Ends the call: out of the table first, then the caller resumed (inline: it may call again). */
  private readonly end = (exit: Exit.Exit<Message, SendSyncError>): void => {
    if (this.ended) return
    this.ended = true
    this.timer?.interruptUnsafe()
    this.release()
    this.resume(exit)
  }

  private release(): void {
    const slot = this.slot
    if (slot === undefined) return
    releaseSlot(this.state, slot)
    recordUnsafe(this.fiber, this.state.metrics?.pendingCalls, this.state.calls.size)
  }
}
