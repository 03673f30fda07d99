/**
 * A client connected to two servers whose exchanges list some of the same module names (R-SOCK-7):
 * a name is served by the first connection whose exchange lists it (a module declared here before is
 * adopted by it), and the second connection's is skipped (event `ModuleSkipped`): it never takes the
 * name over. What the client sends to a name is delivered by the server that serves it, in order.
 *
 * The oracle is the script (which server lists which name, which connects first) and SPEC's wording.
 */
import { Effect, Exit, Fiber, References, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import { makeSide } from "../socket/support.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"
import { arbPreemption, underPreemption } from "../support/preemption.ts"

const names: ReadonlyArray<string> = ["A", "B", "C"]

describe("R-SOCK-7 module names two servers share", () => {
  it("R-SOCK-7 R-SEND-4 a name two connected servers both list is served by the first connection that lists it, declared or not, joined to that exchange's groups; the second's is skipped, joined to none of its groups, and what is sent to the name reaches the first server, in order", () =>
    fc.assert(
      fc.asyncProperty(
        fc.tuple(fc.subarray([...names]), fc.subarray([...names])),
        fc.subarray([...names]),
        fc.array(fc.constantFrom(...names), { maxLength: 8 }),
        ([first, second], declared, sends) =>
          Effect.runPromise(
            Effect.scoped(
              Effect.gen(function* () {
                const network = new MemoryNetwork()
                const servers = yield* Effect.forEach([first, second], (own, i) =>
                  Effect.gen(function* () {
                    const server = yield* makeSide(network.transport)
                    for (const module of own) {
                      yield* server.beehive.addModule(module)
                      yield* server.beehive.addModuleGroup(module, `g${i}`)
                    }
                    yield* server.socket.serve({ address: unix(`shared-${i}`), accept: ["x"] })
                    return server
                  })
                )
                const client = yield* makeSide(network.transport)
                yield* client.beehive.addModule("x")
                for (const module of declared) yield* client.beehive.addModule(module, { contextType: "socket" })
                for (const i of [0, 1]) {
                  const connection = yield* client.socket.connect({
                    module: "x",
                    address: unix(`shared-${i}`),
                    maxAttempts: 1
                  })
                  yield* connection.connected
                }
                const servedBy = (name: string) => (first.includes(name) ? 0 : second.includes(name) ? 1 : undefined)
                const skipped = client.events.flatMap((e) => (e._tag === "ModuleSkipped" ? [e.module] : []))
                expect(skipped.sort(), "skipped").toEqual(names.filter((n) => first.includes(n) && second.includes(n)))
                const snapshot = yield* client.beehive.snapshot
                for (const name of names) {
                  const served = servedBy(name) !== undefined || declared.includes(name)
                  expect(snapshot.modules.find((m) => m.name === name)?.contextType, name).toBe(
                    served ? "socket" : undefined
                  )
                  // Joined to the groups of the exchange that registered it, never to those of an
                  // exchange that listed it once the name was taken (skipped).
                  const by = servedBy(name)
                  expect(snapshot.modules.find((m) => m.name === name)?.groups, `${name}'s groups`).toEqual(
                    served ? (by === undefined ? [] : [`g${by}`]) : undefined
                  )
                }
                const expected = new Map<string, Array<string>>()
                for (const [i, module] of sends.entries()) {
                  if (servedBy(module) === undefined) continue
                  yield* client.beehive.send(module, msg(`m${i}`))
                  expected.set(module, [...(expected.get(module) ?? []), `m${i}`])
                }
                for (const [module, ids] of expected) {
                  const server = servers[servedBy(module) as number]
                  const received: Array<string> = []
                  for (const _ of ids) received.push((yield* server!.beehive.receive(module)).header.id)
                  expect(received, `what ${module} received from server ${servedBy(module)}`).toEqual(ids)
                }
                // Nothing reached the other server's module of the same name.
                for (const [module] of expected) {
                  const other = servers[1 - (servedBy(module) as number)]
                  if (!first.includes(module) || !second.includes(module)) continue
                  const queued = (yield* other!.beehive.snapshot).modules.find((m) => m.name === module)?.queued
                  expect(queued, `${module} in the server that does not serve it`).toBe(0)
                }
              })
            )
          )
      ),
      fcParams(60)
    ))
})

describe("R-SOCK-7 a declared module added by racing callers", () => {
  it("R-SOCK-7 R-MOD-2 callers racing to declare one socket module under any schedule: one adds it, the others fail with ModuleAlreadyExists, and a connection that lists it adopts the one added, writing what was sent to it", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.nat(),
        arbPreemption([0.3, 0.6]),
        (callers, queued, seed, preemption) =>
          underPreemption(seed, preemption, (strategy) => {
            const sim = new SimRuntime({ strategy })
            const network = new MemoryNetwork()
            const scope = sim.run(Scope.make())
            const quiet = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
              Scope.provide(Effect.provideService(effect, References.MinimumLogLevel, "None"), scope)
            const server = sim.run(quiet(makeSide(network.transport)))
            sim.run(server.beehive.addModule("S"))
            sim.run(quiet(server.socket.serve({ address: unix("declared"), accept: ["x"] })))
            const client = sim.run(quiet(makeSide(network.transport)))
            sim.run(client.beehive.addModule("x"))
            const adds = Array.from({ length: callers }, () =>
              sim.fork(Effect.exit(client.beehive.addModule("S", { contextType: "socket" })))
            )
            sim.settle()
            const exits = adds.map((fiber) => sim.run(Fiber.join(fiber)))
            expect(exits.filter(Exit.isSuccess).length, "callers that added S").toBe(1)
            for (const exit of exits.filter(Exit.isFailure))
              expect(errorOf(exit)).toMatchObject({ _tag: "ModuleAlreadyExists" })
            const ids = Array.from({ length: queued }, (_, i) => `q${i}`)
            for (const id of ids) sim.run(client.beehive.send("S", msg(id)))
            sim.run(quiet(client.socket.connect({ module: "x", address: unix("declared"), maxAttempts: 1 })))
            sim.settle()
            expect(client.events.filter((e) => e._tag === "ModuleSkipped")).toEqual([])
            const received = ids.map(() => sim.run(server.beehive.receive("S")).header.id)
            expect(received).toEqual(ids)
            sim.run(Scope.close(scope, Exit.void))
          })
      ),
      fcParams(200)
    ))
})
