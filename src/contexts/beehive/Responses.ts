/**
 * Responses: `sendResp` hands a response to the call waiting for its parent id, or to the context type
 * its request came through (R-RESP-*, R-GLOBAL-1).
 *
 * @since 0.3.0
 * @internal
 */
import { Effect, type Fiber, Result } from "effect"
import { CurrentModule } from "../../effects/CurrentModule.ts"
import { observeWith, operation } from "../../effects/Observability.ts"
import { checkMessage, checkName, isMessage, isName } from "../../model/Arguments.ts"
import type { InvalidArgument } from "../../model/Errors.ts"
import type { Message } from "../../model/Message.ts"
import type { BeehiveService } from "../BeehiveService.ts"
import type { BeehiveState } from "./BeehiveState.ts"
import { invalidOf } from "./Checks.ts"

/**
 * `sendResp` (R-RESP-*).
 *
 * @category constructors
 */
export const makeSendResp = (state: BeehiveState): BeehiveService["sendResp"] => {
  // Made once: a response allocates only the effect that hands it over.
  const body = (
    fiber: Fiber.Fiber<unknown, unknown>,
    response: Message,
    from: string | undefined
  ): Effect.Effect<boolean, InvalidArgument> => {
    if (!(isMessage(response) && (from === undefined || isName(from))))
      return invalidOf(
        checkMessage("sendResp", "response", response),
        from === undefined ? Result.void : checkName("sendResp", "responder", from)
      )
    return routeResponse(state, response, from ?? fiber.getRef(CurrentModule)) ? tookIt : nobodyTookIt
  }
  const sendResp = operation("beehive.sendResp", sendRespAttributes, body)
  return (response, from) => observeWith(sendResp, response, from, undefined)
}

// Made once: an effect is a description, and these two are all a response can end in.
const tookIt = Effect.succeed(true)
const nobodyTookIt = Effect.succeed(false)

const sendRespAttributes = (response: Message | undefined, from: string | undefined) => ({
  "beehive.module": from,
  "beehive.message.id": response?.header?.id,
  "beehive.parent.id": response?.header?.parentId
})

/**
 * Hands a response to the call waiting for it, or else to a context type that forwards it to another
 * process (R-GLOBAL-1); true if one took it. Never blocks.
 *
 * @category constructors
 */
export const routeResponse = (state: BeehiveState, response: Message, responder: string | undefined): boolean => {
  if (state.calls.route(response, responder)) return true
  // No call here waits for it: its request may have come from another process (R-GLOBAL-1).
  if (state.calls.get(response.header.parentId) !== undefined || state.isShutdown) return false
  for (const context of state.forwarders) if (context.forwardResponse?.(response, responder)) return true
  return false
}
