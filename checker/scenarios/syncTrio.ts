/**
 * Three fibers around one responder: two callers each `sendSync` one
 * request to `echo`, whose responder receives both and answers each with `sendResp`. Each call returns
 * its own response, and no reply slot remains. The checker's speed is measured on it (`beehive bench`:
 * schedules explored per second), so it stays small: what one schedule costs is mostly the checker's.
 */
import { Effect, Exit, Fiber } from "effect"
import * as Message from "../../src/model/Message.ts"
import type { Scenario } from "../../src/testing/Scenario.ts"

/** The scenario; it takes no input (the factory's argument is ignored, for the scenario table). */
export const syncTrio = (_input?: unknown): Scenario => ({
  name: "sync-trio",
  run: (ctx) =>
    Effect.gen(function* () {
      const b = ctx.beehive
      yield* b.addModule("echo")
      const responder = yield* ctx.spawn(
        "echo",
        Effect.gen(function* () {
          for (let i = 0; i < 2; i++) {
            const request = yield* ctx.op("echo", "receive(echo)", b.receive("echo"))
            yield* ctx.op(
              "echo",
              `sendResp(re #${request.header.id})`,
              b.sendResp(
                Message.make({ header: { id: `r-${request.header.id}`, parentId: request.header.id, timestamp: 1 } }),
                "echo"
              )
            )
          }
        })
      )
      const callers = []
      for (const name of ["caller0", "caller1"]) {
        callers.push(
          yield* ctx.spawn(
            name,
            Effect.exit(
              ctx.op(
                name,
                `sendSync(echo, #q-${name}, 1000ms)`,
                b.sendSync("echo", Message.make({ header: { id: `q-${name}` } }), 1000)
              )
            )
          )
        )
      }
      for (const [i, caller] of callers.entries()) {
        const exit = yield* Fiber.join(caller)
        yield* ctx.check(
          Exit.isSuccess(exit) && exit.value.header.id === `r-q-caller${i}`,
          `caller${i} got its own response`
        )
      }
      yield* Fiber.join(responder)
      const snapshot = yield* b.snapshot
      yield* ctx.check(snapshot.pendingCalls.length === 0, "no reply slot remains")
    })
})
