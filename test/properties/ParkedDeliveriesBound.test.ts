/**
 * R-SOCK-8 past the bound on waiting delivery fibers, under the deterministic runtime: with every one
 * of the 64 places taken, the delivery fibers of two more destinations end after each read, while
 * their senders go on sending and their receivers receiving, on explored schedules with preemption.
 * A message queued as such a fiber ends must start a new one: every message is received, once and in
 * order, and nothing waits at the end. Measured: with the delivery forgotten a few steps after its
 * fiber found the queue empty (the first draft, which this property found), 11 of the 200 schedules
 * of seeds 1 to 200 left a message in a delivery no fiber drained.
 */
import { Effect, Fiber, References } from "effect"
import { describe, expect, it } from "vitest"
import { maxParkedDeliveries } from "../../src/contexts/socket/Deliveries.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { explore, formatTimeline } from "../../src/testing/Explore.ts"
import type { Scenario } from "../../src/testing/Scenario.ts"
import { makeSide } from "../socket/support.ts"
import { msg } from "../support/messages.ts"

const perSender = 3
const racing = ["A", "B"]

const beyondTheBound: Scenario = {
  name: "socket-deliveries-beyond-the-bound",
  preemptAtOperations: true,
  run: ({ op, spawn, check, quiesce }) =>
    Effect.gen(function* () {
      const network = new MemoryNetwork(4096)
      const s = yield* makeSide(network.transport)
      const c = yield* makeSide(network.transport)
      const fillers = Array.from({ length: maxParkedDeliveries }, (_, k) => `F${k}`)
      for (const module of [...fillers, ...racing]) yield* s.beehive.addModule(module)
      yield* s.socket.serve({ address: unix("/bound"), accept: ["X"] })
      yield* c.beehive.addModule("X")
      yield* (yield* c.socket.connect({ module: "X", address: unix("/bound") })).connected
      for (const module of fillers) yield* c.beehive.send(module, msg(`${module}-0`))
      for (const module of fillers) yield* s.beehive.receive(module)
      yield* quiesce
      yield* check((yield* s.socket.waitingDeliveries) === maxParkedDeliveries, "every place is taken")
      const receivers = yield* Effect.forEach(racing, (module) =>
        spawn(
          `r${module}`,
          Effect.forEach(Array.from({ length: perSender }), () =>
            Effect.map(op(`r${module}`, `receive(${module})`, s.beehive.receive(module)), (m) => m.header.id)
          )
        )
      )
      yield* Effect.forEach(racing, (module) =>
        spawn(
          `x${module}`,
          Effect.forEach(
            Array.from({ length: perSender }, (_, i) => `${module}${i}`),
            (id) => op(`x${module}`, `send(${module}, ${id})`, c.beehive.send(module, msg(id))),
            { discard: true }
          )
        )
      )
      const received = yield* Effect.forEach(receivers, (f) => Fiber.join(f))
      yield* check(
        received.every(
          (ids, k) => ids.join() === Array.from({ length: perSender }, (_, i) => `${racing[k]}${i}`).join()
        ),
        "every message is received once and in order"
      )
      yield* quiesce
      yield* check((yield* s.socket.waitingDeliveries) === maxParkedDeliveries, "still no more than the bound wait")
    }).pipe(Effect.provideService(References.MinimumLogLevel, "Error"))
}

describe("R-SOCK-8 delivery fibers past the bound", () => {
  it("R-SOCK-8 R-SEND-4 with every place taken, the fibers of other destinations end after each read, and a message queued as one ends starts another: every message is received once and in order, on every explored schedule", () => {
    const result = explore(beyondTheBound, { strategy: "random", runs: 200, preemption: 0.2, seed: 5 })
    expect(result.failure === undefined ? "" : formatTimeline(result.failure)).toBe("")
    expect(result.schedules).toBe(200)
  }, 120_000)
})
