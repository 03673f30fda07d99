/**
 * The NATS context's properties against a real nats-server, as a user meets it: credentials the server
 * accepts connect and wrong ones fail (R-NATS-10); payloads that are no message are reported and
 * refused, the module's messages around them in order (R-NATS-2); random send workloads arrive once,
 * in each sender's order (R-NATS-3, R-SEND-4); every sendSync ends exactly once (R-NATS-6).
 */
import { headers } from "@nats-io/transport-node"
import { Effect, Exit, Fiber, Result, type Scope } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { startNatsServerOn } from "../../scripts/natsServer.ts"
import { makeHost } from "../../src/contexts/Beehive.ts"
import { ContextHost } from "../../src/contexts/ContextHost.ts"
import { BatchHeader } from "../../src/contexts/nats/Batch.ts"
import { makeNatsContext } from "../../src/contexts/nats/NatsContext.ts"
import { subjects } from "../../src/contexts/nats/Subjects.ts"
import * as Message from "../../src/model/Message.ts"
import { encodeJsonResult } from "../../src/model/MessageJson.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"
import { rawClient } from "./durableSupport.ts"
import { awaitModule, hasModule, pair, waitUntil } from "./support.ts"

const run = <A>(body: Effect.Effect<A, unknown, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(body) as Effect.Effect<A, unknown, never>)

const msg = (id: string, content: unknown = id) => Message.make({ header: { id, timestamp: 1 }, content })

