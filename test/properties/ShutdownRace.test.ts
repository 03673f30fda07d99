/**
 * A shutdown racing operations that wait (R-GLOBAL-3, R-GLOBAL-4, R-GLOBAL-6), explored exhaustively
 * within a bound on preemptions: a sender that finds its module full and a receiver that finds its
 * module empty, while another fiber shuts the context down. Whatever the interleaving, including a
 * preemption between an operation's fast attempt and its wait, each ends with `ModuleClosed` (the
 * shutdown's cleanup closed the module it waits on) or with `BeehiveShutdown` naming the operation
 * (the shutdown came first), never anything else; sync calls cancelled by it are named the same way.
 */
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import * as Message from "../../src/model/Message.ts"
import { explore } from "../../src/testing/Explore.ts"
import type { Scenario } from "../../src/testing/Scenario.ts"

const failureOf = (exit: Exit.Exit<unknown, unknown>): { _tag?: string; operation?: string } | undefined =>
  Exit.isFailure(exit) ? (exit.cause.reasons[0] as { error?: { _tag?: string; operation?: string } }).error : undefined

const shutdownRace: Scenario = {
  name: "shutdown-race",
  beehive: { capacity: 1 },
  run: (ctx) =>
    Effect.gen(function* () {
      const b = ctx.beehive
      yield* b.addModule("full")
      yield* b.addModule("empty")
      yield* b.addModule("sink")
      yield* b.send("full", Message.make({ header: { id: "filler" } }))
      const calls = {
        send: b.send("full", Message.make({ header: { id: "late" } })),
        receive: b.receive("empty"),
        sendSync: b.sendSync("sink", Message.make({ header: { id: "call" } }), 60_000)
      }
      const fibers = yield* Effect.forEach(Object.entries(calls), ([operation, call]) =>
        Effect.map(
          ctx.spawn(operation, Effect.exit(call as Effect.Effect<unknown, unknown>)),
          (fiber) => [operation, fiber] as const
        )
      )
      yield* ctx.spawn("shutter", b.shutdown)
      yield* ctx.quiesce
      for (const [operation, fiber] of fibers) {
        const exit = fiber.pollUnsafe()
        yield* ctx.check(exit !== undefined && Exit.isSuccess(exit), `${operation} ended`)
        const failure = exit !== undefined && Exit.isSuccess(exit) ? failureOf(exit.value) : undefined
        const allowed =
          failure?._tag === "ModuleClosed" || (failure?._tag === "BeehiveShutdown" && failure.operation === operation)
        yield* ctx.check(
          allowed,
          `${operation} ended with ${JSON.stringify(failure)} ${exit !== undefined && Exit.isSuccess(exit) ? String(exit.value) : ""}`
        )
      }
    })
}

describe("R-GLOBAL-4 a shutdown racing waiting operations", () => {
  it("R-GLOBAL-3 R-GLOBAL-4 R-GLOBAL-6 every schedule with up to 2 preemptions: each waiting operation ends with ModuleClosed or BeehiveShutdown naming it", () => {
    for (const bounds of [
      { bound: 1, preemptionBound: 0 },
      { bound: 0, preemptionBound: 1 },
      { bound: 0, preemptionBound: 2 }
    ]) {
      const result = explore(shutdownRace, { strategy: "dfs", ...bounds, runs: 20_000 })
      expect(result.failure, JSON.stringify(result.failure?.outcome)).toBeUndefined()
      expect(result.exhausted).toBe(true)
    }
  })
})
