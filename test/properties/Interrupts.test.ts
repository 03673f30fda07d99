/**
 * Interruption windows of the socket context: a client closed, a server's scope closed, or a link
 * ended at any Effect operation (random schedules with preemption under the deterministic runtime)
 * leaves no connection open, no link listed, no module bound to a dead link and no message stuck.
 */
import { Effect, Exit, Fiber, References, Scope } from "effect"
import { describe, expect, it } from "vitest"
import { makeHost } from "../../src/contexts/Beehive.ts"
import { ContextHost } from "../../src/contexts/ContextHost.ts"
import { encodeFrame, FrameDecoder } from "../../src/contexts/socket/FrameCodec.ts"
import { controlJson } from "../../src/contexts/socket/Handshake.ts"
import { Link } from "../../src/contexts/socket/Link.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { MessageReader } from "../../src/contexts/socket/MessageReader.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { makeSocketContext } from "../../src/contexts/socket/SocketContext.ts"
import type { SocketEvent } from "../../src/contexts/socket/SocketEvents.ts"
import { resolveOptions } from "../../src/contexts/socket/SocketOptions.ts"
import { SocketState } from "../../src/contexts/socket/SocketState.ts"
import { type Connection, Transport } from "../../src/contexts/socket/Transport.ts"
import * as Message from "../../src/model/Message.ts"
import { explore, formatTimeline } from "../../src/testing/Explore.ts"
import type { Scenario } from "../../src/testing/Scenario.ts"
import { msg } from "../support/messages.ts"

const quiet = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, References.MinimumLogLevel, "Error")

const address = unix("/interrupts")

/** A process over `network`: a Beehive with a socket context, and the events it reported. */
const side = (network: MemoryNetwork) =>
  Effect.gen(function* () {
    const events: Array<SocketEvent> = []
    const host = yield* makeHost()
    const socket = yield* makeSocketContext({ onEvent: (e) => events.push(e) }).pipe(
      Effect.provideService(Transport, network.transport),
      Effect.provideService(ContextHost, host)
    )
    return { socket, events, beehive: host.beehive }
  })

