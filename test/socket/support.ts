import * as net from "node:net"
import { Duration, Effect, References, Scope } from "effect"
import { type BeehiveOptions, type BeehiveService, makeHost } from "../../src/contexts/Beehive.ts"
import { ContextHost } from "../../src/contexts/ContextHost.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { type SocketAddress, unix, unixPacket } from "../../src/contexts/socket/SocketAddress.ts"
import type { SocketClient, SocketClientOptions } from "../../src/contexts/socket/SocketClient.ts"
import { makeSocketContext, type SocketContextService } from "../../src/contexts/socket/SocketContext.ts"
import type { SocketEvent } from "../../src/contexts/socket/SocketEvents.ts"
import type { SocketContextOptions } from "../../src/contexts/socket/SocketOptions.ts"
import type { SocketServer, SocketServerOptions } from "../../src/contexts/socket/SocketServer.ts"
import { type Connection, Transport, type TransportShape } from "../../src/contexts/socket/Transport.ts"
import { msg } from "../support/messages.ts"

/** A process: a Beehive with a socket context, and the events it reported. */
export interface Side {
  readonly beehive: BeehiveService
  readonly socket: SocketContextService
  readonly events: Array<SocketEvent>
}

/** Builds a "process" over a transport. */
export const makeSide = (
  transport: TransportShape,
  options: SocketContextOptions = {},
  beehiveOptions: BeehiveOptions = {}
): Effect.Effect<Side, never, Scope.Scope> =>
  Effect.gen(function* () {
    const events: Array<SocketEvent> = []
    const host = yield* Effect.orDie(makeHost(beehiveOptions))
    const socket = yield* makeSocketContext({
      ...options,
      onEvent: (e) => {
        events.push(e)
        options.onEvent?.(e)
      }
    }).pipe(Effect.provideService(Transport, transport), Effect.provideService(ContextHost, host), Effect.orDie)
    return { beehive: host.beehive, socket, events }
  })

/** A server process S with modules A and B (groups g: [A, B], ga: [A]) and a client process C with module X, connected. */
export interface Pair {
  readonly network: MemoryNetwork
  readonly address: SocketAddress
  readonly s: Side
  readonly c: Side
  readonly server: SocketServer
  readonly client: SocketClient
}

export const makePair = (
  options: {
    readonly socket?: SocketContextOptions
    readonly server?: Partial<SocketServerOptions>
    readonly client?: Partial<SocketClientOptions>
    readonly serverModules?: ReadonlyArray<string>
    readonly capacity?: number
    readonly pipeCapacityBytes?: number
    /** Over packets (R-SOCK-30): one message per write, the memory network carrying each as it was written. */
    readonly packets?: boolean
  } = {}
): Effect.Effect<Pair, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const network = new MemoryNetwork(options.pipeCapacityBytes)
    const address = options.packets === true ? unixPacket("/memory/beehive.sock") : unix("/memory/beehive.sock")
    const s = yield* makeSide(network.transport, options.socket, { capacity: options.capacity })
    for (const m of options.serverModules ?? ["A", "B"]) yield* s.beehive.addModule(m)
    if (options.serverModules === undefined) {
      yield* s.beehive.addModuleGroup("A", "g")
      yield* s.beehive.addModuleGroup("B", "g")
      yield* s.beehive.addModuleGroup("A", "ga")
    }
    const server = yield* s.socket.serve({ address, accept: ["X"], ...options.server })
    const c = yield* makeSide(network.transport, options.socket, { capacity: options.capacity })
    yield* c.beehive.addModule("X")
    const client = yield* c.socket.connect({ module: "X", address, ...options.client })
    yield* client.connected
    return { network, address, s, c, server, client }
  })

/** Runs a scoped test body with the live clock; socket events are not logged (tests read them from `Side.events`). */
export const run = <A>(body: Effect.Effect<A, unknown, Scope.Scope>): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(body).pipe(Effect.provideService(References.MinimumLogLevel, "Error")) as Effect.Effect<A>
  )

