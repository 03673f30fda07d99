/**
 * R-SOCK-8's bound on what deliveries keep, as a property over the in-memory network: a client sends
 * to `n` modules of a server, in rounds. A destination's delivery fiber that has delivered everything
 * waits for that destination's next message (so a steady stream forks no fiber per read) only while
 * fewer than `maxParkedDeliveries` of the context wait: after each round exactly min(n, that bound)
 * wait (`waitingDeliveries`), however many destinations; every message is received once and in
 * order, those that found their fiber waiting and those that started one; and once both contexts
 * have ended, no fiber of theirs is left, waiting or not: Effect's own count of live fibers
 * (`Metric.enableRuntimeMetricsLayer`, the gauge `child_fibers_active`) is back where it started. A
 * destination that is no module here never has a fiber wait for it: a peer naming ever new (and long)
 * destinations would otherwise keep up to `maxParkedDeliveries` of them, names and all (until a
 * property sent to such destinations, it did: 64 names as long as a frame).
 */
import { Effect, Exit, Metric, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { maxParkedDeliveries } from "../../src/contexts/socket/Deliveries.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { makeSide, run } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"
import { handshakeLine, rawPeer } from "../support/rawPeer.ts"

const address = unix("/parked/server.sock")

const liveFibers = Effect.map(
  Metric.snapshot,
  (metrics) =>
    (metrics.find((m) => m.id === "child_fibers_active")?.state as { value?: number } | undefined)?.value ?? 0
)

/** Waits until `count` reads `expected` (a fiber parks or ends in steps of its own); fails after 2 s. */
const awaitCount = (count: Effect.Effect<number>, expected: number, what: string) =>
  Effect.gen(function* () {
    const deadline = performance.now() + 2000
    for (let turn = 0; ; turn++) {
      const now = yield* count
      if (now === expected) return
      if (performance.now() > deadline) return yield* Effect.fail(new Error(`${what}: ${now}, not ${expected}`))
      yield* turn < 50 ? Effect.yieldNow : Effect.sleep("1 millis")
    }
  })

describe("R-SOCK-8 delivery fibers that wait for more are bounded", () => {
  it("R-SOCK-8 R-SEND-4 a client sends to n modules of a server, round after round: min(n, maxParkedDeliveries) delivery fibers wait after each round, every message is received once and in order, and no fiber is left once the contexts end", () =>
    fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: maxParkedDeliveries + 40 }),
        fc.integer({ min: 1, max: 3 }),
        (n, rounds) =>
          run(
            Effect.gen(function* () {
              const network = new MemoryNetwork()
              const modules = Array.from({ length: n }, (_, k) => `D${k}`)
              const atStart = yield* liveFibers
              const serverScope = yield* Scope.make()
              const clientScope = yield* Scope.make()
              const s = yield* makeSide(network.transport).pipe(Scope.provide(serverScope))
              for (const module of modules) yield* s.beehive.addModule(module)
              yield* s.socket.serve({ address, accept: ["X"] }).pipe(Scope.provide(serverScope))
              const c = yield* makeSide(network.transport).pipe(Scope.provide(clientScope))
              yield* c.beehive.addModule("X")
              const client = yield* c.socket.connect({ module: "X", address }).pipe(Scope.provide(clientScope))
              yield* client.connected
              const waiting = Math.min(n, maxParkedDeliveries)
              for (let round = 0; round < rounds; round++) {
                for (const module of modules) yield* c.beehive.send(module, msg(`${module}-${round}`))
                for (const module of modules)
                  expect((yield* s.beehive.receive(module)).header.id).toBe(`${module}-${round}`)
                yield* awaitCount(s.socket.waitingDeliveries, waiting, `delivery fibers waiting after round ${round}`)
              }
              yield* Scope.close(clientScope, Exit.void)
              yield* Scope.close(serverScope, Exit.void)
              yield* awaitCount(liveFibers, atStart, "live fibers once both contexts ended")
            }).pipe(Effect.provide(Metric.enableRuntimeMetricsLayer))
          )
      ),
      fcParams(12)
    ))

  it(
    "R-SOCK-8 R-SOCK-10 a destination that is no module here is reported Undeliverable and no delivery fiber waits for it: after each round, min(n, maxParkedDeliveries) wait for the n modules that exist, whatever else the peer names",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 8 }),
          fc.integer({ min: 1, max: 12 }),
          fc.integer({ min: 1, max: 3 }),
          fc.nat(2000),
          (n, missing, rounds, length) =>
            run(
              Effect.gen(function* () {
                const network = new MemoryNetwork()
                const s = yield* makeSide(network.transport)
                const modules = Array.from({ length: n }, (_, k) => `D${k}`)
                for (const module of modules) yield* s.beehive.addModule(module)
                yield* s.socket.serve({ address, accept: ["X"] })
                const raw = yield* rawPeer(yield* network.transport.connect(address))
                yield* raw.send(handshakeLine("hs", "X", undefined))
                yield* awaitCount(
                  Effect.sync(() => Math.min(raw.received.length, 1)),
                  1,
                  "the handshake answer"
                )
                let sent = 0
                for (let round = 0; round < rounds; round++) {
                  const gone = Array.from({ length: missing }, (_, k) => `gone-${round}-${k}-${"x".repeat(length)}`)
                  for (const destination of [...modules, ...gone])
                    yield* raw.send({
                      header: { msg_id: `${destination.slice(0, 12)}-${round}`, timestamp: 1 },
                      route: { destination },
                      content: round
                    })
                  sent += missing
                  for (const module of modules) expect((yield* s.beehive.receive(module)).content).toBe(round)
                  yield* awaitCount(
                    Effect.sync(() => s.events.filter((e) => e._tag === "Undeliverable").length),
                    sent,
                    `messages to no module reported after round ${round}`
                  )
                  yield* awaitCount(
                    s.socket.waitingDeliveries,
                    Math.min(n, maxParkedDeliveries),
                    `delivery fibers waiting after round ${round}`
                  )
                }
              })
            )
        ),
        fcParams(20)
      ),
    120_000
  )
})
