/**
 * A server's connection limits (R-SOCK-13) as a property: peers connect and leave in a generated
 * order, some identifying themselves with a handshake, some staying silent. The oracle is SPEC.md's
 * rule, kept as a model: a connection that comes while `maxConnections` identified ones are held is
 * refused at once; one more than `maxHandshaking` connections still handshaking closes the oldest of
 * them; a connection that ends, silent or identified, frees its place. After every step the server
 * holds exactly the model's connections, and it has refused exactly the model's, each for its reason
 * and once (a connection closed for the budget is not reported again when its handshake ends, nor
 * are the connections a server's close ends).
 */
import { Duration, Effect, References, type Scope } from "effect"
import fc from "fast-check"
import { describe, it } from "vitest"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import type { Connection } from "../../src/contexts/socket/Transport.ts"
import { makeSide, waitForEffect } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { type RawPeer, rawPeer } from "../support/rawPeer.ts"

type Step =
  | { readonly kind: "silent" }
  | { readonly kind: "client" }
  | { readonly kind: "leaveSilent"; readonly index: number }
  | { readonly kind: "leaveClient"; readonly index: number }

const arbStep: fc.Arbitrary<Step> = fc.oneof(
  fc.constant({ kind: "silent" as const }),
  fc.constant({ kind: "client" as const }),
  fc.nat(5).map((index) => ({ kind: "leaveSilent" as const, index })),
  fc.nat(5).map((index) => ({ kind: "leaveClient" as const, index }))
)

const handshake = (module: string) => ({
  header: { msg_id: `hs-${module}`, timestamp: 1, sync: true, type: "unixpacket" },
  route: { source: module, operation: "add", resource: "module" },
  content: ""
})

/** SPEC.md's rule: what the server holds, and what it refused, for each reason. */
interface Model {
  readonly silent: Array<number>
  readonly clients: Array<number>
  refusedFull: number
  evicted: number
  /** Silent peers that left before identifying: each a failed handshake, reported once. */
  leftSilent: number
}

const connectTo = (model: Model, maxConnections: number, maxHandshaking: number): boolean => {
  if (model.clients.length >= maxConnections) {
    model.refusedFull++
    return false
  }
  if (model.silent.length >= maxHandshaking) {
    model.silent.shift()
    model.evicted++
  }
  return true
}

describe("R-SOCK-13 connection limits", () => {
  it("R-SOCK-13 identified connections are capped by maxConnections, handshaking ones by maxHandshaking (the oldest making room), and a connection that ends frees its place", () =>
    fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(arbStep, { minLength: 1, maxLength: 14 }),
        (maxConnections, maxHandshaking, steps) =>
          Effect.runPromise(
            Effect.scoped(
              Effect.gen(function* () {
                const network = new MemoryNetwork()
                const address = unix("/limits")
                const names = steps.map((_, i) => `client${i}`)
                const side = yield* makeSide(network.transport)
                const server = yield* side.socket.serve({
                  address,
                  accept: names,
                  maxConnections,
                  maxHandshaking,
                  handshakeTimeout: Duration.minutes(5)
                })
                const model: Model = { silent: [], clients: [], refusedFull: 0, evicted: 0, leftSilent: 0 }
                const silent = new Map<number, Connection>()
                const clients = new Map<number, RawPeer>()
                const refusals = (reason: string) =>
                  side.events.filter((e) => e._tag === "Refused" && e.reason.startsWith(reason)).length
                const held = () =>
                  waitForEffect(
                    server.connections,
                    (n) =>
                      n === model.silent.length + model.clients.length &&
                      refusals("connection limit") === model.refusedFull &&
                      refusals("handshake budget") === model.evicted &&
                      // Each refusal is reported once, whatever it leads to afterwards.
                      refusals("") === model.refusedFull + model.evicted + model.leftSilent,
                    "the model's connections",
                    2000
                  )
                for (const [id, step] of steps.entries()) {
                  if (step.kind === "silent") {
                    const connection = yield* network.transport.connect(address)
                    silent.set(id, connection)
                    if (connectTo(model, maxConnections, maxHandshaking)) model.silent.push(id)
                  } else if (step.kind === "client") {
                    const peer: RawPeer = yield* rawPeer(yield* network.transport.connect(address))
                    if (connectTo(model, maxConnections, maxHandshaking)) {
                      // Counted as handshaking from its accept until its handshake is answered.
                      model.silent.push(id)
                      yield* held()
                      yield* peer.send(handshake(names[id] as string))
                      yield* waitForEffect(
                        Effect.sync(() => peer.received.length),
                        (n) => n > 0,
                        "the handshake's answer",
                        2000
                      )
                      model.silent.splice(model.silent.indexOf(id), 1)
                      model.clients.push(id)
                      clients.set(id, peer)
                    }
                  } else if (step.kind === "leaveSilent" && model.silent.length > 0) {
                    const [gone] = model.silent.splice(step.index % model.silent.length, 1)
                    model.leftSilent++
                    yield* (silent.get(gone as number) as Connection).close
                  } else if (step.kind === "leaveClient" && model.clients.length > 0) {
                    const [gone] = model.clients.splice(step.index % model.clients.length, 1)
                    yield* (clients.get(gone as number) as RawPeer).connection.close
                  }
                  yield* held()
                }
                // Closing the server closes what it holds: no refusal, none reported.
                const before = refusals("")
                yield* server.close
                yield* Effect.sleep(5)
                if (refusals("") !== before)
                  throw new Error(`closing the server reported ${refusals("") - before} refusals`)
              }) as Effect.Effect<void, unknown, Scope.Scope>
            ).pipe(Effect.provideService(References.MinimumLogLevel, "Error"))
          )
      ),
      fcParams(40)
    ))
})
