/**
 * The identity of the module a fiber works for. The registry runs every module's `start` with it
 * set, so `sendResp` called from inside a module is attributed to that module without a `from`.
 *
 * @since 0.1.0
 */
import { Context, Effect } from "effect"

/**
 * The current fiber's module name, or `undefined` outside registry modules.
 *
 * @category references
 */
export const CurrentModule = Context.Reference<string | undefined>("beehive-effect/CurrentModule", {
  defaultValue: () => undefined
})

/**
 * Runs `effect` as module `name`: responses it sends are attributed to `name`.
 *
 * @category combinators
 */
export const asModule =
  (name: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.provideService(effect, CurrentModule, name)
