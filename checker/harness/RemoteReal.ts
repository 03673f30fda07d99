/**
 * The implementation driven by model commands across two processes (spec/model/Remote.ts): a server
 * `Beehive` S serving modules a, b, c and a client `Beehive` C whose module x connects to it, both
 * with socket contexts over one in-memory network, on one `SimRuntime`. Sends and sync calls start
 * in C, receives, responses, cleanups and group joins in S; a reconnect drops the network's
 * connections and lets the client wait its backoff and connect again; a stall makes one end stop
 * reading until a resume; a read size cuts every read into pieces of a few bytes or joins writes; a
 * crash breaks the connection, closes S's scope (its context and socket context) and starts a new S
 * on the same address with the registrations S had before the first connection; a close closes the
 * client's connection until the next reconnect.
 */
import { Effect, Exit, type Fiber, References, Scope } from "effect"
import { lateInterrupt } from "../../spec/model/Concurrent.ts"
import {
  acrossDestinationsAll,
  clientModule,
  errorResponse,
  forgetOutcomes,
  initialRemote,
  outboxCapacity,
  type RemoteState,
  reconnectMs,
  remoteOutcomes,
  stepRemoteRound
} from "../../spec/model/Remote.ts"
import type { Command } from "../../spec/model/Step.ts"
import { type BeehiveService, type BeehiveSnapshot, makeHost } from "../../src/contexts/Beehive.ts"
import { ContextHost } from "../../src/contexts/ContextHost.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { type SocketAddress, unix, unixPacket } from "../../src/contexts/socket/SocketAddress.ts"
import type { SocketClient } from "../../src/contexts/socket/SocketClient.ts"
import { makeSocketContext, type SocketContextService } from "../../src/contexts/socket/SocketContext.ts"
import { Transport } from "../../src/contexts/socket/Transport.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import type { Strategy } from "../../src/effects/Strategy.ts"
import { ResponseErrorOperation } from "../../src/model/Constants.ts"
import * as Message from "../../src/model/Message.ts"
import { endedOutcomes, request, response } from "./Operations.ts"
import { compareWith, type Machine, type SystemUnderTest } from "./Runner.ts"
import { describeModel, describeSnapshot, type OpKind } from "./Summaries.ts"

const streamAddress = unix("/state-machine/server.sock")
const packetAddress = unixPacket("/state-machine/server.sock")

// An error response carries a fresh id and a reason; the model names it after its request.
const named = (m: Message.Message): Message.Message =>
  m.route.operation === ResponseErrorOperation
    ? Message.make({ ...m, header: { ...m.header, id: errorResponse(m.header.parentId) } })
    : m

const renameResponses = (kind: OpKind, value: unknown): unknown => {
  if (kind === "SendSync") return named(value as Message.Message)
  if (kind !== "SendToGroupSync") return value
  const result = value as { responses: ReadonlyMap<string, Message.Message>; anonymous: ReadonlyArray<Message.Message> }
  return {
    ...result,
    responses: new Map([...result.responses].map(([m, r]) => [m, named(r)])),
    anonymous: result.anonymous.map(named)
  }
}

// S also registers the client module (in a group of its name): the model's S has only its own.
const withoutClient = (s: BeehiveSnapshot): BeehiveSnapshot => ({
  ...s,
  modules: s.modules.filter((m) => m.name !== clientModule),
  groups: new Map([...s.groups].filter(([g]) => g !== clientModule))
})

export class RemoteSystem implements SystemUnderTest {
  readonly sim: SimRuntime
  readonly client: BeehiveService
  server: BeehiveService
  private readonly network = new MemoryNetwork()
  private readonly clientSocket: SocketContextService
  private serverSocket: SocketContextService
  private readonly scope: Scope.Closeable
  private serverScope: Scope.Closeable
  /** The registrations made in S before the first connection: what a restarted S registers. */
  private readonly configuration: Array<Extract<Command, { _tag: "AddModule" | "AddModuleGroup" }>> = []
  private connection: SocketClient | undefined = undefined
  private connections = 0
  private closesWhileStalled = 0
  private readonly stalled = { server: false, client: false }
  private readonly ops = new Map<string, { kind: OpKind; fiber: Fiber.Fiber<unknown, unknown> }>()

