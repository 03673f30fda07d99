/**
 * How a context type is plugged into a global context: `ContextHostService.plug` (R-API-5).
 *
 * @since 0.3.0
 * @internal
 */
import { Effect, Result } from "effect"
import { checkName } from "../../model/Arguments.ts"
import { BeehiveShutdown, InvalidArgument } from "../../model/Errors.ts"
import type { ContextHostService, ContextType } from "../ContextHost.ts"
import type { ModuleContext } from "../ModuleContext.ts"
import type { BeehiveState } from "./BeehiveState.ts"

/** Whether `context` is a context type this package can open endpoints with. */
const isModuleContext = (context: unknown): context is ModuleContext =>
  typeof context === "object" &&
  context !== null &&
  typeof (context as ModuleContext).open === "function" &&
  ((context as ModuleContext).forwardResponse === undefined ||
    typeof (context as ModuleContext).forwardResponse === "function")

/**
 * Plugs `context` in, in the caller's step; returns why it cannot be, if it cannot (R-API-5).
 *
 * @category constructors
 */
export const plugNow = (state: BeehiveState, context: ContextType): InvalidArgument | BeehiveShutdown | undefined => {
  if (!isModuleContext(context))
    return new InvalidArgument({
      operation: "plug",
      argument: "context",
      reason: "expected a context type of beehive-effect (a type name and a way to open endpoints)"
    })
  const type = checkName("plug", "context type", context.type)
  if (Result.isFailure(type)) return type.failure
  if (state.isShutdown) return new BeehiveShutdown({ operation: "plug" })
  if (state.contexts.has(type.success))
    return new InvalidArgument({
      operation: "plug",
      argument: "context type",
      reason: `a context type named "${type.success}" is plugged in already`
    })
  state.contexts.set(type.success, context)
  if (context.forwardResponse !== undefined) state.forwarders.push(context)
  return undefined
}

/**
 * `ContextHostService.plug`.
 *
 * @category constructors
 */
export const makePlug =
  (state: BeehiveState): ContextHostService["plug"] =>
  (context) =>
    Effect.suspend(() => {
      const refused = plugNow(state, context)
      return refused === undefined ? Effect.void : Effect.fail(refused)
    })
