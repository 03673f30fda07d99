/**
 * The implementation driven by model commands: a `Beehive` on a `SimRuntime`, one fiber per
 * operation, settled after every command.
 */
import { type Effect, type Fiber, Scope } from "effect"
import type { Command } from "../../spec/model/Step.ts"
import { Beehive, type BeehiveService } from "../../src/contexts/Beehive.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import type { Strategy } from "../../src/effects/Strategy.ts"
import * as Message from "../../src/model/Message.ts"
import { describeSnapshot, type OpKind, summarizeExit } from "./Summaries.ts"

const request = (id: string) => Message.make({ header: { id, timestamp: 1 } })
const response = (id: string, parentId: string) =>
  Message.make({ header: { id, parentId, timestamp: 1 }, route: { operation: "response" } })

export class RealSystem {
  readonly sim: SimRuntime
  readonly beehive: BeehiveService
  private readonly ops = new Map<string, { kind: OpKind; fiber: Fiber.Fiber<unknown, unknown> }>()

  constructor(strategy: Strategy) {
    this.sim = new SimRuntime({ strategy })
    const scope = this.sim.run(Scope.make())
    this.beehive = this.sim.run(Scope.provide(Beehive.make(), scope))
  }

  private start(op: string, kind: OpKind, effect: Effect.Effect<unknown, unknown>): void {
    this.ops.set(op, { kind, fiber: this.sim.fork(effect) })
  }

  /** Applies a command and lets everything settle. */
  apply(command: Command): void {
    const b = this.beehive
    switch (command._tag) {
      case "AddModule":
        this.start(command.op, command._tag, b.addModule(command.module, { capacity: command.capacity }))
        break
      case "AddModuleGroup":
        this.start(command.op, command._tag, b.addModuleGroup(command.module, command.group))
        break
      case "Cleanup":
        this.start(command.op, command._tag, b.cleanup(command.module))
        break
      case "Send":
        this.start(command.op, command._tag, b.send(command.module, request(command.id)))
        break
      case "Receive":
        this.start(command.op, command._tag, b.receive(command.module))
        break
      case "SendSync":
        this.start(command.op, command._tag, b.sendSync(command.module, request(command.id), command.timeoutMs))
        break
      case "SendResp":
        this.start(command.op, command._tag, b.sendResp(response(command.id, command.parentId), command.from))
        break
      case "SendToGroup":
        this.start(command.op, command._tag, b.sendToGroup(command.group, request(command.id)))
        break
      case "SendToGroupSync":
        this.start(command.op, command._tag, b.sendToGroupSync(command.group, request(command.id), command.timeoutMs))
        break
      case "Shutdown":
        this.start(command.op, command._tag, b.shutdown)
        break
      case "Interrupt":
        this.ops.get(command.target)?.fiber.interruptUnsafe()
        break
      case "Advance":
        this.sim.advanceBy(command.ms)
        break
    }
    this.sim.settle()
  }

  /** Outcomes of the operations that have ended. */
  outcomes(): Record<string, string> {
    const out: Record<string, string> = {}
    for (const [op, { kind, fiber }] of this.ops) {
      const exit = fiber.pollUnsafe()
      if (exit !== undefined) out[op] = summarizeExit(kind, exit)
    }
    return out
  }

  snapshot(): string {
    return describeSnapshot(this.sim.run(this.beehive.snapshot))
  }

  /** Timers still set on the virtual clock. */
  get pendingTimers(): number {
    return this.sim.clock.pendingTimers
  }
}