  private readonly address: SocketAddress

  constructor(strategy: Strategy, packets = false) {
    this.address = packets ? packetAddress : streamAddress
    this.sim = new SimRuntime({ strategy })
    this.scope = this.sim.run(Scope.make())
    const server = this.startServer()
    this.server = server.beehive
    this.serverSocket = server.socket
    this.serverScope = server.scope
    const client = this.sim.run(this.side(outboxCapacity, true).pipe(Scope.provide(this.scope)))
    this.client = client.beehive
    this.clientSocket = client.socket
    this.sim.run(this.client.addModule(clientModule))
  }

  private side(capacity: number, isClient: boolean) {
    return this.quiet(
      Effect.gen({ self: this }, function* () {
        const host = yield* makeHost({ capacity })
        const socket = yield* makeSocketContext({
          onEvent: (event) => {
            if (event._tag === "Connected" && isClient) this.connections++
          }
        }).pipe(Effect.provideService(Transport, this.network.transport), Effect.provideService(ContextHost, host))
        const beehive = host.beehive
        return { socket, beehive }
      })
    )
  }

  // S in a scope of its own, so that a crash can end it: its context, socket context and listener.
  private startServer() {
    const scope = this.sim.run(Scope.make())
    const server = this.sim.run(this.side(1, false).pipe(Scope.provide(scope)))
    this.sim.run(
      server.socket.serve({ address: this.address, accept: [clientModule] }).pipe(Scope.provide(scope), this.quiet)
    )
    return { ...server, scope }
  }

