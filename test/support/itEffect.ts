import { Effect, Layer, type Scope } from "effect"
import { TestClock } from "effect/testing"
import { it } from "vitest"
import { Beehive, type BeehiveOptions } from "../../src/contexts/Beehive.ts"
import type { ContextHost } from "../../src/contexts/ContextHost.ts"
import type { ModuleContext } from "../../src/contexts/ModuleContext.ts"
import { plugAll } from "./contexts.ts"

/**
 * `it` for an Effect body: runs it scoped, with a fresh `Beehive` (options as given, and `contexts`
 * plugged in besides the channel context) and effect's `TestClock`, so time moves only through
 * `TestClock.adjust`.
 */
export const itEffect = (
  name: string,
  body: () => Effect.Effect<unknown, unknown, Beehive | ContextHost | Scope.Scope>,
  options: {
    readonly beehive?: BeehiveOptions
    readonly contexts?: ReadonlyArray<ModuleContext>
    readonly timeout?: number
  } = {}
) =>
  it(
    name,
    () =>
      Effect.runPromise(
        Effect.scoped(options.contexts === undefined ? body() : Effect.andThen(plugAll(options.contexts), body())).pipe(
          Effect.provide(Layer.merge(Beehive.layerWith(options.beehive ?? {}), TestClock.layer()))
        ) as Effect.Effect<unknown, unknown, never>
      ),
    options.timeout
  )
