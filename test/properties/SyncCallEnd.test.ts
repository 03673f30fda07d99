/**
 * How synchronous calls end, as properties (R-GSYNC-2, R-GSYNC-4, R-GSYNC-7, R-SYNC-6, R-GLOBAL-6)
 * over generated groups and schedules: members that answer in any order, answers sent while the
 * caller's fiber is preempted between the answer that decides the call and the call's end, members
 * whose mailbox is full so that their copy (or the request) waits for room, and calls that end by
 * their answers, at their deadline, by a cleanup, or interrupted at any point of the schedule. Once a call
 * has decided, every further response gets `false`; when a call ends, however it ends, nothing it
 * offered still waits for room: a module drained afterwards finds only what was there before.
 */
import { Effect, Exit, Fiber, Layer, Scope } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Beehive, type BeehiveService, makeBeehive } from "../../src/contexts/Beehive.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import { random, type Strategy } from "../../src/effects/Strategy.ts"
import * as Message from "../../src/model/Message.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"
import { msg, settle } from "../support/messages.ts"
import { arbPreemption, underPreemption } from "../support/preemption.ts"

const members = ["edged", "edgehub", "twin", "bus"] as const

/** Runs `body` with a fresh context of mailbox capacity 1 and the test clock. */
const withBeehive = <A, E>(body: (beehive: BeehiveService) => Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        return yield* body(yield* Beehive)
      })
    ).pipe(Effect.provide(Layer.merge(Beehive.layerWith({ capacity: 1 }), TestClock.layer())))
  )

/**
 * A deterministic runtime under random preemption, with a context of mailbox capacity 1 whose module
 * "edged" is full (a filler no one receives), and how many senders wait for room in it.
 */
const fullEdged = (seed: number, preemption: number) => {
  const sim = new SimRuntime({ strategy: random(seed, preemption) })
  const scope = sim.run(Scope.make())
  const beehive = sim.run(Scope.provide(makeBeehive({ capacity: 1 }), scope))
  sim.run(
    Effect.gen(function* () {
      yield* beehive.addModule("edged")
      yield* beehive.send("edged", msg("filler"))
    })
  )
  const waitingSenders = beehive.snapshot.pipe(
    Effect.map((s) => s.modules.find((m) => m.name === "edged")?.waitingSenders ?? 0)
  )
  return { sim, scope, beehive, waitingSenders }
}