/**
 * The next message of `module` on `to`, one of the pair's sides; dies naming `what` and both sides'
 * socket events when none arrives within 3 s (a bound for failures, not a speed target).
 */
export const receiveWithin = (pair: Pair, to: Side, module: string, what: string) =>
  to.beehive.receive(module).pipe(
    Effect.timeoutOrElse({
      duration: 3000,
      orElse: () =>
        Effect.die(new Error(`${what} never arrived; events: ${JSON.stringify([...pair.s.events, ...pair.c.events])}`))
    })
  )

/**
 * Waits until `condition` holds, checking after every scheduler turn and then every millisecond; fails
 * after `timeoutMs` (a bound for failures, not a delay).
 */
export const waitFor = (
  condition: () => boolean,
  what: string | (() => string) = "condition",
  timeoutMs = 5000
): Effect.Effect<void, Error> =>
  Effect.gen(function* () {
    for (let i = 0; i < 50; i++) {
      if (condition()) return
      yield* Effect.yieldNow
    }
    const deadline = performance.now() + timeoutMs
    while (!condition()) {
      if (performance.now() > deadline) {
        return yield* Effect.fail(new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`))
      }
      yield* Effect.sleep(Duration.millis(1))
    }
  })

/** Waits until `effect` yields a value satisfying `condition`. */
export const waitForEffect = <A, E = never>(
  effect: Effect.Effect<A, E>,
  condition: (a: A) => boolean,
  what = "condition",
  timeoutMs = 5000
): Effect.Effect<A, E | Error> =>
  Effect.gen(function* () {
    const deadline = performance.now() + timeoutMs
    while (true) {
      const a = yield* effect
      if (condition(a)) return a
      if (performance.now() > deadline) return yield* Effect.fail(new Error(`timed out waiting for ${what}`))
      yield* Effect.sleep(Duration.millis(1))
    }
  })

/** A raw socket to the server, with what it received and whether it was closed. */
export const rawSocket = (address: SocketAddress) => {
  const socket =
    address._tag !== "Tcp"
      ? net.connect({ path: address.path })
      : net.connect({ host: address.host, port: address.port })
  const state = { data: "", closed: false }
  socket.on("data", (d) => {
    state.data += d.toString("latin1")
  })
  socket.on("error", () => {})
  socket.on("close", () => {
    state.closed = true
  })
  return { socket, state }
}

/** Reads NDJSON lines from a connection as they come. */
export const lineReader = (connection: Connection) => {
  let pending = ""
  const lines: Array<string> = []
  const decoder = new TextDecoder()
  const next: Effect.Effect<string, unknown> = Effect.gen(function* () {
    while (lines.length === 0) {
      for (const chunk of yield* connection.read) pending += decoder.decode(chunk, { stream: true })
      const parts = pending.split("\n")
      pending = parts.pop() as string
      lines.push(...parts.filter((line) => line !== ""))
    }
    return lines.shift() as string
  })
  return next
}

/** One NDJSON line: `value` as JSON and a newline. */
export const line = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value)}\n`)

/**
 * A server process on `network` with module A, serving `address` to the client module X, in a scope
 * of its own: closing that scope is the process ending (a restart is a new one on the same address).
 */
export const serverOn = (network: MemoryNetwork, address: SocketAddress) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const side = yield* makeSide(network.transport).pipe(Scope.provide(scope))
    yield* side.beehive.addModule("A")
    yield* side.socket.serve({ address, accept: ["X"] }).pipe(Scope.provide(scope))
    return { side, scope }
  })

/** The message ids of the events tagged `tag` (`Unsent`, `InDoubt`, `Undeliverable`, ...), in the order reported. */
export const reportedIds = (events: ReadonlyArray<SocketEvent>, tag: SocketEvent["_tag"]): Array<string> =>
  events.flatMap((e) => (e._tag === tag && "msgId" in e ? [e.msgId] : []))

/** A client's backoff that retries only after a minute: within a property, a client connects once. */
export const slowRetry = { initial: 60_000, max: 60_000, jitter: 0 }

/**
 * A client of `side` connecting as `options` say, in a scope of its own that ends once it connected or
 * failed to (or once the caller is interrupted): a connection made and closed again.
 */
export const connectAndClose = (side: Side, options: SocketClientOptions): Effect.Effect<void> =>
  Effect.scoped(Effect.flatMap(side.socket.connect(options), (client) => Effect.ignore(client.connected))).pipe(
    Effect.ignore
  )

/**
 * Sends `count` messages from `side` to `module`, ids `prefix0`, `prefix1`, ..., one after the other,
 * each after `gap` yields; the ids of those accepted go into `accepted` (one refused is not, and the
 * next is sent all the same).
 */
export const sendCounted = (
  side: Side,
  module: string,
  prefix: string,
  count: number,
  accepted: Array<string>,
  gap = 0
): Effect.Effect<void> =>
  Effect.forEach(
    Array.from({ length: count }, (_, i) => `${prefix}${i}`),
    (id) =>
      Effect.gen(function* () {
        for (let i = 0; i < gap; i++) yield* Effect.yieldNow
        yield* Effect.ignore(
          Effect.andThen(
            side.beehive.send(module, msg(id)),
            Effect.sync(() => accepted.push(id))
          )
        )
      }),
    { discard: true }
  )

/**
 * A server process accepting client module X at `address` over a network of its own, in a scope the
 * caller closes (its end is when what it wrote and never had receipted becomes in doubt), and a client
 * process with module X connected to it (`slowRetry`), what X receives recorded.
 */
export const serverAndFirstClient = (address: SocketAddress, server: Partial<SocketServerOptions> = {}) =>
  Effect.gen(function* () {
    const network = new MemoryNetwork(1 << 16)
    const serverScope = yield* Scope.make()
    const s = yield* makeSide(network.transport).pipe(Scope.provide(serverScope))
    yield* s.socket.serve({ address, accept: ["X"], ...server }).pipe(Scope.provide(serverScope))
    const c = yield* makeSide(network.transport)
    yield* c.beehive.addModule("X")
    const received = yield* recordReceived(c, "X")
    yield* (yield* c.socket.connect({ module: "X", address, backoff: slowRetry })).connected
    return { serverScope, s, c, received }
  })

/** The ids of the messages `module` of `side` receives from now on, in order, taken by a fiber of the scope. */
export const recordReceived = (side: Side, module: string): Effect.Effect<Array<string>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const received: Array<string> = []
    yield* Effect.forkScoped(
      Effect.forever(Effect.map(side.beehive.receive(module), (m) => received.push(m.header.id)))
    )
    return received
  })

