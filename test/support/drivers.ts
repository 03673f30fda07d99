import { Cause, Effect, Exit, Result, Scope } from "effect"
import { Beehive, type BeehiveOptions } from "../../src/contexts/Beehive.ts"
import { createBeehive, type PromiseBeehive } from "../../src/promise.ts"

/** The Promise facade as a driver. */
export const facadeDriver = (options?: BeehiveOptions): PromiseBeehive => createBeehive(options)

/**
 * The Effect API as a driver: each operation is the `Beehive` service's, run with `runPromiseExit`,
 * with the typed failure as the rejection. Aborting a signal interrupts the fiber.
 */
export const effectDriver = (options: BeehiveOptions = {}): PromiseBeehive => {
  const scope = Effect.runSync(Scope.make())
  const service = Effect.runSync(Scope.provide(Beehive.make(options), scope))
  const run = <A, E>(effect: Effect.Effect<A, E>, signal?: AbortSignal): Promise<A> =>
    Effect.runPromiseExit(effect, signal === undefined ? undefined : { signal }).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      const error = Cause.findError(exit.cause)
      throw Result.isSuccess(error)
        ? error.success
        : Cause.hasInterruptsOnly(exit.cause)
          ? new Error("aborted")
          : Cause.squash(exit.cause)
    })
  return {
    addModule: (name, o) => run(service.addModule(name, o)),
    addModuleGroup: (m, g) => run(service.addModuleGroup(m, g)),
    cleanup: (m) => run(service.cleanup(m)),
    send: (m, msg, o) => run(service.send(m, msg), o?.signal),
    sendAll: (m, msgs, o) => run(service.sendAll(m, msgs), o?.signal),
    receive: (m, o) => run(service.receive(m), o?.signal),
    receiveAll: (m, max, o) => run(service.receiveAll(m, max), o?.signal),
    sendSync: (m, msg, t, o) => run(service.sendSync(m, msg, t), o?.signal),
    sendResp: (r, from) => run(service.sendResp(r, from)),
    sendToGroup: (g, msg, o) => run(service.sendToGroup(g, msg), o?.signal),
    sendToGroupSync: (g, msg, t, o) => run(service.sendToGroupSync(g, msg, t), o?.signal),
    snapshot: () => run(service.snapshot),
    close: () => run(Effect.tap(service.shutdown, () => Scope.close(scope, Exit.void)))
  }
}

/** Resolves after the event loop has turned a few times: every ready fiber has run. */
export const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5))

/** The state of a promise without waiting for it. */
export const peek = async <A>(p: Promise<A>): Promise<"pending" | { value: A } | { error: unknown }> => {
  const marker = Symbol()
  try {
    const v = await Promise.race([p, tick().then(() => marker)])
    return v === marker ? "pending" : { value: v as A }
  } catch (error) {
    return { error }
  }
}

/** The rejection of a promise (fails the test if it resolves). */
export const rejection = async (p: Promise<unknown>): Promise<any> => {
  let value: unknown
  try {
    value = await p
  } catch (e) {
    return e
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value)}`)
}
