/**
 * A process's socket context ends (its scope closes) while its global context stays, and while
 * messages read from a peer wait for room in a full module (R-SOCK-10, R-API-5): each such message is
 * the module's (received there in the end) or reported `Undeliverable` (the process is ending), never
 * both. A delivery the end cut after the module admitted its message is the module's.
 */
import { Effect, Exit, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { makeHost } from "../../src/contexts/Beehive.ts"
import { ContextHost, ProcessEndingReason } from "../../src/contexts/ContextHost.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { makeSocketContext } from "../../src/contexts/socket/SocketContext.ts"
import type { SocketEvent } from "../../src/contexts/socket/SocketEvents.ts"
import { Transport } from "../../src/contexts/socket/Transport.ts"
import { explore, formatTimeline } from "../../src/testing/Explore.ts"
import type { Scenario } from "../../src/testing/Scenario.ts"
import { makeSide, reportedIds } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"

const address = unix("/context-ends/server.sock")

interface Input {
  readonly sent: number
  readonly capacity: number
  readonly receivers: number
  readonly turnsBeforeEnd: number
}

const contextEnds = (input: Input): Scenario => ({
  name: "socket-context-ends-while-deliveries-wait",
  run: ({ check, quiesce, spawn }) =>
    Effect.gen(function* () {
      const network = new MemoryNetwork(1 << 16)
      // The serving process: its global context outlives its socket context.
      const events: Array<SocketEvent> = []
      const host = yield* Effect.orDie(makeHost())
      const socketScope = yield* Scope.make()
      const socket = yield* makeSocketContext({ onEvent: (e) => events.push(e) }).pipe(
        Effect.provideService(Transport, network.transport),
        Effect.provideService(ContextHost, host),
        Effect.orDie,
        Scope.provide(socketScope)
      )
      yield* host.beehive.addModule("A", { capacity: input.capacity })
      yield* socket.serve({ address, accept: ["X"] }).pipe(Scope.provide(socketScope))
      const c = yield* makeSide(network.transport)
      yield* c.beehive.addModule("X")
      const backoff = { initial: 60_000, max: 60_000, jitter: 0 }
      yield* (yield* c.socket.connect({ module: "X", address, backoff })).connected
      const ids = Array.from({ length: input.sent }, (_, i) => `m${i}`)
      for (const id of ids) yield* c.beehive.send("A", msg(id))
      const received: Array<string> = []
      const receive = Effect.map(host.beehive.receive("A"), (m) => {
        received.push(m.header.id)
      })
      for (let i = 0; i < input.receivers; i++) yield* spawn(`receiver${i}`, Effect.ignore(receive))
      for (let i = 0; i < input.turnsBeforeEnd; i++) yield* Effect.yieldNow
      yield* spawn("end", Scope.close(socketScope, Exit.void))
      yield* quiesce
      // The module stays: what its mailbox holds is received in the end.
      yield* spawn("drain", Effect.forever(receive))
      yield* quiesce
      const undeliverable = reportedIds(events, "Undeliverable")
      for (const id of ids) {
        const times = received.filter((r) => r === id).length + undeliverable.filter((u) => u === id).length
        yield* check(times <= 1, `${id}: received ${received.includes(id)}, reported Undeliverable too`)
      }
      for (const event of events)
        if (event._tag === "Undeliverable")
          yield* check(event.reason === ProcessEndingReason, `reported for the process's end: ${event.reason}`)
    })
})

describe("R-SOCK-10 a socket context ends while deliveries wait", () => {
  it(
    "R-SOCK-10 R-API-5 R-SEND-3 a process's socket context ends (its global context stays) at any point while what it read waits for room in a full module, under any schedule and preemption: each message is the module's or reported Undeliverable (the process is ending), never both",
    () =>
      fc.assert(
        fc.property(
          fc.record({
            sent: fc.integer({ min: 1, max: 6 }),
            capacity: fc.integer({ min: 1, max: 2 }),
            receivers: fc.integer({ min: 0, max: 3 }),
            turnsBeforeEnd: fc.nat(12)
          }),
          fc.nat(),
          (input, seed) => {
            const result = explore(contextEnds(input), { strategy: "random", runs: 10, preemptions: 3, seed })
            expect(result.failure === undefined ? "" : formatTimeline(result.failure)).toBe("")
          }
        ),
        fcParams(60)
      ),
    120_000
  )
})