describe("R-GSYNC R-SYNC how a sync call ends", () => {
  it("R-GSYNC-2 R-GSYNC-3 R-GLOBAL-6 once the call has decided, every further response gets false, whenever the caller's fiber runs again", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: members.length }),
        fc.infiniteStream(fc.nat()),
        // Late responses: attributed to a member (by index), or unattributed.
        fc.array(fc.option(fc.nat({ max: members.length - 1 }), { nil: undefined }), { minLength: 1, maxLength: 5 }),
        fc.nat(),
        fc.constantFrom(0, 0.2, 0.5),
        (n, shuffle, late, seed, preemption) => {
          const group = members.slice(0, n)
          // The order in which the members answer: a generated permutation.
          const order: Array<string> = [...group]
          for (let i = order.length - 1; i > 0; i--) {
            const j = (shuffle.next().value as number) % (i + 1)
            ;[order[i], order[j]] = [order[j] as string, order[i] as string]
          }
          // Preemptions may stop the caller's fiber between the answer that decides the call and the
          // end of the call, while the responder goes on: the late responses may find the call decided
          // but not yet gone.
          const sim = new SimRuntime({ strategy: random(seed, preemption) })
          const scope = sim.run(Scope.make())
          const beehive = sim.run(Scope.provide(makeBeehive({ capacity: 1 }), scope))
          sim.run(
            Effect.gen(function* () {
              for (const m of group) {
                yield* beehive.addModule(m)
                yield* beehive.addModuleGroup(m, "g")
              }
            })
          )
          const call = sim.fork(beehive.sendToGroupSync("g", msg("request"), 10_000))
          sim.settle()
          const answered: Array<boolean> = []
          const lateAnswers: Array<boolean> = []
          sim.run(
            Effect.gen(function* () {
              const copies = new Map<string, Message.Message>()
              for (const m of group) copies.set(m, yield* beehive.receive(m))
              for (const m of order)
                answered.push(yield* beehive.sendResp(yield* Message.newResponse(copies.get(m)!, m), m))
              for (const who of late) {
                const from = who === undefined ? undefined : members[who]
                const response = yield* Message.newResponse(copies.get(order[0]!)!, "late")
                lateAnswers.push(yield* beehive.sendResp(response, from))
              }
            })
          )
          sim.settle()
          expect(answered).toEqual(order.map(() => true))
          expect(lateAnswers, `late responses from ${JSON.stringify(late)}`).toEqual(late.map(() => false))
          const exit = call.pollUnsafe()
          if (exit === undefined || Exit.isFailure(exit)) throw new Error(`the call did not succeed: ${String(exit)}`)
          expect([...exit.value.responses.keys()]).toEqual(order)
          expect(exit.value.anonymous).toEqual([])
          sim.run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(100)
    ))

  it("R-GSYNC-4 R-GSYNC-7 when the call ends, by its answers or at its deadline, no copy it offered still waits for room", () =>
    fc.assert(
      fc.asyncProperty(
        // Whether each member's mailbox (capacity 1) is full when the call starts.
        fc.array(fc.boolean(), { minLength: 1, maxLength: members.length }),
        fc.constantFrom("answers" as const, "deadline" as const),
        fc.integer({ min: 1, max: 5_000 }),
        async (full, ending, timeoutMs) => {
          const group = members.slice(0, full.length)
          await withBeehive((beehive) =>
            Effect.gen(function* () {
              for (const [i, m] of group.entries()) {
                yield* beehive.addModule(m)
                yield* beehive.addModuleGroup(m, "g")
                if (full[i]) yield* beehive.send(m, msg(`filler of ${m}`))
              }
              const call = yield* Effect.forkChild(beehive.sendToGroupSync("g", msg("request"), timeoutMs))
              yield* settle
              if (ending === "answers") {
                // Members with room answer their copy; each full member is stood for by an
                // unattributed response (R-GSYNC-6): the call succeeds while their copies wait.
                const request = msg("request")
                for (const [i, m] of group.entries()) {
                  const response = yield* Message.newResponse(request, m)
                  if (full[i]) yield* beehive.sendResp(response)
                  else {
                    yield* beehive.receive(m)
                    yield* beehive.sendResp(response, m)
                  }
                }
              } else yield* TestClock.adjust(timeoutMs)
              const exit = yield* Fiber.await(call)
              if (ending === "answers") expect(Exit.isSuccess(exit)).toBe(true)
              else expect(errorOf(exit)).toMatchObject({ _tag: "GroupSyncError", reason: "Timeout" })
              yield* settle
              const snapshot = yield* beehive.snapshot
              for (const [i, m] of group.entries()) {
                const module = snapshot.modules.find((s) => s.name === m)
                expect(module?.waitingSenders, `copies waiting for ${m}`).toBe(0)
                // A full member holds its filler and nothing more; a member with room, the copy it
                // did not receive (deadline) or nothing (it received it).
                if (full[i]) {
                  expect((yield* beehive.receive(m)).header.id).toBe(`filler of ${m}`)
                  expect((yield* beehive.snapshot).modules.find((s) => s.name === m)?.queued).toBe(0)
                }
              }
              expect(snapshot.pendingCalls).toEqual([])
            })
          )
        }
      ),
      fcParams(60)
    ))

  it("R-GSYNC-7 R-SYNC-6 R-GROUP-5 R-SEND-3 R-GLOBAL-6 a call interrupted at any point of any schedule leaves no request or copy waiting for room", () =>
    fc.assert(
      fc.property(
        fc.constantFrom("sendSync" as const, "sendToGroupSync" as const, "sendToGroup" as const, "send" as const),
        // Whether each member's mailbox (capacity 1) is full when the call starts.
        fc.array(fc.boolean(), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: 12 }),
        fc.nat(),
        // Preemptions drawn at random, or one fitted to the run (measured first, then placed): a
        // window of one operation, such as the one between offering a broadcast's copies and waiting
        // for them, is reached only by the second.
        arbPreemption([0, 0.2, 0.5]),
        (operation, full, yieldsBeforeInterrupt, seed, preemption) => {
          const group = members.slice(0, full.length)
          const interruptedCall = (strategy: Strategy): void => {
            const sim = new SimRuntime({ strategy })
            const scope = sim.run(Scope.make())
            const beehive = sim.run(Scope.provide(makeBeehive({ capacity: 1 }), scope))
            sim.run(
              Effect.gen(function* () {
                for (const [i, m] of group.entries()) {
                  yield* beehive.addModule(m)
                  yield* beehive.addModuleGroup(m, "g")
                  if (full[i]) yield* beehive.send(m, msg(`filler of ${m}`))
                }
              })
            )
            // The call and its interrupter start together: the interruption lands anywhere from before
            // the call has registered to while it waits.
            sim.run(
              Effect.gen(function* () {
                const call = yield* Effect.forkChild(
                  operation === "sendSync"
                    ? beehive.sendSync(group[0] as string, msg("request"), 60_000)
                    : operation === "send"
                      ? beehive.send(group[0] as string, msg("request"))
                      : operation === "sendToGroup"
                        ? beehive.sendToGroup("g", msg("request"))
                        : beehive.sendToGroupSync("g", msg("request"), 60_000)
                )
                for (let i = 0; i < yieldsBeforeInterrupt; i++) yield* Effect.yieldNow
                yield* Fiber.interrupt(call)
              })
            )
            sim.settle()
            const snapshot = sim.run(beehive.snapshot)
            expect(snapshot.pendingCalls).toEqual([])
            const targets = operation === "sendSync" || operation === "send" ? group.slice(0, 1) : group
            for (const m of targets) {
              const module = snapshot.modules.find((s) => s.name === m)
              expect(module?.waitingSenders, `requests waiting for room at ${m}`).toBe(0)
              // Whatever the module holds now, draining it never yields a request after the filler.
              const held = sim.run(
                Effect.gen(function* () {
                  const ids: Array<string> = []
                  while (((yield* beehive.snapshot).modules.find((s) => s.name === m)?.queued ?? 0) > 0)
                    ids.push((yield* beehive.receive(m)).header.id)
                  return ids
                })
              )
              const i = group.indexOf(m)
              if (full[i]) expect(held, `what ${m} held`).toEqual([`filler of ${m}`])
              expect(sim.run(beehive.snapshot).modules.find((s) => s.name === m)?.waitingSenders).toBe(0)
            }
            sim.run(Scope.close(scope, Exit.void))
          }
          underPreemption(seed, preemption, interruptedCall)
        }
      ),
      fcParams(600)
    ))

  it("R-SYNC-2 R-SYNC-6 a sendSync is out of the pending calls by the time its caller has the outcome, however the call ended, so the caller can use its id again at once", () =>
    fc.assert(
      fc.property(
        fc.constantFrom("answered" as const, "deadline" as const, "cleanup" as const),
        // Whether the mailbox (capacity 1) is full, so that the request waits for room.
        fc.boolean(),
        // How long the responder (or the cleanup) waits before it acts: from before the request is
        // offered (an answer inside the offer) to after the caller has suspended.
        fc.integer({ min: 0, max: 4 }),
        fc.nat(),
        arbPreemption([0, 0.2, 0.5]),
        (ending, full, yields, seed, preemption) => {
          const call = (strategy: Strategy): void => {
            const sim = new SimRuntime({ strategy })
            const scope = sim.run(Scope.make())
            const beehive = sim.run(Scope.provide(makeBeehive({ capacity: 1 }), scope))
            sim.run(beehive.addModule("edged"))
            if (full) sim.run(beehive.send("edged", msg("filler")))
            const request = msg("request")
            const caller = sim.fork(
              Effect.gen(function* () {
                if (ending === "answered")
                  yield* Effect.forkChild(
                    Effect.gen(function* () {
                      for (let i = 0; i < yields; i++) yield* Effect.yieldNow
                      while ((yield* beehive.receive("edged")).header.id !== request.header.id);
                      yield* beehive.sendResp(yield* Message.newResponse(request, "ok"), "edged")
                    })
                  )
                if (ending === "cleanup")
                  yield* Effect.forkChild(
                    Effect.gen(function* () {
                      for (let i = 0; i < yields; i++) yield* Effect.yieldNow
                      yield* beehive.cleanup("edged")
                    })
                  )
                const exit = yield* Effect.exit(beehive.sendSync("edged", request, 1_000))
                // Read in the caller's own next operations, before anything else it does.
                const pending = (yield* beehive.snapshot).pendingCalls
                const again = yield* Effect.exit(beehive.sendSync("edged", request, 1))
                return { exit, pending, again }
              })
            )
            sim.settle()
            sim.advanceBy(1_001)
            const seen = caller.pollUnsafe()
            expect(seen, "the caller ended").toBeDefined()
            if (seen === undefined || !Exit.isSuccess(seen)) throw new Error("the caller failed")
            const { exit, pending, again } = seen.value
            if (ending === "answered") expect(Exit.isSuccess(exit)).toBe(true)
            else if (ending === "deadline") expect(errorOf(exit)).toMatchObject({ _tag: "SyncTimeout" })
            else expect(["RequestDropped", "ModuleClosed", "ModuleNotFound"]).toContain(errorOf(exit)?._tag)
            expect(pending, "calls pending when the caller has its outcome").toEqual([])
            expect(errorOf(again)?._tag, "the same id used again at once").not.toBe("DuplicateRequestId")
            sim.run(Scope.close(scope, Exit.void))
          }
          underPreemption(seed, preemption, call)
        }
      ),
      fcParams(300)
    ))

  it("R-GLOBAL-6 R-SYNC-6 once an interruption has withdrawn a sendSync's request from the line, a response to it gets false", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.nat(),
        fc.constantFrom(0.2, 0.5),
        (yieldsBeforeInterrupt, seed, preemption) => {
          const { sim, scope, beehive, waitingSenders } = fullEdged(seed, preemption)
          const request = msg("request")
          // The request joins the line (no one receives, so it waits for room) and leaves it only when
          // the interruption withdraws it. The responder watches the line from then on, and answers as
          // soon as the request has left it.
          let joined = false
          const answer = sim.run(
            Effect.gen(function* () {
              const call = yield* Effect.forkChild(beehive.sendSync("edged", request, 60_000))
              const responder = yield* Effect.forkChild(
                Effect.gen(function* () {
                  while (!joined) yield* Effect.yieldNow
                  while ((yield* waitingSenders) > 0) yield* Effect.yieldNow
                  return yield* beehive.sendResp(yield* Message.newResponse(request, "late"), "edged")
                })
              )
              for (let i = 0; i < yieldsBeforeInterrupt; i++) yield* Effect.yieldNow
              while ((yield* waitingSenders) === 0) yield* Effect.yieldNow
              joined = true
              yield* Fiber.interrupt(call)
              const ended = yield* Fiber.await(call)
              return { answered: yield* Fiber.join(responder), ended }
            })
          )
          expect(answer.answered).toBe(false)
          expect(Exit.hasInterrupts(answer.ended)).toBe(true)
          sim.run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(150)
    ))

  it("R-SYNC-4 R-SYNC-6 R-CLEAN-3 once a cleanup has ended a sendSync whose request waited for room (ModuleClosed), a response to it gets false, whether it comes before the caller's fiber runs again or after", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom(undefined, "edgehub", "edged"),
        fc.nat(),
        fc.constantFrom(0, 0.2, 0.5),
        (yieldsAfterCleanup, from, seed, preemption) => {
          const { sim, scope, beehive, waitingSenders } = fullEdged(seed, preemption)
          sim.run(beehive.addModule("edgehub"))
          const request = msg("request")
          const outcome = sim.run(
            Effect.gen(function* () {
              const call = yield* Effect.forkChild(beehive.sendSync("edged", request, 60_000))
              while ((yield* waitingSenders) === 0) yield* Effect.yieldNow
              // The cleanup ends the call; the response follows in the same fiber, with no step of its
              // own in between when no yield and no preemption comes (the caller not yet run again).
              yield* beehive.cleanup("edged")
              for (let i = 0; i < yieldsAfterCleanup; i++) yield* Effect.yieldNow
              const answered = yield* beehive.sendResp(yield* Message.newResponse(request, "late"), from)
              return { answered, ended: yield* Fiber.await(call) }
            })
          )
          expect(errorOf(outcome.ended)).toMatchObject({ _tag: "ModuleClosed", module: "edged" })
          expect(outcome.answered, "a response to a call that has ended").toBe(false)
          sim.run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(150)
    ))
})
