/**
 * The send→receive measurement that `npm run bench` runs in its own process and in a process with one
 * context (bench/oneContext.ts).
 */
import { Effect, Fiber } from "effect"
import type { BeehiveService } from "../src/contexts/Beehive.ts"
import * as Message from "../src/model/Message.ts"

/**
 * A producer fiber sends n messages to module "m" of `b` (which must exist), one `send` each, while a
 * consumer fiber receives them, one `receive` each; the milliseconds it took.
 */
export const sendReceiveOn = (b: BeehiveService, n: number) =>
  Effect.gen(function* () {
    const m = Message.make({ header: { id: "x" } })
    const start = performance.now()
    const consumer = yield* Effect.forkChild(
      Effect.gen(function* () {
        for (let i = 0; i < n; i++) yield* b.receive("m")
      })
    )
    for (let i = 0; i < n; i++) yield* b.send("m", m)
    yield* Fiber.join(consumer)
    return performance.now() - start
  })
