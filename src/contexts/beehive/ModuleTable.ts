/**
 * The module table and the groups of the global context: `addModule`, `addModuleGroup` and
 * `snapshot`. A module is in the table from the step its endpoint is registered to the step a
 * cleanup removes it (`Cleanup.ts`); a group exists while it has members.
 *
 * @since 0.3.0
 * @internal
 */
import { Effect, Result } from "effect"
import { observe } from "../../effects/Observability.ts"
import { checkCapacity, checkName, checkOptions } from "../../model/Arguments.ts"
import { ContextTypeChannel } from "../../model/Constants.ts"
import {
  type BeehiveShutdown,
  type InvalidArgument,
  ModuleAlreadyExists,
  ModuleNotFound,
  UnknownContextType
} from "../../model/Errors.ts"
import type { AddModuleOptions, BeehiveService } from "../BeehiveService.ts"
import type { BeehiveState } from "./BeehiveState.ts"
import { firstInvalid } from "./Checks.ts"

/**
 * `addModule` (R-MOD-1, R-MOD-2): opens the module's endpoint with its context type and registers it.
 *
 * @category constructors
 */
export const makeAddModule =
  (state: BeehiveState): BeehiveService["addModule"] =>
  (name, given) =>
    observe(
      "beehive.addModule",
      () => ({ "beehive.module": String(name), "beehive.context_type": given?.contextType ?? ContextTypeChannel }),
      (): Effect.Effect<void, InvalidArgument | ModuleAlreadyExists | UnknownContextType | BeehiveShutdown> => {
        const checkedOptions = checkOptions("addModule", given)
        if (Result.isFailure(checkedOptions)) return Effect.fail(checkedOptions.failure)
        const addOptions: AddModuleOptions = checkedOptions.success ?? {}
        const invalid = firstInvalid(
          checkName("addModule", "module name", name),
          addOptions.capacity === undefined ? Result.void : checkCapacity("addModule", addOptions.capacity),
          addOptions.contextType === undefined
            ? Result.void
            : checkName("addModule", "context type", addOptions.contextType)
        )
        if (invalid !== undefined) return invalid
        if (state.isShutdown) return state.refused("addModule")
        const contextType = addOptions.contextType ?? ContextTypeChannel
        const context = state.contexts.get(contextType)
        if (context === undefined) return Effect.fail(new UnknownContextType({ contextType }))
        if (state.modules.has(name)) return Effect.fail(new ModuleAlreadyExists({ module: name }))
        // Only the opening can be interrupted: an opened endpoint is registered or closed, never dropped.
        return Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(
            restore(
              context.open(name, {
                capacity: addOptions.capacity ?? state.defaultCapacity,
                onOrphan: (message) => state.onUndeliverable(name, message)
              })
            ),
            (endpoint) =>
              Effect.suspend((): Effect.Effect<void, ModuleAlreadyExists | BeehiveShutdown> => {
                // Opening may have suspended (a socket connects); the name may have been taken meanwhile.
                if (state.isShutdown || state.modules.has(name)) {
                  endpoint.close()
                  return state.isShutdown
                    ? state.refused("addModule")
                    : Effect.fail(new ModuleAlreadyExists({ module: name }))
                }
                state.modules.set(name, endpoint)
                state.memberships.set(name, new Set())
                endpoint.registered?.()
                return Effect.void
              })
          )
        )
      }
    )

/**
 * `addModuleGroup` (R-MOD-3).
 *
 * @category constructors
 */
export const makeAddModuleGroup =
  (state: BeehiveState): BeehiveService["addModuleGroup"] =>
  (module, group) =>
    observe(
      "beehive.addModuleGroup",
      () => ({ "beehive.module": String(module), "beehive.group": String(group) }),
      (): Effect.Effect<void, InvalidArgument | ModuleNotFound | BeehiveShutdown> => {
        const invalid = firstInvalid(
          checkName("addModuleGroup", "module name", module),
          checkName("addModuleGroup", "group name", group)
        )
        if (invalid !== undefined) return invalid
        if (state.isShutdown) return state.refused("addModuleGroup")
        const joined = state.memberships.get(module)
        if (joined === undefined) return Effect.fail(new ModuleNotFound({ module }))
        joined.add(group)
        let members = state.groups.get(group)
        if (members === undefined) {
          members = new Set()
          state.groups.set(group, members)
        }
        members.add(module)
        return Effect.void
      }
    )

/**
 * `snapshot`: the module table, the groups and the pending calls at one instant.
 *
 * @category constructors
 */
export const makeSnapshot = (state: BeehiveState): BeehiveService["snapshot"] =>
  Effect.sync(() => ({
    modules: [...state.modules].map(([name, endpoint]) => ({
      name,
      contextType: endpoint.contextType,
      // Every module in the table has its memberships: both are set and deleted in one step.
      groups: [...(state.memberships.get(name) as ReadonlySet<string>)],
      queued: endpoint.queued,
      waitingReceivers: endpoint.waitingReceivers,
      waitingSenders: endpoint.waitingSenders
    })),
    groups: new Map([...state.groups].map(([group, members]) => [group, [...members]])),
    pendingCalls: state.calls.ids(),
    isShutdown: state.isShutdown
  }))