/** A server process offering modules A and B to client X, and the client process with X added. */
const serverAndClient = Effect.gen(function* () {
  const network = new MemoryNetwork(4096)
  const s = yield* side(network)
  const c = yield* side(network)
  yield* s.beehive.addModule("A")
  yield* s.beehive.addModule("B")
  const server = yield* s.socket.serve({ address, accept: ["X"] })
  yield* c.beehive.addModule("X")
  return { s, c, server }
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

/** Explores the scenario made for every delay (40 random schedules each, with preemption): none fails. */
const expectHoldsAtEveryDelay = (scenarioAfter: (delay: number) => Scenario) => {
  const results = delays.map((delay) =>
    explore(scenarioAfter(delay), { strategy: "random", runs: 40, preemption: 0.3, seed: delay + 1 })
  )
  expect(results.map(failureOf).join("")).toBe("")
  expect(results.some((r) => r.distinctTraces > 1)).toBe(true)
}

describe("socket context: a client closed at any operation", () => {
  /** A client connects while `client.close` runs after `delay` yields, at a random point of its session. */
  const closedClient = (delay: number): Scenario => ({
    name: `socket-client-closed-after-${delay}`,
    run: ({ spawn, check, note, quiesce }) =>
      Effect.gen(function* () {
        const { c, server } = yield* serverAndClient
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
    expectHoldsAtEveryDelay(closedClient)
  }, 60_000)
})

/** Whether the other end of `end` was closed: its reads fail once what was written is read. */
const peerClosed = (end: Connection): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    const reader = yield* Effect.forkChild(Effect.forever(end.read), { startImmediately: true })
    for (let i = 0; i < 100 && reader.pollUnsafe() === undefined; i++) yield* Effect.yieldNow
    const closed = reader.pollUnsafe() !== undefined
    yield* Fiber.interrupt(reader)
    return closed
  })

describe("socket context: a client closed while registering the server's modules", () => {
  /**
   * The client is closed after `delay` yields; then module A is declared here as "socket" and a new
   * client connects: it must adopt A, which no dead connection may hold.
   */
  const closedWhileRegistering = (delay: number): Scenario => ({
    name: `socket-client-closed-registering-after-${delay}`,
    run: ({ spawn, check, note }) =>
      Effect.gen(function* () {
        const { c } = yield* serverAndClient
        const first = yield* c.socket.connect({ module: "X", address, backoff: { initial: 60_000 } })
        yield* Fiber.join(yield* spawn("closer", Effect.andThen(yields(delay), first.close)))
        yield* note("main", `client events: ${c.events.map((e) => e._tag).join(", ")}`)
        yield* c.beehive.addModule("A", { contextType: "socket" })
        yield* (yield* c.socket.connect({ module: "X", address })).connected
        yield* check(
          !c.events.some((e) => e._tag === "ModuleSkipped"),
          "the declared module is adopted by the new connection"
        )
      }).pipe(quiet)
  })

  it("R-SOCK-7 R-SOCK-11 a client closed at any point of registering leaves no module bound to its dead connection", () => {
    expectHoldsAtEveryDelay(closedWhileRegistering)
  }, 60_000)
})

describe("socket context: a client module's name taken in the server's process during its handshake", () => {
  /**
   * The server's process adds a module of its own under the client module's name after `delay` yields,
   * while the client's handshake runs: one of the two gets the name (R-MOD-2, R-SOCK-7). Either the
   * local module is added and the handshake is refused (the client is not connected), or the
   * handshake registers the name as a socket module and the local `addModule` fails with
   * `ModuleAlreadyExists`; never a client connected under a name its server's process serves itself.
   */
  const nameTakenWhileHandshaking = (delay: number): Scenario => ({
    name: `socket-name-taken-after-${delay}`,
    run: ({ spawn, check, note, quiesce }) =>
      Effect.gen(function* () {
        const { s, c } = yield* serverAndClient
        const client = yield* c.socket.connect({ module: "X", address, backoff: { initial: 60_000 } })
        const local = yield* spawn("local", Effect.exit(Effect.andThen(yields(delay), s.beehive.addModule("X"))))
        yield* Fiber.await(local)
        yield* quiesce
        const added = local.pollUnsafe()
        const localAdded = added !== undefined && Exit.isSuccess(added) && Exit.isSuccess(added.value)
        const x = (yield* s.beehive.snapshot).modules.find((m) => m.name === "X")
        const connected = yield* client.isConnected
        yield* note("main", `local added ${localAdded}, X is ${x?.contextType}, client connected ${connected}`)
        yield* check(
          x?.contextType === (localAdded ? "channel" : "socket"),
          "the name is the local module's exactly when it was added"
        )
        yield* check(!(connected && localAdded), "no client connected under a name its server's process serves")
      }).pipe(quiet)
  })

  it("R-SOCK-7 R-MOD-2 a client module's name taken in the server's process at any point of its handshake: the local module or the client gets it, never both", () => {
    expectHoldsAtEveryDelay(nameTakenWhileHandshaking)
  }, 60_000)
})

describe("socket context: a server's scope closed at any operation", () => {
  /**
   * Connections arrive (raw ones, made by the test, and a client's) while the server's scope closes
   * after `delay` yields; then `invariant` must hold.
   */
  const closedServer = (invariant: "connections closed" | "no link listed", delay: number): Scenario => ({
    name: `socket-server-closed-after-${delay}`,
    run: ({ spawn, check, note, quiesce }) =>
      Effect.gen(function* () {
        const network = new MemoryNetwork(4096)
        const s = yield* side(network)
        const c = yield* side(network)
        yield* s.beehive.addModule("A")
        const scope = yield* Scope.make()
        yield* s.socket.serve({ address, accept: ["X"] }).pipe(Scope.provide(scope))
        yield* c.beehive.addModule("X")
        yield* c.socket.connect({ module: "X", address, backoff: { initial: 60_000 } })
        const ends: Array<Connection> = []
        const connector = yield* spawn(
          "connector",
          Effect.gen(function* () {
            for (let i = 0; i < 3; i++) {
              ends.push(yield* network.transport.connect(address))
              yield* Effect.yieldNow
            }
          })
        )
        const closer = yield* spawn("closer", Effect.andThen(yields(delay), Scope.close(scope, Exit.void)))
        yield* Fiber.join(closer)
        yield* Fiber.await(connector)
        yield* quiesce
        yield* note("main", `server events: ${s.events.map((e) => e._tag).join(", ")}`)
        if (invariant === "connections closed") {
          const closed = yield* Effect.forEach(ends, peerClosed)
          yield* check(closed.every(Boolean), "every connection the server accepted is closed")
        } else {
          yield* check((yield* s.socket.connections).length === 0, "the closed server lists no connection")
        }
      }).pipe(quiet)
  })

  it("R-SOCK-11 R-SOCK-13 closing a server at any point of accepting leaves no accepted connection open", () => {
    expectHoldsAtEveryDelay((delay) => closedServer("connections closed", delay))
  }, 60_000)

  it("R-SOCK-11 closing a server at any point of serving a connection leaves no link listed", () => {
    expectHoldsAtEveryDelay((delay) => closedServer("no link listed", delay))
  }, 60_000)
})

describe("in-memory transport: an interrupted accept", () => {
  const interruptedAccept: Scenario = {
    name: "memory-accept-interrupted",
    run: ({ spawn, check, quiesce }) =>
      Effect.gen(function* () {
        const network = new MemoryNetwork(4096)
        const listener = yield* network.transport.listen(address)
        const end = yield* network.transport.connect(address)
        let taken: Connection | undefined
        const acceptor = yield* spawn(
          "acceptor",
          Effect.uninterruptibleMask((restore) =>
            Effect.map(restore(listener.accept), (connection) => {
              taken = connection
            })
          )
        )
        yield* spawn("interrupter", Fiber.interrupt(acceptor))
        yield* quiesce
        yield* listener.close
        const closed = yield* peerClosed(end)
        yield* check(taken !== undefined || closed, "the connection is handed over, or left to the listener to close")
      })
  }

  it("R-SOCK-13 an accept interrupted at any operation hands its connection over or leaves it to the listener", () => {
    const result = explore(interruptedAccept, { strategy: "random", runs: 300, preemption: 0.5, seed: 3 })
    expect(failureOf(result)).toBe("")
  })
})

describe("socket link: ended at any operation", () => {
  /**
   * A link reads messages for A and B from its peer while it is asked to close after `delay` yields.
   * White-box: `backlog` counts the messages read and not yet taken by a delivery fiber.
   */
  const endedLink = (delay: number): Scenario => ({
    name: `socket-link-ended-after-${delay}`,
    run: ({ spawn, check, note, quiesce }) =>
      Effect.gen(function* () {
        const network = new MemoryNetwork(1 << 20)
        const host = yield* makeHost()
        const state = new SocketState(resolveOptions(), yield* Effect.scope, host)
        yield* host.plug(state.context)
        const beehive = host.beehive
        yield* beehive.addModule("A")
        yield* beehive.addModule("B")
        const listener = yield* network.transport.listen(address)
        const peer = yield* network.transport.connect(address)
        const connection = yield* listener.accept
        const link = new Link(state, new MessageReader(connection, new FrameDecoder()), {
          framing: "frame",
          module: "X",
          owner: undefined,
          maxFrameBytes: 1 << 20,
          batchBytes: 1 << 16,
          heartbeatMs: 0,
          frameTimeoutMs: 0,
          receipts: undefined
        })
        const runner = yield* spawn("link", link.run)
        yield* spawn(
          "peer",
          Effect.gen(function* () {
            for (let i = 0; i < 4; i++) {
              const message = Message.setDestination(msg(`m${i}`), i % 2 === 0 ? "A" : "B")
              yield* Effect.ignore(peer.write(encodeFrame(controlJson(message))))
            }
          })
        )
        yield* spawn(
          "closer",
          Effect.andThen(
            yields(delay),
            Effect.sync(() => link.requestClose("closed by the test"))
          )
        )
        yield* Fiber.await(runner)
        yield* quiesce
        const queued = (yield* beehive.snapshot).modules.reduce((n, m) => n + m.queued, 0)
        yield* note("main", `delivered: ${queued}`)
        const backlog = (link as unknown as { readonly backlog: number }).backlog
        yield* check(backlog === 0, "every message read is delivered")
      }).pipe(quiet)
  })

  it("R-SOCK-11 R-SOCK-17 a link ended at any operation leaves no message it read undelivered", () => {
    expectHoldsAtEveryDelay(endedLink)
  }, 60_000)
})

describe("an in-memory connection closed while a write waits for room", () => {
  /**
   * A writer fills a pipe of one byte that nobody reads, so its write waits for room, while another
   * fiber closes the writer's end: with up to two preemptions anywhere, including between the write's
   * bytes going in and its wait for room, the write ends with `ConnectionClosed` (R-SOCK-22).
   */
  const closedWhileWriting: Scenario = {
    name: "memory-write-closed-while-waiting",
    preemptAtOperations: true,
    run: ({ spawn, check, quiesce }) =>
      Effect.gen(function* () {
        const network = new MemoryNetwork(1)
        const listener = yield* network.transport.listen(address)
        const client = yield* network.transport.connect(address)
        yield* listener.accept
        const writer = yield* spawn("writer", Effect.exit(client.write(Uint8Array.of(1, 2))))
        yield* spawn("closer", client.close)
        yield* quiesce
        const exit = writer.pollUnsafe()
        yield* check(exit !== undefined, "the write ended")
        const failed = exit !== undefined && Exit.isSuccess(exit) && Exit.isFailure(exit.value)
        yield* check(failed, `the write failed: ${JSON.stringify(exit)}`)
      }).pipe(quiet)
  }

  it("R-SOCK-22 a write waiting for room on a connection closed here ends with ConnectionClosed, whatever the interleaving (up to two preemptions)", () => {
    for (const preemptionBound of [0, 1, 2]) {
      const result = explore(closedWhileWriting, { strategy: "dfs", bound: 0, preemptionBound, runs: 20_000 })
      expect(failureOf(result)).toBe("")
      expect(result.exhausted).toBe(true)
    }
  })

  /**
   * The same pipe, its peer reading instead: with up to two preemptions anywhere, including a read
   * between the write's bytes going in and its wait for room, the write completes and the peer has its
   * bytes (R-SOCK-22: a writer waits only while the peer's unread bytes fill the pipe).
   */
  const readWhileWriting: Scenario = {
    name: "memory-write-read-while-waiting",
    preemptAtOperations: true,
    run: ({ spawn, check, quiesce }) =>
      Effect.gen(function* () {
        const network = new MemoryNetwork(1)
        const listener = yield* network.transport.listen(address)
        const client = yield* network.transport.connect(address)
        const server = yield* listener.accept
        const writer = yield* spawn("writer", Effect.exit(client.write(Uint8Array.of(1, 2))))
        const reader = yield* spawn("reader", server.read)
        yield* quiesce
        const exit = writer.pollUnsafe()
        yield* check(exit !== undefined, "the write ended")
        yield* check(exit !== undefined && Exit.isSuccess(exit) && Exit.isSuccess(exit.value), "the write completed")
        const read = reader.pollUnsafe()
        const bytes = read !== undefined && Exit.isSuccess(read) ? read.value.reduce((n, c) => n + c.length, 0) : 0
        yield* check(bytes === 2, `the peer read the 2 bytes: ${bytes}`)
      }).pipe(quiet)
  }

  it("R-SOCK-22 a write waiting for room while its peer reads completes, whatever the interleaving (up to two preemptions)", () => {
    for (const preemptionBound of [0, 1, 2]) {
      const result = explore(readWhileWriting, { strategy: "dfs", bound: 0, preemptionBound, runs: 20_000 })
      expect(failureOf(result)).toBe("")
      expect(result.exhausted).toBe(true)
    }
  })
})
