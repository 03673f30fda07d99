import { Effect, type Scope } from "effect"
import { type BeehiveOptions, type BeehiveService, makeHost } from "../../src/contexts/Beehive.ts"
import { ContextHost } from "../../src/contexts/ContextHost.ts"
import type { ModuleContext } from "../../src/contexts/ModuleContext.ts"
import type { BeehiveShutdown, InvalidArgument } from "../../src/model/Errors.ts"

/** Plugs `contexts` into the global context of the `ContextHost` in context, in order (R-API-5). */
export const plugAll = (
  contexts: ReadonlyArray<ModuleContext>
): Effect.Effect<void, InvalidArgument | BeehiveShutdown, ContextHost> =>
  Effect.flatMap(ContextHost, (host) => Effect.forEach(contexts, host.plug, { discard: true }))

/** A global context (options as given) with `contexts` plugged in besides the channel context. */
export const makeBeehiveWith = (
  contexts: ReadonlyArray<ModuleContext>,
  options: BeehiveOptions = {}
): Effect.Effect<BeehiveService, InvalidArgument | BeehiveShutdown, Scope.Scope> =>
  Effect.gen(function* () {
    const host = yield* makeHost(options)
    yield* plugAll(contexts).pipe(Effect.provideService(ContextHost, host))
    return host.beehive
  })
