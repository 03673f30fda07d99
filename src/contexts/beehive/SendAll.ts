/**
 * `sendAll` in the global context (R-SEND-5): many messages to one module, in order, as consecutive
 * sends of one fiber, built on the endpoint's `offerNow` and `armOffer` so it works for every context
 * type. Every message that is accepted at once is offered in one step; only a full mailbox makes it
 * wait, one message at a time.
 *
 * @since 0.3.0
 * @internal
 */
import { Effect, type Fiber } from "effect"
import { awaitArm } from "../../effects/Deadline.ts"
import { observe, recordUnsafe } from "../../effects/Observability.ts"
import { checkMessages, checkName, isMessages, isName } from "../../model/Arguments.ts"
import {
  type BeehiveShutdown,
  type InvalidArgument,
  type MessageEncodeError,
  type ModuleNotFound,
  SendAllClosed
} from "../../model/Errors.ts"
import type { Message } from "../../model/Message.ts"
import type { BeehiveService } from "../BeehiveService.ts"
import type { Endpoint } from "../ModuleContext.ts"
import type { BeehiveState } from "./BeehiveState.ts"
import { invalidOf } from "./Checks.ts"

/**
 * Offers `messages` from index `from` on: at once while they are accepted, then waiting for room.
 * `owned`: the array is a copy of the caller's, made at the first wait, so that what the caller does
 * with its array meanwhile changes nothing.
 */
const offerFrom = (
  state: BeehiveState,
  fiber: Fiber.Fiber<unknown, unknown>,
  endpoint: Endpoint,
  given: ReadonlyArray<Message>,
  from: number,
  owned: boolean
): Effect.Effect<number, SendAllClosed> => {
  let next = from
  while (next < given.length && endpoint.offerNow(given[next] as Message, "later")) next++
  recordUnsafe(fiber, state.metrics?.sent, next - from)
  if (next === given.length) return Effect.succeed(next)
  const messages = owned ? given : given.slice()
  const accepted = next
  // The module found at the start, closed or full: a closed one fails the wait at once (R-SEND-5).
  return Effect.matchEffect(awaitArm(endpoint.armOffer(messages[accepted] as Message, "later")), {
    onFailure: () => Effect.fail(new SendAllClosed({ module: endpoint.module, accepted, total: messages.length })),
    // Admitted "later", this fiber resumes after the receiver that made room has taken what it could:
    // it finds that room and fills it in one step, instead of one message, and one wait, at a time.
    onSuccess: () => {
      recordUnsafe(fiber, state.metrics?.sent, 1)
      return offerFrom(state, fiber, endpoint, messages, accepted + 1, true)
    }
  })
}

/**
 * `sendAll` (R-SEND-5).
 *
 * @category constructors
 */
export const makeSendAll =
  (state: BeehiveState): BeehiveService["sendAll"] =>
  (module, messages) =>
    observe(
      "beehive.sendAll",
      () => ({ "beehive.module": String(module), "beehive.messages": Array.isArray(messages) ? messages.length : 0 }),
      (
        fiber
      ): Effect.Effect<
        number,
        InvalidArgument | MessageEncodeError | ModuleNotFound | SendAllClosed | BeehiveShutdown
      > => {
        if (!(isName(module) && isMessages(messages)))
          return invalidOf(checkName("sendAll", "module name", module), checkMessages("sendAll", "messages", messages))
        const endpoint = state.isShutdown ? undefined : state.modules.get(module)
        if (endpoint === undefined) return Effect.fail(state.unavailable(module, "sendAll"))
        // All or nothing: no message is offered if the module cannot carry one of them (R-SOCK-2).
        // Called on the endpoint: a remote module's `refuse` is a method (detached, it threw a TypeError,
        // so sendAll to any remote module failed with a defect until a NATS property sent with it).
        if (endpoint.refuse !== undefined)
          for (const message of messages) {
            const refused = endpoint.refuse(message)
            if (refused !== undefined) return Effect.fail(refused)
          }
        return offerFrom(state, fiber, endpoint, messages, 0, false)
      }
    )