/**
 * The ids of the messages sent from `sender`'s process to a module of `receiver`'s that are settled:
 * `received` there, or reported (`Unsent` or `InDoubt` by the sender's process, `Undeliverable` by the
 * receiver's; R-SOCK-11, R-SOCK-21).
 */
export const settledIds = (received: ReadonlyArray<string>, sender: Side, receiver: Side): Array<string> => [
  ...received,
  ...reportedIds(sender.events, "Unsent"),
  ...reportedIds(sender.events, "InDoubt"),
  ...reportedIds(receiver.events, "Undeliverable")
]

/**
 * Waits, at most `timeoutMs`, until every id of `accepted` is settled (`settledIds`): called while both
 * processes run, a message may be in doubt only once a connection ended with it unreceipted.
 */
export const waitSettled = (
  accepted: ReadonlyArray<string>,
  received: ReadonlyArray<string>,
  sender: Side,
  receiver: Side,
  timeoutMs = 1000
): Effect.Effect<void, Error> =>
  waitFor(
    () => {
      const settled = settledIds(received, sender, receiver)
      return accepted.every((id) => settled.includes(id))
    },
    () =>
      `every message received or reported (accepted ${accepted.join(",")}; settled ${settledIds(received, sender, receiver).join(",")})`,
    timeoutMs
  )