describe("NATS context properties", () => {
  it(
    "R-NATS-10 property: credentials (a user and password, a user without one, or a token) the server accepts connect, wrong ones fail with NatsConnectFailed",
    () =>
      run(
        Effect.gen(function* () {
          const secret = "s3cret-Tok"
          const servers = {
            user: yield* startNatsServerOn(undefined, ["--user", "edge", "--pass", secret]),
            token: yield* startNatsServerOn(undefined, ["--auth", secret]),
            // A user whose password is empty: a user given without `pass` is accepted.
            userOnly: yield* startNatsServerOn(undefined, ["--user", "edge", "--pass", ""])
          }
          const connectWith = (kind: "user" | "token" | "userOnly", given: string | undefined) =>
            Effect.scoped(
              Effect.gen(function* () {
                const host = yield* makeHost()
                const nats = yield* makeNatsContext({
                  servers: servers[kind].url,
                  ...(kind === "token"
                    ? { token: given }
                    : given === undefined
                      ? { user: "edge" }
                      : { user: "edge", pass: given }),
                  maxReconnectAttempts: 0
                }).pipe(Effect.provideService(ContextHost, host))
                return nats.processId
              })
            )
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(fc.oneof(fc.constant(secret), fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/)), (given) =>
                Effect.runPromise(
                  Effect.forEach(["user", "token"] as const, (kind) =>
                    Effect.gen(function* () {
                      const exit = yield* Effect.exit(connectWith(kind, given))
                      if (given === secret) expect(Exit.isSuccess(exit) && exit.value, kind).toMatch(/^[0-9a-f-]{36}$/)
                      else expect(errorOf(exit), kind).toMatchObject({ _tag: "NatsConnectFailed" })
                    })
                  ).pipe(
                    Effect.andThen(
                      Effect.gen(function* () {
                        const without = yield* Effect.exit(connectWith("userOnly", undefined))
                        expect(Exit.isSuccess(without) && without.value, "a user without pass").toMatch(
                          /^[0-9a-f-]{36}$/
                        )
                        const withPass = yield* Effect.exit(connectWith("userOnly", given))
                        expect(errorOf(withPass), "a pass the user has not").toMatchObject({
                          _tag: "NatsConnectFailed"
                        })
                      })
                    ),
                    Effect.asVoid
                  )
                )
              ),
              // The right secret always among the inputs.
              { ...fcParams(5), examples: [[secret]] }
            )
          )
        })
      ),
    20_000
  )

  it(
    'R-NATS-2 property: a payload that is no message (from a client that is no beehive) is reported BadPayload and, with a reply subject, answered at once with Beehive-Undeliverable "bad message JSON"; the module\'s messages around it arrive in order',
    () =>
      run(
        Effect.gen(function* () {
          const { server, A, B } = yield* pair
          const raw = yield* rawClient(server.url)
          const subject = subjects("t").module("a1")
          let i = 0
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(fc.string({ maxLength: 16 }), fc.boolean(), (text, withReply) =>
                Effect.runPromise(
                  Effect.gen(function* () {
                    const k = ++i
                    const reported = () =>
                      A.events.filter((e) => e._tag === "BadPayload" && e.subject === subject).length
                    const before = reported()
                    yield* B.beehive.send("a1", msg(`before${k}`))
                    // Never JSON: it starts with "<".
                    const payload = `<${text}`
                    if (withReply) {
                      const answer = yield* Effect.promise(() => raw.request(subject, payload, { timeout: 2000 }))
                      expect([answer.headers?.get("Beehive-Undeliverable"), answer.data.length]).toEqual([
                        "bad message JSON",
                        0
                      ])
                    } else raw.publish(subject, payload)
                    yield* B.beehive.send("a1", msg(`after${k}`))
                    expect((yield* A.beehive.receive("a1")).header.id).toBe(`before${k}`)
                    expect((yield* A.beehive.receive("a1")).header.id).toBe(`after${k}`)
                    // The raw client's payload and B's messages come from two publishers: no order between them.
                    yield* waitUntil(() => reported() > before, "the payload reported")
                    expect(reported()).toBe(before + 1)
                  })
                )
              ),
              fcParams(10)
            )
          )
        })
      ),
    20_000
  )

  it(
    "R-NATS-2 R-NATS-13 property: a message from a client that is no beehive, with any headers but a batch count (or with an empty one), is delivered as one message",
    () =>
      run(
        Effect.gen(function* () {
          const { server, A } = yield* pair
          const raw = yield* rawClient(server.url)
          const subject = subjects("t").module("a1")
          let i = 0
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(
                fc.dictionary(
                  fc
                    .stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,11}$/)
                    .filter((key) => key.toLowerCase() !== "beehive-batch"),
                  fc.stringMatching(/^[A-Za-z0-9 ]{0,8}$/),
                  { maxKeys: 3 }
                ),
                fc.boolean(),
                (extra, emptyCount) =>
                  Effect.runPromise(
                    Effect.gen(function* () {
                      const id = `plain${++i}`
                      const h = headers()
                      for (const [key, value] of Object.entries(extra)) h.set(key, value)
                      if (emptyCount) h.set(BatchHeader, "")
                      const json = encodeJsonResult(msg(id))
                      if (Result.isFailure(json)) throw json.failure
                      const badBefore = A.events.filter((e) => e._tag === "BadPayload").length
                      raw.publish(subject, json.success, { headers: h })
                      // Refused, it would never come: the bound turns that into a failure.
                      const received = yield* A.beehive.receive("a1").pipe(Effect.timeout("2 seconds"))
                      expect(received.header.id).toBe(id)
                      expect(A.events.filter((e) => e._tag === "BadPayload")).toHaveLength(badBefore)
                    })
                  )
              ),
              fcParams(15)
            )
          )
        })
      ),
    20_000
  )

  it(
    "R-NATS-4 property: awaitModule calls waiting at once return once their module is registered (the next snapshot has it), and those for a module nobody serves fail with ModuleNotFound at their timeout, not before",
    () =>
      run(
        Effect.gen(function* () {
          const { A, B } = yield* pair
          let round = 0
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(
                fc.array(
                  fc.record({
                    module: fc.integer({ min: 0, max: 2 }),
                    served: fc.boolean(),
                    timeoutMs: fc.integer({ min: 20, max: 150 })
                  }),
                  { minLength: 1, maxLength: 5 }
                ),
                (waits) =>
                  Effect.runPromise(
                    Effect.gen(function* () {
                      const r = ++round
                      const name = (k: number) => `w${r}-${k}`
                      const served = new Set(waits.filter((w) => w.served).map((w) => w.module))
                      const started = performance.now()
                      // Served modules get a bound that does not expire here; the others, their short one.
                      const waiting = yield* Effect.forkChild(
                        Effect.all(
                          waits.map((w) =>
                            Effect.gen(function* () {
                              const exit = yield* Effect.exit(
                                B.nats.awaitModule(name(w.module), served.has(w.module) ? "10 seconds" : w.timeoutMs)
                              )
                              return { w, exit, afterMs: performance.now() - started }
                            })
                          ),
                          { concurrency: "unbounded" }
                        )
                      )
                      for (const k of served) {
                        yield* A.beehive.addModule(name(k))
                        yield* A.nats.serve(name(k))
                      }
                      for (const { w, exit, afterMs } of yield* Fiber.join(waiting)) {
                        if (served.has(w.module)) {
                          expect(Exit.isSuccess(exit), name(w.module)).toBe(true)
                          expect(yield* hasModule(B, name(w.module))).toBe(true)
                        } else {
                          expect(errorOf(exit)).toMatchObject({ _tag: "ModuleNotFound", module: name(w.module) })
                          expect(afterMs).toBeGreaterThanOrEqual(w.timeoutMs - 1)
                        }
                      }
                    })
                  )
              ),
              fcParams(10)
            )
          )
        })
      ),
    30_000
  )

  it(
    "R-NATS-3 R-SEND-4 property: per-sender order and no loss for random send workloads",
    () =>
      run(
        Effect.gen(function* () {
          const { A, B } = yield* pair
          yield* A.beehive.addModule("a2")
          yield* A.nats.serve("a2")
          yield* awaitModule(B, "a2")
          let run = 0
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(
                fc.array(fc.constantFrom("a1", "a2", "b1"), { minLength: 1, maxLength: 60 }),
                (targets) => {
                  run++
                  return Effect.runPromise(
                    Effect.gen(function* () {
                      for (let i = 0; i < targets.length; i++) {
                        const target = targets[i] as string
                        const sender = target === "b1" ? A : B
                        yield* sender.beehive.send(target, msg(`${run}-${i}`, i))
                      }
                      for (const target of ["a1", "a2", "b1"]) {
                        const expected = targets.flatMap((t, i) => (t === target ? [i] : []))
                        const receiver = target === "b1" ? B : A
                        const got: Array<unknown> = []
                        for (let k = 0; k < expected.length; k++)
                          got.push((yield* receiver.beehive.receive(target)).content)
                        expect(got).toEqual(expected)
                        expect((yield* receiver.beehive.snapshot).modules.find((m) => m.name === target)?.queued).toBe(
                          0
                        )
                      }
                    })
                  )
                }
              ),
              fcParams(15)
            )
          )
        })
      ),
    60_000
  )

  it(
    "R-NATS-6 property: every sendSync ends exactly once, with its response or a typed error",
    () =>
      run(
        Effect.gen(function* () {
          const { A, B } = yield* pair
          let run = 0
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), (answers) => {
                run++
                return Effect.runPromise(
                  Effect.scoped(
                    Effect.gen(function* () {
                      // A answers the requests whose flag is true, in arrival order, and ignores the others.
                      yield* Effect.forkScoped(
                        Effect.forever(
                          Effect.gen(function* () {
                            const request = yield* A.beehive.receive("a1")
                            if (request.content === true) {
                              yield* A.beehive.sendResp(yield* Message.newResponse(request, "ok"), "a1")
                            }
                          })
                        )
                      )
                      const exits = yield* Effect.forEach(
                        answers,
                        (answer, i) => Effect.exit(B.beehive.sendSync("a1", msg(`s${run}-${i}`, answer), 400)),
                        { concurrency: "unbounded" }
                      )
                      exits.forEach((exit, i) => {
                        if (answers[i]) {
                          expect(Exit.isSuccess(exit) && exit.value.header.parentId).toBe(`s${run}-${i}`)
                        } else {
                          expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("SyncTimeout")
                        }
                      })
                      expect((yield* B.beehive.snapshot).pendingCalls).toEqual([])
                    })
                  )
                )
              }),
              fcParams(8)
            )
          )
        })
      ),
    60_000
  )
})
