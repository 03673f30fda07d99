/**
 * The implementation driven by model commands: a `Beehive` on a `SimRuntime`, one fiber per
 * operation, settled after every round of commands started together.
 */
import { Effect, type Fiber, Scope } from "effect"
import type { Command } from "../../spec/model/Step.ts"
import { Beehive, type BeehiveService } from "../../src/contexts/Beehive.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import type { Strategy } from "../../src/effects/Strategy.ts"
import { endedOutcomes, request, response } from "./Operations.ts"
import { describeSnapshot, type OpKind } from "./Summaries.ts"

export class RealSystem {
  readonly sim: SimRuntime
  readonly beehive: BeehiveService
  private readonly ops = new Map<string, { kind: OpKind; fiber: Fiber.Fiber<unknown, unknown> }>()

  constructor(strategy: Strategy) {
    this.sim = new SimRuntime({ strategy })
    const scope = this.sim.run(Scope.make())
    this.beehive = this.sim.run(Scope.provide(Beehive.make(), scope))
  }

  private fork(op: string, kind: OpKind, effect: Effect.Effect<unknown, unknown>): void {
    // Every operation starts by yielding, so the operations of a round are ready together and the
    // schedule decides which runs first (a fork would otherwise run each to its first wait at once).
    this.ops.set(op, { kind, fiber: this.sim.fork(Effect.andThen(Effect.yieldNow, effect)) })
  }

  /** Applies a command and lets everything settle. */
  apply(command: Command): void {
    this.applyRound([command], false)
  }

  /**
   * Starts every command of a round before any of them runs, then lets everything settle, so the
   * schedule decides how they interleave. An advance moves time deadline by deadline, settling at
   * each; with `early`, time moves to the first stop before the round's operations run, so that they
   * race the deadlines due there instead of all running first.
   */
  applyRound(commands: ReadonlyArray<Command>, early: boolean): void {
    let advance: number | undefined
    for (const command of commands) {
      if (command._tag === "Advance") advance = (advance ?? 0) + command.ms
      else this.start(command)
    }
    if (advance === undefined) {
      this.sim.settle()
      return
    }
    const target = this.sim.now + advance
    if (early) {
      const next = this.sim.clock.nextTimer
      this.sim.clock.advanceTo(next !== undefined && next < target ? next : target, () => {})
    }
    this.sim.advanceBy(target - this.sim.now)
  }

  private start(command: Exclude<Command, { _tag: "Advance" }>): void {
    // One process has no connection to drop or stall.
    if (
      command._tag === "Reconnect" ||
      command._tag === "Crash" ||
      command._tag === "CloseClient" ||
      command._tag === "Stall" ||
      command._tag === "Resume" ||
      command._tag === "ReadSize"
    )
      return
    if (command._tag === "Interrupt") this.ops.get(command.target)?.fiber.interruptUnsafe()
    else this.fork(command.op, command._tag, this.operation(command))
  }

  private operation(
    command: Exclude<
      Command,
      { _tag: "Advance" | "Interrupt" | "Reconnect" | "Crash" | "CloseClient" | "Stall" | "Resume" | "ReadSize" }
    >
  ): Effect.Effect<unknown, unknown> {
    const b = this.beehive
    switch (command._tag) {
      case "AddModule":
        return b.addModule(command.module, { capacity: command.capacity })
      case "AddModuleGroup":
        return b.addModuleGroup(command.module, command.group)
      case "Cleanup":
        return b.cleanup(command.module)
      case "Send":
        return b.send(command.module, request(command.id, command.source))
      case "Receive":
        return b.receive(command.module)
      case "SendSync":
        return b.sendSync(command.module, request(command.id, command.source), command.timeoutMs)
      case "SendResp":
        return b.sendResp(response(command.id, command.parentId), command.from)
      case "SendToGroup":
        return b.sendToGroup(command.group, request(command.id, command.source))
      case "SendToGroupSync":
        return b.sendToGroupSync(command.group, request(command.id, command.source), command.timeoutMs)
      case "Shutdown":
        return b.shutdown
    }
  }

  /** Outcomes of the operations that have ended. */
  outcomes(): Record<string, string> {
    return endedOutcomes(this.ops)
  }

  snapshot(): string {
    return describeSnapshot(this.sim.run(this.beehive.snapshot))
  }

  /** Timers still set on the virtual clock. */
  get pendingTimers(): number {
    return this.sim.clock.pendingTimers
  }
}
