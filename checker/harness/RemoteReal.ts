/**
 * The implementation driven by model commands across two processes (spec/model/Remote.ts): a server
 * `Beehive` S serving modules a, b, c and a client `Beehive` C whose module x connects to it, both
 * with socket contexts over one in-memory network, on one `SimRuntime`. Sends and sync calls start
 * in C, receives, responses, cleanups and group joins in S; a reconnect drops the network's
 * connections and lets the client wait its backoff and connect again; a stall makes one end stop
 * reading until a resume; a read size cuts every read into pieces of a few bytes or joins writes.
 */
import { Effect, type Fiber, References, Scope } from "effect"
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
import { type BeehiveService, type BeehiveSnapshot, makeBeehive } from "../../src/contexts/Beehive.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
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

const address = unix("/state-machine/server.sock")

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
  readonly server: BeehiveService
  private readonly network = new MemoryNetwork()
  private readonly clientSocket: SocketContextService
  private readonly serverSocket: SocketContextService
  private readonly scope: Scope.Closeable
  private connection: SocketClient | undefined = undefined
  private connections = 0
  private readonly ops = new Map<string, { kind: OpKind; fiber: Fiber.Fiber<unknown, unknown> }>()

  constructor(strategy: Strategy) {
    this.sim = new SimRuntime({ strategy })
    this.scope = this.sim.run(Scope.make())
    const side = (capacity: number, isClient: boolean) =>
      this.quiet(
        Effect.gen({ self: this }, function* () {
          const socket = yield* makeSocketContext({
            onEvent: (event) => {
              if (event._tag === "Connected" && isClient) this.connections++
            }
          }).pipe(Effect.provideService(Transport, this.network.transport))
          const beehive = yield* makeBeehive({ contexts: [socket.context], capacity })
          return { socket, beehive }
        }).pipe(Scope.provide(this.scope))
      )
    const server = this.sim.run(side(1, false))
    this.server = server.beehive
    this.serverSocket = server.socket
    this.sim.run(server.socket.serve({ address, accept: [clientModule] }).pipe(Scope.provide(this.scope), this.quiet))
    const client = this.sim.run(side(outboxCapacity, true))
    this.client = client.beehive
    this.clientSocket = client.socket
    this.sim.run(this.client.addModule(clientModule))
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
      else if (command._tag === "Stall") this.network.setStalled(command.end, true)
      else if (command._tag === "Resume") this.resume()
      else if (command._tag === "ReadSize") this.network.setMaxReadBytes(command.bytes)
      else if (command._tag === "Interrupt") this.ops.get(command.target)?.fiber.interruptUnsafe()
      else this.fork(command.op, command._tag, this.operation(command))
    }
    this.sim.settle()
    if (advance > 0) this.sim.advanceBy(advance)
  }

  // The first connection, or a drop and the client's reconnection after its backoff.
  private reconnect(): void {
    const before = this.connections
    if (this.connection === undefined) {
      this.connection = this.sim.run(
        this.clientSocket
          .connect({ module: clientModule, address, backoff: { initial: reconnectMs, max: reconnectMs, jitter: 0 } })
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

  private resume(): void {
    this.network.setStalled("server", false)
    this.network.setStalled("client", false)
  }

  private operation(
    command: Exclude<Command, { _tag: "Advance" | "Interrupt" | "Reconnect" | "Stall" | "Resume" | "ReadSize" }>
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
      `C: ${describeModel(state.client)} || S: ${describeModel(state.server)} owed=${state.owed.length}`,
      state.client.calls.length,
      { ...observed, outcomes: acrossDestinationsAll(observed.outcomes) },
      settled
    ),
  forget: forgetOutcomes,
  view: (state) => state.client
}
