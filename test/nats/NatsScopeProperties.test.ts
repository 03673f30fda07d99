/**
 * What a NATS context opened is released when its scope ends (R-NATS-14), as a property against a
 * real nats-server: processes serving modules, calls and messages in flight between them, their
 * scopes ending in any order. The processes still up forget the modules of those gone (their goodbye,
 * R-NATS-4); afterwards no socket descriptor or timer of theirs is left in this process, and every
 * call that waited has ended with a typed error.
 *
 * The oracle is the process itself (its descriptors in /proc/self/fd, Node's active timers), never the
 * context's own bookkeeping. The server is a child process: its sockets are not counted.
 */
import { Duration, Effect, Exit, Fiber, Scope } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { startNatsServer } from "../../scripts/natsServer.ts"
import * as Message from "../../src/model/Message.ts"
import { callEndedErrors, errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"
import { processResources, resourcesBackTo } from "../support/processResources.ts"
import { awaitModule, hasModule, type Proc, proc } from "./support.ts"

let runs = 0

describe("R-NATS-14 a NATS context's scope releases what it opened", () => {
  it(
    "R-NATS-14 R-NATS-4 when the processes' scopes end, in any order and whatever was in flight, the processes still up forget the modules of those gone, no socket or timer of theirs is left, and every waiting call has ended with a typed error",
    () =>
      Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const server = yield* startNatsServer
            yield* Effect.promise(() =>
              fc.assert(
                fc.asyncProperty(
                  fc.record({
                    processes: fc.integer({ min: 2, max: 3 }),
                    calls: fc.array(fc.record({ from: fc.nat(), to: fc.nat() }), { maxLength: 4 }),
                    oneWay: fc.array(fc.record({ from: fc.nat(), to: fc.nat() }), { maxLength: 4 }),
                    // The rank of each process's scope in the order they end, and how many end first.
                    order: fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
                    endingFirst: fc.integer({ min: 1, max: 2 })
                  }),
                  (script) =>
                    Effect.runPromise(
                      Effect.gen(function* () {
                        const before = yield* processResources
                        // A prefix of its own: no process of an earlier run is heard here.
                        const prefix = `scope${process.pid}r${++runs}`
                        const scopes: Array<Scope.Closeable> = []
                        const procs: Array<Proc> = []
                        for (let p = 0; p < script.processes; p++) {
                          const scope = yield* Scope.make()
                          scopes.push(scope)
                          const started = yield* Effect.provideService(proc(server.url, prefix), Scope.Scope, scope)
                          yield* started.beehive.addModule(`m${p}`)
                          yield* started.nats.serve(`m${p}`)
                          procs.push(started)
                        }
                        for (const [p, up] of procs.entries()) {
                          for (let q = 0; q < procs.length; q++) if (q !== p) yield* awaitModule(up, `m${q}`)
                        }
                        // From one process to another's module.
                        const between = (from: number, to: number) => {
                          const p = from % procs.length
                          const q = to % (procs.length - 1)
                          return { sender: procs[p] as Proc, q: q >= p ? q + 1 : q }
                        }
                        // Nobody receives: the calls wait, the messages stay in the mailboxes. The calls run
                        // outside the scopes, as a caller elsewhere in the program would.
                        const calls: Array<Fiber.Fiber<unknown, unknown>> = []
                        for (const [i, { from, to }] of script.calls.entries()) {
                          const { sender, q } = between(from, to)
                          const request = Message.make({ header: { id: `call-${i}` }, content: i })
                          calls.push(Effect.runFork(sender.beehive.sendSync(`m${q}`, request, 30_000)))
                        }
                        for (const [i, { from, to }] of script.oneWay.entries()) {
                          const { sender, q } = between(from, to)
                          yield* sender.beehive.send(`m${q}`, Message.make({ content: i }))
                        }
                        yield* Effect.sleep(Duration.millis(20))
                        const ranked = scopes.map((scope, i) => ({ scope, i, rank: script.order[i] ?? 0 }))
                        ranked.sort((a, b) => a.rank - b.rank || a.i - b.i)
                        const first = ranked.slice(0, Math.min(script.endingFirst, procs.length - 1))
                        for (const { scope } of first) yield* Scope.close(scope, Exit.void)
                        const gone = new Set(first.map(({ i }) => i))
                        for (const [p, up] of procs.entries()) {
                          if (gone.has(p)) continue
                          for (const q of gone) yield* awaitModule(up, `m${q}`, false)
                          for (let q = 0; q < procs.length; q++) {
                            if (q !== p && !gone.has(q))
                              expect(yield* hasModule(up, `m${q}`), `m${q} at ${p}`).toBe(true)
                          }
                        }
                        for (const { scope, i } of ranked) if (!gone.has(i)) yield* Scope.close(scope, Exit.void)
                        for (const fiber of calls) {
                          const exit = yield* Fiber.await(fiber).pipe(Effect.timeout(Duration.seconds(5)))
                          const error = errorOf(exit) as { readonly _tag?: string } | undefined
                          expect(callEndedErrors, `a waiting call ended with ${String(exit)}`).toContain(error?._tag)
                        }
                        const after = yield* resourcesBackTo(before, 1000)
                        expect(after.sockets, "socket descriptors left").toBeLessThanOrEqual(before.sockets)
                        expect(after.timers, "timers left").toBeLessThanOrEqual(before.timers)
                      })
                    )
                ),
                fcParams(8)
              )
            )
          })
        )
      ),
    120_000
  )
})
