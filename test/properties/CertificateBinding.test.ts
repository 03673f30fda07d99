/**
 * Module names bound to client certificates (R-SOCK-6) as a property: clients claim module names one
 * after another, each with the names of a verified certificate (or none), against a server with a
 * generated accept list and binding (none, "subject", or a record). The transport is the in-memory
 * network with each accepted connection given the certificate names the script says, so the
 * property runs the server's decision for every combination, quickly; the names' extraction from
 * real certificates is R-SOCK-15's property (Transport.test.ts).
 *
 * SPEC's verdict: a claim of a name the server does not accept is refused; with a binding, a claim is
 * refused unless the certificate carries a name allowed for the module ("subject": the module's own
 * name; a record: the names it lists for the module, or the module's own name when it lists none);
 * without one, any accepted name may be claimed. A refused claim leaves connected modules connected;
 * an accepted one takes a connected name over.
 */
import { Effect, Exit, References } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { makeSide } from "../socket/support.ts"
import { certifiedTransport } from "../support/certifiedTransport.ts"
import { fcParams } from "../support/fc.ts"

// Names an object or a string already has as keys ("toString", "0", "length") are module names like any
// other: a binding is looked up by the record's own keys only.
const modules = ["edged", "twin", "hub", "toString", "constructor", "0", "length"] as const
const certificateName = fc.constantFrom("edged", "twin", "hub", "node-7", "ops", "toString", "0", "s")

type Binding = undefined | "subject" | Readonly<Record<string, ReadonlyArray<string>>>

const arbBinding: fc.Arbitrary<Binding> = fc.oneof(
  fc.constant(undefined),
  fc.constant("subject" as const),
  fc
    .dictionary(fc.constantFrom(...modules), fc.array(certificateName, { maxLength: 2 }), { maxKeys: 3 })
    .map((record) => ({ ...record }))
)

interface Claim {
  readonly module: string
  /** The verified certificate's names; undefined: no certificate. */
  readonly names: ReadonlyArray<string> | undefined
}

const arbClaim: fc.Arbitrary<Claim> = fc.record({
  module: fc.constantFrom(...modules),
  names: fc.option(fc.uniqueArray(certificateName, { maxLength: 3 }), { nil: undefined })
})

/** SPEC.md's verdict on one claim. */
const allowed = (claim: Claim, accept: ReadonlyArray<string>, binding: Binding): boolean => {
  if (!accept.includes(claim.module)) return false
  if (binding === undefined) return true
  const names = new Set(claim.names ?? [])
  if (binding === "subject") return names.has(claim.module)
  const listed = Object.entries(binding).find(([module]) => module === claim.module)
  return listed === undefined ? names.has(claim.module) : listed[1].some((name) => names.has(name))
}

describe("R-SOCK-6 module names bound to client certificates", () => {
  it("R-SOCK-6 a claim is accepted exactly when the server accepts the name and, with a binding, the certificate carries a name allowed for it; a refused claim disconnects no one", () =>
    fc.assert(
      fc.asyncProperty(
        fc.subarray([...modules] as Array<string>),
        arbBinding,
        fc.array(arbClaim, { minLength: 1, maxLength: 5 }),
        (accept, binding, claims) =>
          Effect.runPromise(
            Effect.scoped(
              Effect.gen(function* () {
                const network = new MemoryNetwork()
                // The server's connections carry, in order of arrival, the certificate names the claims give.
                const verified = certifiedTransport(
                  network.transport,
                  claims.map((claim) => claim.names)
                )
                const server = yield* makeSide(verified)
                const address = unix("bound")
                yield* server.socket.serve({ address, accept, certificateNames: binding })
                const connected = new Set<string>()
                for (const [i, claim] of claims.entries()) {
                  const client = yield* makeSide(verified)
                  yield* client.beehive.addModule(claim.module)
                  const c = yield* client.socket.connect({ module: claim.module, address, maxAttempts: 1 })
                  const exit = yield* Effect.exit(c.connected)
                  const want = allowed(claim, accept, binding)
                  expect(Exit.isSuccess(exit), `claim ${i}: ${JSON.stringify(claim)}`).toBe(want)
                  if (want) connected.add(claim.module)
                  // The server's connections settle (a taken-over one closes) before they are counted.
                  for (let turn = 0; turn < 20; turn++) yield* Effect.yieldNow
                  const now = (yield* server.socket.connections).flatMap((info) => info.modules).sort()
                  expect(now, `connected after claim ${i}`).toEqual([...connected].sort())
                }
              })
            ).pipe(Effect.provideService(References.MinimumLogLevel, "None"))
          )
      ),
      fcParams(200)
    ))
})
