import { Effect, Layer, type Scope } from "effect"
import { TestClock } from "effect/testing"
import { it } from "vitest"
import { Beehive, type BeehiveOptions } from "../../src/contexts/Beehive.ts"

/**
 * `it` for an Effect body: runs it scoped, with a fresh `Beehive` (options as given) and effect's
 * `TestClock`, so time moves only through `TestClock.adjust`.
 */
export const itEffect = (
  name: string,
  body: () => Effect.Effect<unknown, unknown, Beehive | Scope.Scope>,
  options: { readonly beehive?: BeehiveOptions; readonly timeout?: number } = {}
) =>
  it(
    name,
    () =>
      Effect.runPromise(
        Effect.scoped(body()).pipe(
          Effect.provide(Layer.merge(Beehive.layerWith(options.beehive ?? {}), TestClock.layer()))
        ) as Effect.Effect<unknown, unknown, never>
      ),
    options.timeout
  )
