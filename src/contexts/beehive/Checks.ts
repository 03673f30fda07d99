/**
 * The argument checks the global context's operations share (R-API-3), as they fail an operation.
 *
 * @since 0.3.0
 * @internal
 */
import { Effect, Result } from "effect"
import { checkMessage, checkName, checkTimeout } from "../../model/Arguments.ts"
import type { InvalidArgument, MessageEncodeError } from "../../model/Errors.ts"
import type { Message } from "../../model/Message.ts"
import type { Endpoint } from "../ModuleContext.ts"

/** The first argument check that failed, if any. */
export const firstInvalid = (
  ...checks: ReadonlyArray<Result.Result<unknown, InvalidArgument>>
): Effect.Effect<never, InvalidArgument> | undefined => {
  for (const check of checks) if (Result.isFailure(check)) return Effect.fail(check.failure)
  return undefined
}

/**
 * The first failed check, for a call whose fast check already failed (send, receive and sendResp test
 * their arguments without allocating, and describe a refusal only when there is one). The checks
 * disagreeing with the fast check would be a bug.
 *
 * @category getters
 */
export const invalidOf = (
  ...checks: ReadonlyArray<Result.Result<unknown, InvalidArgument>>
): Effect.Effect<never, InvalidArgument> =>
  firstInvalid(...checks) ?? Effect.die(new Error("an argument failed its fast check but passed its full check"))

/** The arguments of a sync call, checked in order; its timeout in ms when they pass. @category getters */
export const checkCall = (
  operation: string,
  targetArgument: string,
  target: unknown,
  message: unknown,
  timeout: unknown
): Result.Result<number, InvalidArgument> => {
  const name = checkName(operation, targetArgument, target)
  if (Result.isFailure(name)) return Result.fail(name.failure)
  const request = checkMessage(operation, "message", message)
  return Result.isFailure(request) ? Result.fail(request.failure) : checkTimeout(operation, timeout)
}

/** Why one of `endpoints` cannot carry `message` (R-SOCK-2), if one cannot. @category getters */
export const refusal = (endpoints: ReadonlyArray<Endpoint>, message: Message): MessageEncodeError | undefined => {
  for (const endpoint of endpoints) {
    const refused = endpoint.refuse?.(message)
    if (refused !== undefined) return refused
  }
  return undefined
}

/** Does nothing: the default of optional callbacks. @category constructors */
export const ignore = (): void => {}