  private quiet<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.provideService(effect, References.MinimumLogLevel, "None")
  }

  private fork(op: string, kind: OpKind, effect: Effect.Effect<unknown, unknown>): void {
    this.ops.set(op, { kind, fiber: this.sim.fork(this.quiet(Effect.andThen(Effect.yieldNow, effect))) })
  }

  applyRound(commands: ReadonlyArray<Command>, _early: boolean): void {
    let advance = 0
    for (const command of commands) {
      if (command._tag === "Advance") advance += command.ms
      else if (command._tag === "Reconnect") this.reconnect()
      else if (command._tag === "Crash") this.crash()
      else if (command._tag === "CloseClient") this.closeClient()
      else if (command._tag === "Stall") this.setStalled(command.end, true)
      else if (command._tag === "Resume") this.resume()
      else if (command._tag === "ReadSize") this.network.setMaxReadBytes(command.bytes)
      else if (command._tag === "Interrupt") this.ops.get(command.target)?.fiber.interruptUnsafe()
      else {
        if ((command._tag === "AddModule" || command._tag === "AddModuleGroup") && this.connections === 0)
          this.configuration.push(command)
        this.fork(command.op, command._tag, this.operation(command))
      }
    }
    this.sim.settle()
    if (advance > 0) this.sim.advanceBy(advance)
  }

  // The first connection (or a closed client's next), or a drop and the client's reconnection after
  // its backoff.
  private reconnect(): void {
    const before = this.connections
    if (this.connection === undefined) {
      this.resume()
      this.connection = this.sim.run(
        this.clientSocket
          .connect({
            module: clientModule,
            address: this.address,
            backoff: { initial: reconnectMs, max: reconnectMs, jitter: 0 }
          })
          .pipe(Scope.provide(this.scope), this.quiet)
      )
      this.sim.run(this.connection.connected)
    } else {
      this.network.drop()
      this.sim.settle()
      // The new connection's ends read (a stalled end would never answer the handshake).
      this.resume()
      this.sim.advanceBy(reconnectMs)
    }
    if (this.connections !== before + 1)
      throw new Error(`the client did not connect (${this.connections - before} connections)`)
  }

  // S dies: the network breaks its connection first (nothing S does on its way down reaches the
  // client), then its scope closes; a new S listens on the same address with S's configuration, and
  // the client connects to it after its backoff.
  private crash(): void {
    const before = this.connections
    this.network.drop()
    this.sim.settle()
    this.sim.run(Scope.close(this.serverScope, Exit.void))
    this.sim.settle()
    const server = this.startServer()
    this.server = server.beehive
    this.serverSocket = server.socket
    this.serverScope = server.scope
    // As the first S did: a registration refused then is refused again (the model repeats it too).
    for (const command of this.configuration) {
      const registration: Effect.Effect<void, unknown> =
        command._tag === "AddModule"
          ? this.server.addModule(command.module, { capacity: command.capacity })
          : this.server.addModuleGroup(command.module, command.group)
      this.sim.run(this.quiet(Effect.exit(registration)))
    }
    this.resume()
    this.sim.advanceBy(reconnectMs)
    // A closed client does not connect again on its own.
    if (this.connections !== before + (this.connection === undefined ? 0 : 1))
      throw new Error(`the client did not connect to the restarted server (${this.connections - before} connections)`)
  }

  // The client closes its connection (the server may not be reading) and stays closed until a
  // reconnection; its next connection's end reads.
  private closeClient(): void {
    if (this.connection === undefined) return
    if (this.stalled.server) this.closesWhileStalled++
    this.sim.run(this.connection.close)
    this.connection = undefined
    this.setStalled("client", false)
  }

  private resume(): void {
    this.setStalled("server", false)
    this.setStalled("client", false)
  }

  private setStalled(end: "server" | "client", stalled: boolean): void {
    this.stalled[end] = stalled
    this.network.setStalled(end, stalled)
  }

  private operation(
    command: Exclude<
      Command,
      { _tag: "Advance" | "Interrupt" | "Reconnect" | "Crash" | "CloseClient" | "Stall" | "Resume" | "ReadSize" }
    >
  ): Effect.Effect<unknown, unknown> {
    const c = this.client
    const s = this.server
    switch (command._tag) {
      case "Send":
        return c.send(command.module, request(command.id, command.source))
      case "SendSync":
        return c.sendSync(command.module, request(command.id, command.source), command.timeoutMs)
      case "SendToGroup":
        return c.sendToGroup(command.group, request(command.id, command.source))
      case "SendToGroupSync":
        return c.sendToGroupSync(command.group, request(command.id, command.source), command.timeoutMs)
      case "Receive":
        return s.receive(command.module)
      case "SendResp":
        return s.sendResp(response(command.id, command.parentId), command.from)
      case "Cleanup":
        return s.cleanup(command.module)
      case "AddModuleGroup":
        return s.addModuleGroup(command.module, command.group)
      case "AddModule":
        return s.addModule(command.module, { capacity: command.capacity })
      case "Shutdown":
        return s.shutdown
    }
  }

  outcomes(): Record<string, string> {
    return endedOutcomes(this.ops, renameResponses)
  }

  snapshot(): string {
    const client = describeSnapshot(this.sim.run(this.client.snapshot))
    const server = describeSnapshot(withoutClient(this.sim.run(this.server.snapshot)))
    const owed = this.sim.run(this.serverSocket.pendingRequests)
    return `C: ${client} || S: ${server} owed=${owed}`
  }

  get pendingTimers(): number {
    return this.sim.clock.pendingTimers
  }

  get closedWhileStalled(): number {
    return this.closesWhileStalled
  }

  get cutReads(): number {
    return this.network.cutReads
  }
}

/** The two-process machine: `RemoteSystem` against spec/model/Remote.ts (rounds never start early). */
export const remoteMachine: Machine<RemoteState> = {
  initial: initialRemote,
  real: (strategy) => new RemoteSystem(strategy),
  stepRound: (state, round, _early, startedBy) =>
    stepRemoteRound(state, round, (s, target) => lateInterrupt(s, target, startedBy)),
  compare: (state, observed, settled) =>
    compareWith(
      remoteOutcomes(state),
      // `pendingRequests` counts copies (R-SOCK-29): a request owed by two modules counts two.
      `C: ${describeModel(state.client)} || S: ${describeModel(state.server)} owed=${state.owed.reduce((n, o) => n + o.owing.length, 0)}`,
      state.client.calls.length,
      { ...observed, outcomes: acrossDestinationsAll(observed.outcomes) },
      settled
    ),
  forget: forgetOutcomes,
  view: (state) => state.client
}

/** The two-process machine over packets (R-SOCK-30): the same model, the processes speaking one message per packet. */
export const remotePacketMachine: Machine<RemoteState> = {
  ...remoteMachine,
  real: (strategy) => new RemoteSystem(strategy, true)
}
