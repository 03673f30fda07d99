/**
 * Interruption windows of the socket context: a client closed, a server's scope closed, or a link
 * ended at any Effect operation (random schedules with preemption under the deterministic runtime)
 * leaves no connection open, no link listed, no module bound to a dead link and no message stuck.
 */
import { Effect, Fiber, References } from "effect"
import { describe, expect, it } from "vitest"
import { makeBeehive } from "../../src/contexts/Beehive.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { makeSocketContext } from "../../src/contexts/socket/SocketContext.ts"
import type { SocketEvent } from "../../src/contexts/socket/SocketEvents.ts"
import { Transport } from "../../src/contexts/socket/Transport.ts"
import { explore, formatTimeline } from "../../src/testing/Explore.ts"
import type { Scenario } from "../../src/testing/Scenario.ts"

const quiet = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, References.MinimumLogLevel, "Error")

const address = unix("/interrupts")

/** A process over `network`: a Beehive with a socket context, and the events it reported. */
const side = (network: MemoryNetwork) =>
  Effect.gen(function* () {
    const events: Array<SocketEvent> = []
    const socket = yield* makeSocketContext({ onEvent: (e) => events.push(e) }).pipe(
      Effect.provideService(Transport, network.transport)
    )
    return { socket, events, beehive: yield* makeBeehive({ contexts: [socket.context] }) }
  })

/** Yields `n` times: an interruption `n` scheduler turns later (the schedule decides what runs meanwhile). */
const yields = (n: number): Effect.Effect<void> =>
  Effect.gen(function* () {
    for (let i = 0; i < n; i++) yield* Effect.yieldNow
  })

/** Interruption points spread over a session: from before connecting to after the handshake. */
const delays = Array.from({ length: 16 }, (_, i) => i * 4)

const failureOf = (result: ReturnType<typeof explore>) =>
  result.failure === undefined ? "" : formatTimeline(result.failure)

describe("socket context: a client closed at any operation", () => {
  /** A client connects while `client.close` runs after `delay` yields, at a random point of its session. */
  const closedClient = (delay: number): Scenario => ({
    name: `socket-client-closed-after-${delay}`,
    run: ({ spawn, check, note, quiesce }) =>
      Effect.gen(function* () {
        const network = new MemoryNetwork(4096)
        const s = yield* side(network)
        const c = yield* side(network)
        yield* s.beehive.addModule("A")
        yield* s.beehive.addModule("B")
        const server = yield* s.socket.serve({ address, accept: ["X"] })
        yield* c.beehive.addModule("X")
        const client = yield* c.socket.connect({ module: "X", address, backoff: { initial: 60_000 } })
        const closer = yield* spawn("closer", Effect.andThen(yields(delay), client.close))
        yield* Fiber.join(closer)
        yield* note("main", `client events: ${c.events.map((e) => e._tag).join(", ")}`)
        yield* check((yield* c.socket.connections).length === 0, "the closed client lists no connection")
        yield* quiesce
        yield* check((yield* server.connections) === 0, "every connection the client made is closed")
      }).pipe(quiet)
  })

  it("R-SOCK-11 R-SOCK-12 closing a client at any point of connecting or handshaking leaves no connection open and no link listed", () => {
    const results = delays.map((delay) =>
      explore(closedClient(delay), { strategy: "random", runs: 40, preemption: 0.3, seed: delay + 1 })
    )
    expect(results.map(failureOf).join("")).toBe("")
    expect(results.some((r) => r.distinctTraces > 1)).toBe(true)
  }, 60_000)
})
