/**
 * send→receive in a process of its own, as a long-running program that makes one context meets it:
 * first with that one context; then on the same context after a second one was made and used; then
 * after that second one was closed. `npm run bench` measures every other figure with a context made
 * for the run and closed after it, dozens in one process; V8 optimizes the hot path for what it has
 * seen so far, so this tells how far the two differ. Run by bench/main.ts in a child process; prints
 * one line of JSON, messages per second, each the median of 5 runs after one warm-up run, or one line
 * on stderr and exit code 1.
 */
import { Effect, Exit, Scope } from "effect"
import { Beehive, type BeehiveService } from "../src/contexts/Beehive.ts"
import { sendReceiveOn } from "./sendReceiveOn.ts"

/** What this program prints. */
export interface OneContextFigures {
  /** One context made. */
  readonly alone: number
  /** The same context after a second one was made and used, still open. */
  readonly afterAnotherUsed: number
  /** The same context after that second one was closed. */
  readonly afterAnotherClosed: number
}

const n = Math.max(10, Math.round(1_000_000 * Number(process.env.BENCH_SCALE ?? 1)))

const sendReceive = (b: BeehiveService) => Effect.map(sendReceiveOn(b, n), (ms) => (n / ms) * 1000)

const medianOf5 = (b: BeehiveService) =>
  Effect.gen(function* () {
    yield* sendReceive(b)
    const rates: Array<number> = []
    for (let i = 0; i < 5; i++) rates.push(yield* sendReceive(b))
    return rates.sort((x, y) => x - y)[2] as number
  })

const withModule = Effect.tap(Beehive.make({}), (b) => b.addModule("m"))

const figures = Effect.scoped(
  Effect.gen(function* () {
    const b = yield* withModule
    const alone = yield* medianOf5(b)
    const otherScope = Scope.makeUnsafe()
    yield* Effect.flatMap(Scope.provide(otherScope)(withModule), sendReceive)
    const afterAnotherUsed = yield* medianOf5(b)
    yield* Scope.close(otherScope, Exit.void)
    const afterAnotherClosed = yield* medianOf5(b)
    return { alone, afterAnotherUsed, afterAnotherClosed } satisfies OneContextFigures
  })
)

try {
  console.log(JSON.stringify(await Effect.runPromise(figures)))
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error))
  process.exitCode = 1
}
