/**
 * How a delivery that a context type made through `ContextHostService.deliver` ended, for the
 * message it took in from elsewhere (R-API-5, R-SOCK-10, R-NATS-2).
 *
 * @since 0.2.0
 * @internal
 */
import { Cause, Exit } from "effect"
import { ProcessEndingReason } from "./ContextHost.ts"

/**
 * Why a message was not delivered: `reason` to report; `error` the typed error `send` failed with
 * (ModuleNotFound, ModuleClosed, BeehiveShutdown), undefined when a stop cut the wait.
 *
 * @category models
 */
export interface Undelivered {
  readonly reason: string
  readonly error: Error | undefined
}

/**
 * Undefined when the message is the module's: delivered, or admitted as a stop cut the wait (`admitted`
 * is what `deliver` reported); else why not: the process's end for a cut wait, or `send`'s failure.
 *
 * @category constructors
 */
export const undelivered = (exit: Exit.Exit<unknown, unknown>, admitted: boolean): Undelivered | undefined => {
  if (Exit.isSuccess(exit) || admitted) return undefined
  if (Cause.hasInterruptsOnly(exit.cause)) return { reason: ProcessEndingReason, error: undefined }
  const error = Cause.squash(exit.cause) as Error
  return { reason: error.message, error }
}
