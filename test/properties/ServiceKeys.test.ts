/**
 * The public services' keys (R-API-4): every service a program must provide (`Beehive`, `ContextHost`,
 * `Registry`, `ChannelContext`, `SocketContext`, `Transport`) has its own key, `beehive-effect/` and its name, so
 * a program that forgets one fails with a defect that names it, whichever of the others it provides.
 */
import { Cause, Context, Effect, Exit } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Beehive } from "../../src/contexts/Beehive.ts"
import { ChannelContext } from "../../src/contexts/ChannelContext.ts"
import { ContextHost } from "../../src/contexts/ContextHost.ts"
import { Registry } from "../../src/contexts/Registry.ts"
import { SocketContext } from "../../src/contexts/socket/SocketContext.ts"
import { Transport } from "../../src/contexts/socket/Transport.ts"
import { fcParams } from "../support/fc.ts"

const services = [
  ["Beehive", Beehive],
  ["ContextHost", ContextHost],
  ["Registry", Registry],
  ["ChannelContext", ChannelContext],
  ["SocketContext", SocketContext],
  ["Transport", Transport]
] as const

describe("R-API-4 the public services' keys", () => {
  it("R-API-4 a program missing any public service dies naming the service; each service has its own key", () =>
    fc.assert(
      fc.property(fc.constantFrom(...services), fc.subarray([...services]), ([name, service], others) => {
        expect(service.key).toBe(`beehive-effect/${name === "Transport" ? "socket/Transport" : name}`)
        // The other services, provided with dummy values: none of them stands in for the missing one.
        let context = Context.empty()
        for (const [otherName, other] of others)
          if (otherName !== name)
            context = Context.add(context, other as unknown as Context.Key<never, unknown>, {} as never)
        const exit = Effect.runSyncExit(
          Effect.provideContext(
            Effect.gen(function* () {
              yield* service
            }) as Effect.Effect<void>,
            context
          )
        )
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) expect(Cause.pretty(exit.cause)).toContain(service.key)
        expect(new Set(services.map(([, s]) => s.key)).size).toBe(services.length)
      }),
      fcParams(30)
    ))
})
