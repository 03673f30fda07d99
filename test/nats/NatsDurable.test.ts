/**
 * Durable mailboxes on JetStream (R-NATS-12) against a real nats-server started with `-js` (its store
 * in a temporary directory), the examples: the typed errors of the configuration and of a full stream,
 * sync calls over core NATS, deleting a durable mailbox, a module slow to receive; and the property
 * that kills serving processes, which are child processes built from dist/. The properties that run
 * in this process are in NatsDurableProperties.test.ts (the properties-only mutation run takes them).
 */
import { Effect, Exit, Fiber, Result, Schedule, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { startNatsServer } from "../../scripts/natsServer.ts"
import { makeHost } from "../../src/contexts/Beehive.ts"
import { ContextHost } from "../../src/contexts/ContextHost.ts"
import { makeNatsContext } from "../../src/contexts/nats/NatsContext.ts"
import { type NatsEvent, parseNatsConfig, resolveNatsOptions } from "../../src/contexts/nats/NatsOptions.ts"
import { durableStreamName } from "../../src/contexts/nats/Subjects.ts"
import * as Message from "../../src/model/Message.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"
import { AckWaitMs, run, sendBursts, startServing, stopServing } from "./durableSupport.ts"
import { killFixture, startFixture } from "./fixtureChild.ts"
import { type Proc, procWith, sharedServer, startJetStreamServer, waitUntil } from "./support.ts"

const server = sharedServer(startJetStreamServer)

describe("NATS durable mailboxes (JetStream)", () => {
  it("R-NATS-10 R-NATS-12 durable options and YAML are validated, errors naming the key", () => {
    const key = (o: unknown) => {
      const r = resolveNatsOptions({ servers: "nats://x:1", ...(o as object) } as never)
      return Result.isFailure(r) ? r.failure.key : undefined
    }
    expect(key({ durable: "box" })).toBe("durable")
    expect(key({ durable: ["a", ""] })).toBe("durable[1]")
    expect(key({ durable: ["a", "b", "a"] })).toBe("durable[2]")
    expect(key({ durable: ["x".repeat(300)] })).toBe("durable[0]")
    expect(key({ durableMaxMessages: 0 })).toBe("durableMaxMessages")
    expect(key({ durableMaxBytes: 1.5 })).toBe("durableMaxBytes")
    expect(key({ durable: ["a"], heartbeatMs: 1000, durableAckWaitMs: 1500 })).toBe("durableAckWaitMs")
    // Without a durable module the ack wait is not used: any heartbeat stays valid.
    expect(key({ heartbeatMs: 60_000 })).toBeUndefined()
    expect(key({ durable: ["a", "b"], durableMaxMessages: 10, durableAckWaitMs: 2000 })).toBeUndefined()
    const yaml = parseNatsConfig("servers: [nats://h:4222]\ndurable: [edged, meta]\ndurablemaxmessages: 5\n")
    expect(Result.isSuccess(yaml) && yaml.success).toMatchObject({ durable: ["edged", "meta"], durableMaxMessages: 5 })
    const bad = parseNatsConfig("servers: [nats://h:4222]\ndurable: [edged, edged]\n")
    expect(Result.isFailure(bad) && bad.failure.key).toBe("durable[1]")
    const badLimit = parseNatsConfig("servers: [nats://h:4222]\ndurablemaxbytes: -1\n")
    expect(Result.isFailure(badLimit) && badLimit.failure.key).toBe("durableMaxBytes")
    // One stream per prefix and module: the names of different pairs (valid prefixes) differ.
    const names = [
      ["a.b", "c"],
      ["a", "b~c"],
      ["a", "b"],
      ["a", "b.c"],
      ["a_b", "c"],
      ["a", "%7E"]
    ].map(([p, m]) => durableStreamName(p as string, m as string))
    expect(new Set(names).size).toBe(names.length)
    for (const n of names) expect(n).not.toMatch(/[.*> /\\]/)
  })

  it(
    "R-NATS-12 a server without JetStream: make fails with NatsConfigError naming durable",
    () =>
      run(
        Effect.gen(function* () {
          const plain = yield* startNatsServer
          const host = yield* makeHost()
          const exit = yield* Effect.exit(
            makeNatsContext({ servers: plain.url, durable: ["box"] }).pipe(Effect.provideService(ContextHost, host))
          )
          // The reason says why (R-NATS-10): the server runs no JetStream.
          expect(errorOf(exit)).toMatchObject({
            _tag: "NatsConfigError",
            key: "durable",
            reason: expect.stringContaining("JetStream")
          })
        })
      ),
    20_000
  )

  it(
    "R-NATS-12 a durable module's name taken here already: make fails with NatsConfigError naming it",
    () =>
      run(
        Effect.gen(function* () {
          const host = yield* makeHost()
          yield* host.beehive.addModule("taken")
          const exit = yield* Effect.exit(
            makeNatsContext({ servers: server.url, prefix: "taken", durable: ["free", "taken"] }).pipe(
              Effect.provideService(ContextHost, host)
            )
          )
          expect(errorOf(exit)).toMatchObject({ _tag: "NatsConfigError", key: "durable[1]" })
        })
      ),
    20_000
  )

  let failedRun = 0
  it(
    "R-NATS-12 R-API-5 property: a NATS context whose start fails (its server runs no JetStream, or a durable module's name is taken here) leaves the global context as it was, no module of it registered and its context type not plugged in; one started after on the same host, the cause gone, starts with every durable module (until a property found it, the failed start left the type plugged in and its first durable modules registered, and every start after failed)",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.constantFrom("edged", "meta", "twin", "bus"), { minLength: 1, maxLength: 3 }),
          fc.nat(),
          fc.constantFrom("no JetStream" as const, "name taken" as const),
          (durable, takenAt, cause) =>
            run(
              Effect.gen(function* () {
                const prefix = `failed${++failedRun}`
                const host = yield* makeHost()
                const taken = durable[takenAt % durable.length] as string
                if (cause === "name taken") yield* host.beehive.addModule(taken)
                const plain = cause === "no JetStream" ? (yield* startNatsServer).url : server.url
                const names = Effect.map(host.beehive.snapshot, (s) => s.modules.map((m) => m.name).sort())
                const before = yield* names
                const failed = yield* Effect.exit(
                  Effect.scoped(
                    makeNatsContext({ servers: plain, prefix, durable }).pipe(Effect.provideService(ContextHost, host))
                  )
                )
                expect(errorOf(failed)).toMatchObject({ _tag: "NatsConfigError" })
                expect(yield* names).toEqual(before)
                if (cause === "name taken") yield* host.beehive.cleanup(taken)
                yield* makeNatsContext({ servers: server.url, prefix, durable }).pipe(
                  Effect.provideService(ContextHost, host)
                )
                const registered = (yield* host.beehive.snapshot).modules
                expect(registered.map((m) => [m.name, m.contextType]).sort()).toEqual(
                  durable.map((m) => [m, "nats"]).sort()
                )
              })
            )
        ),
        fcParams(8)
      ),
    60_000
  )

  it(
    "R-NATS-12 processes starting together with different limits make the stream once, and both start",
    () =>
      run(
        Effect.gen(function* () {
          const [A, B] = yield* Effect.all(
            [3, 5].map((limit) =>
              procWith(server.url, { prefix: "race", durable: ["box"], durableMaxMessages: limit })
            ),
            { concurrency: "unbounded" }
          )
          let stored = 0
          for (let i = 0; i < 6; i++) {
            const exit = yield* Effect.exit((A as Proc).nats.sendDurable("box", msg(`r${i}`)))
            if (Exit.isSuccess(exit)) stored++
            else expect(errorOf(exit)).toMatchObject({ _tag: "DurableMailboxFull" })
          }
          // One of the two limits, whichever process made the stream.
          expect([3, 5]).toContain(stored)
          expect(errorOf(yield* Effect.exit((B as Proc).nats.sendDurable("box", msg("r6"))))).toMatchObject({
            _tag: "DurableMailboxFull"
          })
        })
      ),
    20_000
  )

  it(
    "R-NATS-12 a full stream: sendDurable fails with DurableMailboxFull and nothing is stored; send's refusal is reported DurableRefused and passed to onUndeliverable; room made by a receive is used again",
    () =>
      run(
        Effect.gen(function* () {
          const undeliverable: Array<string> = []
          const host = yield* makeHost({ onUndeliverable: (_, m) => undeliverable.push(m.header.id) })
          const events: Array<NatsEvent> = []
          const options = { prefix: "full", durable: ["box"], durableMaxMessages: 3, durableAckWaitMs: AckWaitMs }
          const B = yield* makeNatsContext({
            servers: server.url,
            ...options,
            heartbeatMs: 150,
            onEvent: (e) => events.push(e)
          }).pipe(Effect.provideService(ContextHost, host))
          for (let i = 0; i < 3; i++) yield* B.sendDurable("box", msg(`k${i}`))
          const full = yield* Effect.exit(B.sendDurable("box", msg("k3")))
          expect(errorOf(full)).toMatchObject({ _tag: "DurableMailboxFull", module: "box", msgId: "k3" })
          // A plain send completes at the outbox; the stream's refusal is reported, never silent.
          yield* host.beehive.send("box", msg("k4"))
          yield* waitUntil(() => undeliverable.includes("k4"), "k4 to be reported undeliverable")
          expect(events.filter((e) => e._tag === "DurableRefused").map((e) => (e as { msgId: string }).msgId)).toEqual([
            "k3",
            "k4"
          ])
          expect(undeliverable).toEqual(["k3", "k4"])
          // A serving process receives what was stored, and only that; its receive makes room.
          const received: Array<string> = []
          const A = yield* startServing(server.url, "full", "box", received, { maxInbound: 8, delayMs: 0 })
          yield* waitUntil(() => received.length >= 3, "the stored messages")
          // The room comes once the server has the receive's acknowledgement, a moment after the
          // receive: until then the stream is still full, and a refused message is not stored.
          yield* B.sendDurable("box", msg("k5")).pipe(
            Effect.retry({
              while: (e) => e._tag === "DurableMailboxFull",
              schedule: Schedule.spaced("20 millis"),
              times: 250
            })
          )
          yield* waitUntil(() => received.length >= 4, "k5")
          yield* stopServing(A)
          expect(received).toEqual(["k0", "k1", "k2", "k5"])
        })
      ),
    20_000
  )

  it(
    "R-NATS-12 R-NATS-6 sync calls to a durable module stay core NATS: answered by the process serving it, and with nobody serving it an error response at once, the module staying registered",
    () =>
      run(
        Effect.gen(function* () {
          const options = { prefix: "sync", durable: ["box"], durableAckWaitMs: AckWaitMs }
          const B = yield* procWith(server.url, options)
          const nobody = yield* B.beehive.sendSync("box", msg("q0"), 5000)
          expect([nobody.route.operation, nobody.content]).toEqual(["error", 'no process serves module "box"'])
          expect(B.events.some((e) => e._tag === "NoResponders")).toBe(true)
          yield* B.beehive.send("box", msg("one-way"))
          const s = yield* Scope.make()
          const A = yield* procWith(server.url, options).pipe(Scope.provide(s))
          yield* A.nats.serve("box")
          const answering = yield* Effect.forkChild(
            Effect.gen(function* () {
              const got: Array<string> = []
              for (let i = 0; i < 2; i++) {
                const m = yield* A.beehive.receive("box")
                got.push(m.header.id)
                if (m.header.sync) yield* A.beehive.sendResp(yield* Message.newResponse(m, "answer"), "box")
              }
              return got
            })
          )
          const answer = yield* B.beehive.sendSync("box", msg("q1"), 5000)
          expect([answer.header.parentId, answer.content]).toEqual(["q1", "answer"])
          expect((yield* Fiber.join(answering)).sort()).toEqual(["one-way", "q1"])
          yield* Scope.close(s, Exit.void)
          // The serving process gone (its goodbye heard), the module is still registered and still kept.
          yield* Effect.sleep(200)
          expect((yield* B.beehive.snapshot).modules.some((m) => m.name === "box")).toBe(true)
          yield* B.beehive.send("box", msg("kept"))
          const received: Array<string> = []
          const A2 = yield* startServing(server.url, "sync", "box", received, { maxInbound: 8, delayMs: 0 })
          yield* waitUntil(() => received.length >= 1, "the kept message")
          yield* stopServing(A2)
          expect(received).toEqual(["kept"])
        })
      ),
    20_000
  )

  it(
    "R-NATS-12 cleanup keeps a durable mailbox; deleteDurable deletes its stream and messages, and a module not durable here is ModuleNotFound",
    () =>
      run(
        Effect.gen(function* () {
          const options = { prefix: "del", durable: ["box"], durableAckWaitMs: AckWaitMs }
          const s = yield* Scope.make()
          const B = yield* procWith(server.url, options).pipe(Scope.provide(s))
          yield* B.nats.sendDurable("box", msg("d0"))
          yield* B.beehive.cleanup("box")
          expect(errorOf(yield* Effect.exit(B.beehive.send("box", msg("x"))))).toMatchObject({
            _tag: "ModuleNotFound"
          })
          expect(errorOf(yield* Effect.exit(B.nats.sendDurable("box", msg("x"))))).toMatchObject({
            _tag: "ModuleNotFound"
          })
          yield* Scope.close(s, Exit.void)
          // Another process finds the message kept, and deletes the mailbox.
          const C = yield* procWith(server.url, options)
          const received: Array<string> = []
          const A = yield* startServing(server.url, "del", "box", received, { maxInbound: 8, delayMs: 0 })
          yield* waitUntil(() => received.length >= 1, "the kept message")
          yield* stopServing(A)
          expect(received).toEqual(["d0"])
          yield* C.nats.sendDurable("box", msg("d1"))
          yield* C.nats.deleteDurable("box")
          expect((yield* C.beehive.snapshot).modules.some((m) => m.name === "box")).toBe(false)
          expect(errorOf(yield* Effect.exit(C.nats.deleteDurable("other")))).toMatchObject({ _tag: "ModuleNotFound" })
          // A new process makes the stream anew: empty, d1 went with the old one.
          const received2: Array<string> = []
          const A2 = yield* startServing(server.url, "del", "box", received2, { maxInbound: 8, delayMs: 0 })
          const D = yield* procWith(server.url, options)
          yield* D.nats.sendDurable("box", msg("d2"))
          yield* waitUntil(() => received2.length >= 1, "d2")
          yield* stopServing(A2)
          expect(received2).toEqual(["d2"])
        })
      ),
    20_000
  )

  it(
    "R-NATS-12 a module that does not receive for longer than the ack wait: what its process fetched is kept in progress at heartbeats, not redelivered, and received once",
    () =>
      run(
        Effect.gen(function* () {
          const options = { prefix: "slow", durable: ["box"], durableAckWaitMs: AckWaitMs }
          const B = yield* procWith(server.url, options)
          const A = yield* procWith(server.url, { ...options, maxInbound: 4 })
          yield* A.nats.serve("box")
          for (let i = 0; i < 3; i++) yield* B.nats.sendDurable("box", msg(`w${i}`))
          // Nobody receives for 2.5 ack waits: 3 fetched in the mailbox, a fetch for 1 more outstanding,
          // which JetStream would fill with a redelivery of what A holds if A did not keep it in progress.
          yield* Effect.sleep(2.5 * AckWaitMs)
          const received: Array<string> = []
          for (let i = 0; i < 3; i++) received.push((yield* A.beehive.receive("box")).header.id)
          expect(received).toEqual(["w0", "w1", "w2"])
          // Nothing more comes: no redelivery of what was held.
          const more = yield* Effect.exit(
            A.beehive.receive("box").pipe(Effect.timeoutOrElse({ duration: 300, orElse: () => Effect.fail("none") }))
          )
          expect(errorOf(more)).toBe("none")
        })
      ),
    20_000
  )

  let killRun = 0
  it(
    "R-NATS-12 property: the serving process killed (SIGKILL) at random points and started again: every message sent is received at least once, no process receives one twice, nothing is received that was not sent",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ counts: fc.tuple(fc.nat(20), fc.nat(20)), afterMs: fc.nat(80) }), {
            minLength: 1,
            maxLength: 3
          }),
          fc.record({ maxInbound: fc.constantFrom(2, 8, 64), delayMs: fc.nat(5) }),
          (rounds, how) =>
            run(
              Effect.gen(function* () {
                const r = ++killRun
                const prefix = `kill${r}`
                const module = "box"
                const options = { prefix, durable: [module], durableAckWaitMs: AckWaitMs }
                const senders = [yield* procWith(server.url, options), yield* procWith(server.url, options)]
                const config = { url: server.url, prefix, module, ackWaitMs: AckWaitMs, ...how }
                const processes: Array<Array<string>> = []
                const start = Effect.acquireRelease(
                  Effect.promise(() => startFixture("durable-server.mjs", config)),
                  (c) => Effect.promise(() => killFixture(c))
                ).pipe(Effect.tap((c) => Effect.sync(() => processes.push(c.received))))
                let child = yield* start
                const sent: Array<Array<string>> = [[], []]
                for (const round of rounds) {
                  yield* sendBursts(senders, sent, round.counts, module)
                  yield* Effect.sleep(round.afterMs)
                  yield* Effect.promise(() => killFixture(child))
                  child = yield* start
                }
                const all = sent.flat()
                const seen = () => new Set(processes.flat())
                // What a killed process held comes back after the ack wait.
                yield* waitUntil(() => all.every((id) => seen().has(id)), "every message received", 20_000)
                expect([...seen()].sort()).toEqual([...all].sort())

                for (const received of processes) expect(new Set(received).size).toBe(received.length)
                for (const s of senders) expect(s.events.filter((e) => e._tag === "DurableRefused")).toEqual([])
              })
            )
        ),
        { ...fcParams(4), interruptAfterTimeLimit: 150_000, markInterruptAsFailure: true }
      ),
    180_000
  )
})
