/**
 * Delivery in the global context: `send`, `receive` and `sendToGroup`. Each completes without
 * suspending when it can; a wait finds its module again and takes its place in line in one step
 * (R-GLOBAL-6).
 *
 * @since 0.3.0
 * @internal
 */
import { Cause, Effect, Exit, type Fiber } from "effect"
import { type Arm, all, armNow, type Cancel, onSuccess } from "../../effects/Arm.ts"
import { awaitArm } from "../../effects/Deadline.ts"
import { giveBackHeld, handOff } from "../../effects/HandOff.ts"
import { countReceived, observe, observeWith, operation, recordUnsafe } from "../../effects/Observability.ts"
import { checkMessage, checkName, isMessage, isName } from "../../model/Arguments.ts"
import {
  type BeehiveShutdown,
  GroupNotFound,
  type InvalidArgument,
  type MessageEncodeError,
  type ModuleClosed,
  type ModuleNotFound
} from "../../model/Errors.ts"
import type { Message } from "../../model/Message.ts"
import type { GroupSendResult } from "../../model/Reports.ts"
import type { BeehiveService } from "../BeehiveService.ts"
import type { ContextHostService } from "../ContextHost.ts"
import type { Endpoint } from "../ModuleContext.ts"
import type { BeehiveState } from "./BeehiveState.ts"
import { firstInvalid, ignore, invalidOf, refusal } from "./Checks.ts"
import { messageAttributes, moduleAttributes } from "./SpanAttributes.ts"

/**
 * `send` (R-SEND-*).
 *
 * @category constructors
 */
export const makeSend = (state: BeehiveState): BeehiveService["send"] => {
  // Made once: a send allocates only the effect it returns, and a wake or a wait if it needs one.
  const body = (fiber: Fiber.Fiber<unknown, unknown>, module: string, message: Message) =>
    sendBody(state, fiber, module, message, undefined)
  const send = operation("beehive.send", messageAttributes, body)
  return (module, message) => observeWith(send, module, message, undefined)
}

/**
 * `ContextHostService.deliver`: `send`, calling `admitted` as the module admits the message.
 *
 * @category constructors
 */
export const makeDeliver = (state: BeehiveState): ContextHostService["deliver"] => {
  const body = (
    fiber: Fiber.Fiber<unknown, unknown>,
    module: string,
    message: Message,
    admitted: (() => void) | undefined
  ) => sendBody(state, fiber, module, message, admitted)
  const deliver = operation("beehive.send", messageAttributes, body)
  return (module, message, admitted) => observeWith(deliver, module, message, admitted)
}

const sendBody = (
  state: BeehiveState,
  fiber: Fiber.Fiber<unknown, unknown>,
  module: string,
  message: Message,
  admitted: (() => void) | undefined
): Effect.Effect<void, InvalidArgument | MessageEncodeError | ModuleNotFound | ModuleClosed | BeehiveShutdown> => {
  // The checks allocate only to describe a refusal: send and receive are the hot path.
  if (!(isName(module) && isMessage(message)))
    return invalidOf(checkName("send", "module name", module), checkMessage("send", "message", message))
  const endpoint = state.isShutdown ? undefined : state.modules.get(module)
  if (endpoint === undefined) return Effect.fail(state.unavailable(module, "send"))
  const refused = endpoint.refuse?.(message)
  if (refused !== undefined) return Effect.fail(refused)
  // A receiver handed a one-way message runs from a scheduler task, so that a stream of sends is
  // taken in one run of it; a sync request (one another process's call forwards here, its caller
  // waiting for the answer) wakes it at once, as `sendSync` does: no event-loop turn per request.
  if (endpoint.offerNow(message, message.header.sync ? "now" : "later")) {
    recordUnsafe(fiber, state.metrics?.sent, 1)
    admitted?.()
    return Effect.void
  }
  return awaitRoom(state, fiber, module, message, admitted)
}

// The module found when the wait starts may be another one of that name (cleaned up and added again).
// A function of its own, as are the other closures of send and receive: a function that makes a
// closure over its parameters allocates a context for them on every call, whichever branch it takes,
// and a send or a receive that completes at once then allocated one (measured: 63 bytes a send, 48 a
// receive).
const awaitRoom = (
  state: BeehiveState,
  fiber: Fiber.Fiber<unknown, unknown>,
  module: string,
  message: Message,
  admitted: (() => void) | undefined
): Effect.Effect<void, MessageEncodeError | ModuleNotFound | ModuleClosed | BeehiveShutdown> =>
  awaitArm(
    state.armed(module, "send", (e): Arm<void, MessageEncodeError | ModuleClosed> => {
      const refusedThere = e.refuse?.(message)
      if (refusedThere !== undefined) return () => Exit.fail(refusedThere)
      const offer = countAccepted(state, fiber, e.armOffer(message, "later"))
      return admitted === undefined ? offer : onSuccess(offer, admitted)
    })
  )

/**
 * `receive` (R-RECV-*).
 *
 * @category constructors
 */
