/**
 * Waiting for a shutdown signal (R-REG-6) as a property: `awaitSignal(signals)` completes with the
 * first of its own signals the process gets, whatever others come before it, and leaves no listener
 * behind, whether a signal ended it or it was interrupted. Signals are emitted in-process
 * (`process.emit`), which runs the listeners as a real signal would without signalling the process.
 */
import { Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { awaitSignal, ShutdownSignals } from "../../src/contexts/Signals.ts"
import { fcParams } from "../support/fc.ts"

const all: ReadonlyArray<NodeJS.Signals> = [...ShutdownSignals, "SIGUSR2"]

const listeners = () => all.map((signal) => process.listenerCount(signal))

describe("R-REG-6 awaiting a signal", () => {
  it("R-REG-6 awaitSignal ends with the first of its signals emitted, ignores the others, and leaves no listener behind, ended or interrupted", () =>
    fc.assert(
      fc.asyncProperty(
        fc.option(fc.subarray([...all], { minLength: 1 }), { nil: undefined }),
        fc.array(fc.constantFrom(...all), { maxLength: 5 }),
        async (signals, emitted) => {
          const before = listeners()
          const listened = signals ?? ShutdownSignals
          // A listener of our own for each signal, so that an emitted signal never falls to Node's default.
          const guard = () => {}
          for (const signal of all) process.on(signal, guard)
          try {
            const fiber = Effect.runFork(awaitSignal(signals))
            await new Promise((resolve) => setImmediate(resolve))
            for (const signal of emitted) process.emit(signal)
            const expected = emitted.find((signal) => listened.includes(signal))
            if (expected === undefined) {
              expect(fiber.pollUnsafe(), "still waiting").toBeUndefined()
              await Effect.runPromise(Fiber.interrupt(fiber))
            } else {
              expect(await Effect.runPromise(Fiber.await(fiber))).toEqual(Exit.succeed(expected))
            }
          } finally {
            for (const signal of all) process.off(signal, guard)
          }
          expect(listeners()).toEqual(before)
        }
      ),
      fcParams(100)
    ))
})
