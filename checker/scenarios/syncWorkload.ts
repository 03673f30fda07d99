/**
 * No leaks (R-SYNC-6, R-GSYNC-7, R-CLEAN-3): synchronous calls that succeed, time out, are
 * interrupted, or lose their target to a cleanup, next to responders that answer some requests.
 * At quiescence no reply slot, no group collector, no timer and no fiber may remain.
 */
import { Effect, Exit, Fiber } from "effect"
import * as Message from "../../src/model/Message.ts"
import { formatTimeout, type Scenario } from "../../src/testing/Scenario.ts"

export interface SyncWorkloadInput {
  /** Per call: the target (module index or -1 for the group), its timeout, and whether to interrupt it after k yields (-1: never). */
  readonly calls: ReadonlyArray<{
    readonly target: number
    readonly timeoutMs: number
    readonly interruptAfter: number
  }>
  /** Per module: how many requests it answers before it stops answering. */
  readonly answers: ReadonlyArray<number>
  /** A module cleaned up after k yields, or none. */
  readonly cleanup: readonly [number, number] | null
}

export const syncWorkload = (input: SyncWorkloadInput): Scenario => ({
  name: "sync-workload",
  preemptAtOperations: true,
  run: (ctx) =>
    Effect.gen(function* () {
      const b = ctx.beehive
      const modules = input.answers.map((_, i) => `mod${i}`)
      for (const m of modules) {
        yield* b.addModule(m)
        yield* b.addModuleGroup(m, "all")
      }
      const responders = []
      for (const [i, m] of modules.entries()) {
        responders.push(
          yield* ctx.spawn(
            m,
            Effect.gen(function* () {
              let answered = 0
              while (true) {
                const exit = yield* Effect.exit(ctx.op(m, `receive(${m})`, b.receive(m)))
                if (Exit.isFailure(exit)) return
                if (answered++ < (input.answers[i] as number)) {
                  const request = exit.value
                  yield* ctx.op(
                    m,
                    `sendResp(re #${request.header.id})`,
                    b.sendResp(
                      Message.make({
                        header: { id: `r-${request.header.id}-${m}`, parentId: request.header.id, timestamp: 1 }
                      }),
                      m
                    )
                  )
                }
              }
            })
          )
        )
      }
      const callers = []
      for (const [k, call] of input.calls.entries()) {
        const name = `caller${k}`
        const request = Message.make({ header: { id: `q${k}` } })
        const target = modules[call.target % Math.max(1, modules.length)]
        const op: Effect.Effect<unknown, unknown> =
          call.target < 0 || target === undefined
            ? ctx.op(
                name,
                `sendToGroupSync(all, #q${k}, ${formatTimeout(call.timeoutMs)})`,
                b.sendToGroupSync("all", request, call.timeoutMs)
              )
            : ctx.op(
                name,
                `sendSync(${target}, #q${k}, ${formatTimeout(call.timeoutMs)})`,
                b.sendSync(target, request, call.timeoutMs)
              )
        const fiber = yield* ctx.spawn(name, Effect.exit(op))
        callers.push(fiber)
        if (call.interruptAfter >= 0) {
          yield* ctx.spawn(
            `interrupter${k}`,
            Effect.gen(function* () {
              for (let y = 0; y < call.interruptAfter; y++) yield* Effect.yieldNow
              yield* Fiber.interrupt(fiber)
            })
          )
        }
      }
      if (input.cleanup !== null) {
        const [index, yields] = input.cleanup
        for (let y = 0; y < yields; y++) yield* Effect.yieldNow
        const m = modules[index % modules.length] as string
        yield* Effect.exit(ctx.op("main", `cleanup(${m})`, b.cleanup(m)))
      }
      yield* Fiber.awaitAll(callers)
      for (const m of modules) yield* Effect.exit(ctx.op("main", `cleanup(${m})`, b.cleanup(m)))
      yield* Fiber.awaitAll(responders)
      yield* ctx.quiesce
      const snapshot = yield* b.snapshot
      yield* ctx.check(
        snapshot.pendingCalls.length === 0,
        `no reply slot or collector remains (${snapshot.pendingCalls.join(", ")})`
      )
      yield* ctx.check(ctx.pendingTimers() === 0, `no timer remains (${ctx.pendingTimers()})`)
      yield* ctx.check(ctx.running().length === 0, `no fiber remains (${ctx.running().join(", ")})`)
      yield* ctx.check(snapshot.modules.length === 0, "no module remains")
    })
})
