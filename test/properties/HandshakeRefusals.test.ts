/**
 * What a refused handshake tells both ends (R-SOCK-6), as a property: clients claim module names one
 * after another against a server with generated local modules, accept list, takeover policy and
 * certificate binding; each accepted connection carries the certificate names the script gives it
 * (the in-memory network, wrapped, as in CertificateBinding.test.ts, which checks which claims are
 * accepted). Every refused claim must be answered with an error response naming the reason: the
 * server reports `Refused` with a reason that names the module and a cause that applies to the
 * claim, and the client's failure carries that same reason (the error response reached it; a
 * connection merely closed would say nothing). The causes: a name the server does not accept; a
 * name one of its own modules has; a name connected already under `takeover: "first"`; with a
 * binding, no verified certificate (the reason says one is needed) or a certificate that does not
 * cover the name (the reason lists the certificate's names).
 *
 * The oracle is SPEC.md's list of refusals; which of several applicable causes is named is left to
 * the implementation.
 */
import { Effect, Exit, References } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import type { SocketEvent } from "../../src/contexts/socket/SocketEvents.ts"
import { makeSide } from "../socket/support.ts"
import { certifiedTransport } from "../support/certifiedTransport.ts"
import { fcParams } from "../support/fc.ts"

const names = ["edged", "twin", "hub", "meta"] as const
const certificateName = fc.constantFrom("edged", "twin", "hub", "meta", "ops")

type Binding = undefined | "subject" | Readonly<Record<string, ReadonlyArray<string>>>

const arbBinding: fc.Arbitrary<Binding> = fc.oneof(
  fc.constant(undefined),
  fc.constant("subject" as const),
  fc.dictionary(fc.constantFrom(...names), fc.array(certificateName, { maxLength: 2 }), { maxKeys: 3 })
)

interface Claim {
  readonly module: string
  /** The verified certificate's names; undefined: no certificate. */
  readonly certificate: ReadonlyArray<string> | undefined
}

const arbClaim: fc.Arbitrary<Claim> = fc.record({
  module: fc.constantFrom(...names),
  certificate: fc.option(fc.uniqueArray(certificateName, { minLength: 1, maxLength: 3 }), { nil: undefined })
})

interface Server {
  readonly local: ReadonlyArray<string>
  readonly accept: ReadonlyArray<string>
  readonly takeover: "newest" | "first"
  readonly binding: Binding
}

/** A cause of refusal SPEC names, with what a reason for it must say besides the module. */
type Cause = "not accepted" | "served here" | "connected already" | "no certificate" | "certificate does not cover it"

/** Every cause SPEC gives for refusing this claim, in no particular order; none: the claim is accepted. */
const causesOf = (claim: Claim, server: Server, connected: ReadonlySet<string>): ReadonlyArray<Cause> => {
  const causes: Array<Cause> = []
  if (!server.accept.includes(claim.module)) causes.push("not accepted")
  if (server.local.includes(claim.module)) causes.push("served here")
  if (server.takeover === "first" && connected.has(claim.module)) causes.push("connected already")
  if (server.binding !== undefined) {
    const allowed = server.binding === "subject" ? [claim.module] : (server.binding[claim.module] ?? [claim.module])
    if (claim.certificate === undefined) causes.push("no certificate")
    else if (!claim.certificate.some((name) => allowed.includes(name))) causes.push("certificate does not cover it")
  }
  return causes
}

/** Whether `reason` states `cause` for `claim`: the words a reader needs, not a whole sentence. */
const states = (reason: string, cause: Cause, claim: Claim): boolean => {
  switch (cause) {
    case "not accepted":
      return /not accepted/.test(reason)
    case "served here":
      return /served by this process/.test(reason)
    case "connected already":
      return /connected already/.test(reason)
    case "no certificate":
      return /needs a verified client certificate/.test(reason)
    case "certificate does not cover it":
      // The certificate's names, each a word of its own, so that an operator sees who tried.
      return (
        /certificate/.test(reason) &&
        (claim.certificate ?? []).every((name) => new RegExp(`(^|[^a-z])${name}([^a-z]|$)`).test(reason))
      )
  }
}

describe("R-SOCK-6 a refused handshake is answered with its reason", () => {
  it("R-SOCK-6 every refused claim gets an error response naming the module and a cause that applies (not accepted, served here, connected already, no or another certificate); the server reports it as Refused with the same reason", () =>
    fc.assert(
      fc.asyncProperty(
        fc.record({
          local: fc.subarray([...names] as Array<string>, { maxLength: 2 }),
          accept: fc.subarray([...names] as Array<string>),
          takeover: fc.constantFrom<"newest" | "first">("newest", "first"),
          binding: arbBinding
        }),
        fc.array(arbClaim, { minLength: 1, maxLength: 5 }),
        (server, claims) =>
          Effect.runPromise(
            Effect.scoped(
              Effect.gen(function* () {
                const network = new MemoryNetwork()
                // The server's connections carry, in order of arrival, the certificate names the claims give.
                const verified = certifiedTransport(
                  network.transport,
                  claims.map((claim) => claim.certificate)
                )
                const serving = yield* makeSide(verified)
                for (const module of server.local) yield* serving.beehive.addModule(module)
                const address = unix("refusals")
                yield* serving.socket.serve({
                  address,
                  accept: server.accept,
                  takeover: server.takeover,
                  certificateNames: server.binding
                })
                const connected = new Set<string>()
                for (const [i, claim] of claims.entries()) {
                  const label = `claim ${i}: ${JSON.stringify(claim)}`
                  const seen: Array<SocketEvent> = []
                  const client = yield* makeSide(verified, { onEvent: (event) => void seen.push(event) })
                  yield* client.beehive.addModule(claim.module)
                  // One attempt; a connection taken over later does not come back within the test.
                  const c = yield* client.socket.connect({
                    module: claim.module,
                    address,
                    maxAttempts: 1,
                    backoff: { initial: 600_000, max: 600_000 }
                  })
                  const refusedBefore = serving.events.filter((e) => e._tag === "Refused").length
                  const exit = yield* Effect.exit(c.connected)
                  const causes = causesOf(claim, server, connected)
                  expect(Exit.isSuccess(exit), label).toBe(causes.length === 0)
                  if (causes.length === 0) {
                    connected.add(claim.module)
                    continue
                  }
                  // The server's side: one Refused, naming the module and a cause that applies.
                  for (let turn = 0; turn < 20; turn++) yield* Effect.yieldNow
                  const refused = serving.events.filter((e) => e._tag === "Refused").slice(refusedBefore)
                  expect(refused.length, label).toBe(1)
                  const reason = refused[0]?._tag === "Refused" ? refused[0].reason : ""
                  expect(reason, label).toContain(`"${claim.module}"`)
                  expect(
                    causes.some((cause) => states(reason, cause, claim)),
                    `${label}: "${reason}" states none of ${causes.join(", ")}`
                  ).toBe(true)
                  // The client's side: its failure carries the reason the error response gave.
                  const gaveUp = seen.find((e) => e._tag === "GaveUp")
                  expect(gaveUp?._tag === "GaveUp" ? gaveUp.reason : undefined, label).toContain(reason)
                }
              })
            ).pipe(Effect.provideService(References.MinimumLogLevel, "None"))
          )
      ),
      fcParams(150)
    ))
})