// A message taken for the caller goes back to its mailbox if the caller is stopped before it
// leaves `receive` (R-RECV-4): see `handOff`.
export const makeReceive = (state: BeehiveState): BeehiveService["receive"] => {
  const body = (
    fiber: Fiber.Fiber<unknown, unknown>,
    module: string,
    _: undefined
  ): Effect.Effect<Message, InvalidArgument | ModuleNotFound | ModuleClosed | BeehiveShutdown> => {
    if (!isName(module)) return invalidOf(checkName("receive", "module name", module))
    const endpoint = state.isShutdown ? undefined : state.modules.get(module)
    if (endpoint === undefined) return Effect.fail(state.unavailable(module, "receive"))
    giveBackHeld(fiber)
    const message = endpoint.takeNow()
    if (message === undefined) return awaitReceive(state, fiber, module)
    const metrics = state.metrics
    // Counted as it reaches the caller: a message given back was not received (R-OBS-2, R-RECV-4).
    return handOff(
      fiber,
      message,
      endpoint.giveBack ?? ignore,
      metrics === undefined ? undefined : countReceived(fiber, metrics, 1)
    )
  }
  const receive = operation("beehive.receive", moduleAttributes, body)
  return (module) => observeWith(receive, module, undefined, undefined)
}

// The message a wait is handed reaches the caller in the operation after the wait: no step comes in
// between where the fiber could be stopped with it. Counting it takes a step of its own, so with
// metrics on it is handed over as a taken message is, and counted there.
const awaitReceive = (state: BeehiveState, fiber: Fiber.Fiber<unknown, unknown>, module: string) => {
  const metrics = state.metrics
  if (metrics === undefined) return awaitArm(state.armed(module, "receive", (e) => e.armTake()))
  let waitedOn: Endpoint | undefined
  const waited = awaitArm(
    state.armed(module, "receive", (e) => {
      waitedOn = e
      return e.armTake()
    })
  )
  return Effect.flatMap(waited, (message) =>
    handOff(fiber, message, waitedOn?.giveBack ?? ignore, countReceived(fiber, metrics, 1))
  )
}

// `arm`, counting its message as sent the moment it is accepted (R-OBS-2): a copy accepted stays
// delivered even when the operation that offered it ends interrupted (R-SEND-3, R-GROUP-5).
const countAccepted = <E>(
  state: BeehiveState,
  fiber: Fiber.Fiber<unknown, unknown>,
  arm: Arm<void, E>
): Arm<void, E> => {
  const metrics = state.metrics
  if (metrics === undefined) return arm
  return onSuccess(arm, () => recordUnsafe(fiber, metrics.sent, 1))
}

/**
 * `sendToGroup` (R-GROUP-*).
 *
 * @category constructors
 */
export const makeSendToGroup =
  (state: BeehiveState): BeehiveService["sendToGroup"] =>
  (group, message) =>
    observe(
      "beehive.sendToGroup",
      () => ({ "beehive.group": String(group), "beehive.message.id": message?.header?.id }),
      (fiber) => {
        // The finalizer is in place before any copy is offered: copies are withdrawn on every exit.
        let withdraw: Cancel | undefined
        return Effect.onExit(
          Effect.suspend(
            (): Effect.Effect<
              GroupSendResult,
              InvalidArgument | MessageEncodeError | GroupNotFound | BeehiveShutdown
            > => {
              const invalid = firstInvalid(
                checkName("sendToGroup", "group name", group),
                checkMessage("sendToGroup", "message", message)
              )
              if (invalid !== undefined) return invalid
              if (state.isShutdown) return state.refused("sendToGroup")
              const endpoints = state.membersOf(group)
              if (endpoints === undefined) return Effect.fail(new GroupNotFound({ group }))
              // All or nothing: no copy is offered if one member cannot carry the message (R-SOCK-2).
              const refusedByOne = refusal(endpoints, message)
              if (refusedByOne !== undefined) return Effect.fail(refusedByOne)
              // Every copy is offered in the step that read the group: members with room take it (a
              // member cleaned up later has it in its report), full members hold it in line from this
              // step; only a copy that waits can find its member gone (R-GLOBAL-6).
              const [offered, withdrawCopies] = armNow(
                all(endpoints.map((e) => countAccepted(state, fiber, e.armOffer(message, "later"))))
              )
              withdraw = withdrawCopies
              return Effect.flatMap(awaitArm(offered), (outcomes) => {
                const delivered: Array<string> = []
                const gone: Array<string> = []
                for (let i = 0; i < outcomes.length; i++) {
                  const outcome = outcomes[i] as Exit.Exit<void, ModuleClosed>
                  // Only a member that closed is gone; a copy its context could not take at all (after
                  // `refuse` let it through) is a defect of the call.
                  const module = (endpoints[i] as Endpoint).module
                  if (Exit.isSuccess(outcome)) delivered.push(module)
                  else if (Cause.hasDies(outcome.cause)) return Effect.die(Cause.squash(outcome.cause))
                  else gone.push(module)
                }
                return Effect.succeed({ delivered, gone })
              })
            }
          ),
          () => Effect.sync(() => withdraw?.())
        )
      }
    )
