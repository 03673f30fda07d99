/**
 * Durable mailboxes on JetStream (R-NATS-12) against a real nats-server started with `-js` (its store
 * in a temporary directory): conservation across restarts of the serving process, the typed errors of
 * the configuration and of a full stream, sync calls over core NATS, deleting a durable mailbox.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { Effect, Exit, Fiber, Result, Scope } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type NatsServer, startNatsServer } from "../../scripts/natsServer.ts"
import { makeHost } from "../../src/contexts/Beehive.ts"
import { ContextHost } from "../../src/contexts/ContextHost.ts"
import { makeNatsContext } from "../../src/contexts/nats/NatsContext.ts"
import { type NatsEvent, parseNatsConfig, resolveNatsOptions } from "../../src/contexts/nats/NatsOptions.ts"
import { durableStreamName, subjects } from "../../src/contexts/nats/Subjects.ts"
import * as Message from "../../src/model/Message.ts"
import { ensureBuilt, root } from "../socket/child.ts"
import { waitForEffect } from "../socket/support.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"
import { type Proc, procWith, startJetStreamServer, waitUntil } from "./support.ts"

let scope: Scope.Closeable
let server: NatsServer

beforeAll(async () => {
  scope = Effect.runSync(Scope.make())
  server = await Effect.runPromise(startJetStreamServer.pipe(Scope.provide(scope)))
}, 30_000)

afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

/** A plain NATS client of the server (no beehive), closed with the scope. */
const rawClient = Effect.acquireRelease(
  Effect.promise(() => connect({ servers: server.url })),
  (nc) => Effect.promise(() => nc.close())
)

const run = <A>(body: Effect.Effect<A, unknown, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(body) as Effect.Effect<A, unknown, never>)

/** Short, so that a killed process's messages come back soon (R-NATS-12); twice the heartbeat at least. */
const AckWaitMs = 1000

/** How a serving process receives: its mailbox's capacity here, and a pause after each message. */
interface Receiving {
  readonly maxInbound: number
  readonly delayMs: number
}

/** A serving process, and the fiber receiving its module's messages. */
interface Serving {
  readonly scope: Scope.Closeable
  readonly receiver: Fiber.Fiber<unknown, unknown>
}

/** A serving process of module `module` in a scope of its own, receiving into `received` (ids). */
const startServing = (prefix: string, module: string, received: Array<string>, how: Receiving) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const P = yield* procWith(server.url, {
      prefix,
      durable: [module],
      durableAckWaitMs: AckWaitMs,
      maxInbound: how.maxInbound
    }).pipe(Scope.provide(scope))
    yield* P.nats.serve(module)
    const receiver = yield* Effect.forkIn(
      Effect.forever(
        Effect.gen(function* () {
          received.push((yield* P.beehive.receive(module)).header.id)
          if (how.delayMs > 0) yield* Effect.sleep(how.delayMs)
        })
      ),
      scope
    )
    return { scope, receiver } satisfies Serving
  })

/** Stops a serving process: its module stops receiving first, with what it fetched still in its mailbox. */
const stopServing = (serving: Serving) =>
  Effect.andThen(Fiber.interrupt(serving.receiver), Scope.close(serving.scope, Exit.void))

/**
 * One round of the restart property: the two senders send so many messages each, then after a pause
 * the serving process is stopped, and (`next`) started again at once ("restart") or at the next round ("stop").
 */
interface Round {
  readonly counts: readonly [number, number]
  readonly afterMs: number
  readonly next: "restart" | "stop"
}

/** Both senders send their round's count at once (their messages interleave in the stream), named s<b>-<n>. */
const sendBursts = (
  senders: ReadonlyArray<Proc>,
  sent: Array<Array<string>>,
  counts: Round["counts"],
  module: string
) =>
  Effect.forEach(
    [0, 1] as const,
    (b) =>
      Effect.gen(function* () {
        for (let i = 0; i < counts[b]; i++) {
          const id = `s${b}-${sent[b]?.length}`
          sent[b]?.push(id)
          yield* (senders[b] as Proc).beehive.send(module, msg(id))
        }
      }),
    { concurrency: "unbounded" }
  )

const arbRound: fc.Arbitrary<Round> = fc.record({
  counts: fc.tuple(fc.nat(30), fc.nat(30)),
  afterMs: fc.nat(60),
  next: fc.constantFrom("restart" as const, "stop" as const)
})

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
          expect(errorOf(exit)).toMatchObject({ _tag: "NatsConfigError", key: "durable" })
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

  let restartRun = 0
  it(
    "R-NATS-12 property: messages sent to a durable module while its serving process is stopped and started again at random points are each received exactly once, in each sender's order",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.array(arbRound, { minLength: 1, maxLength: 4 }),
          fc.record({ maxInbound: fc.constantFrom(2, 8, 64), delayMs: fc.nat(5) }),
          (rounds, how) =>
            run(
              Effect.gen(function* () {
                const r = ++restartRun
                const prefix = `restart${r}`
                const module = "box"
                const options = { prefix, durable: [module], durableAckWaitMs: AckWaitMs }
                const senders = [yield* procWith(server.url, options), yield* procWith(server.url, options)]
                const received: Array<string> = []
                const sent: Array<Array<string>> = [[], []]
                let serving: Serving | undefined = yield* startServing(prefix, module, received, how)
                for (const round of rounds) {
                  // Both senders at once: their messages interleave in the stream.
                  yield* sendBursts(senders, sent, round.counts, module)
                  yield* Effect.sleep(round.afterMs)
                  if (serving !== undefined) yield* stopServing(serving)
                  serving = round.next === "restart" ? yield* startServing(prefix, module, received, how) : undefined
                }
                if (serving === undefined) serving = yield* startServing(prefix, module, received, how)
                const total = sent.reduce((n, l) => n + l.length, 0)
                yield* waitUntil(() => received.length >= total, `all ${total} messages received`, 10_000)
                // A duplicate would come within a fetch: wait for one, then close the last server.
                yield* Effect.sleep(50)
                yield* stopServing(serving)
                expect([...received].sort()).toEqual(sent.flat().sort())
                for (const [b, ids] of sent.entries())
                  expect(received.filter((id) => id.startsWith(`s${b}-`))).toEqual(ids)
                for (const s of senders) expect(s.events.filter((e) => e._tag === "DurableRefused")).toEqual([])
              })
            )
        ),
        // A lost message fails at its wait; shrinking such runs stops in time to report the counterexample.
        { ...fcParams(8), interruptAfterTimeLimit: 90_000, markInterruptAsFailure: true }
      ),
    120_000
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
          const A = yield* startServing("full", "box", received, { maxInbound: 8, delayMs: 0 })
          yield* waitUntil(() => received.length >= 3, "the stored messages")
          yield* B.sendDurable("box", msg("k5"))
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
          const A2 = yield* startServing("sync", "box", received, { maxInbound: 8, delayMs: 0 })
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
          const A = yield* startServing("del", "box", received, { maxInbound: 8, delayMs: 0 })
          yield* waitUntil(() => received.length >= 1, "the kept message")
          yield* stopServing(A)
          expect(received).toEqual(["d0"])
          yield* C.nats.sendDurable("box", msg("d1"))
          yield* C.nats.deleteDurable("box")
          expect((yield* C.beehive.snapshot).modules.some((m) => m.name === "box")).toBe(false)
          expect(errorOf(yield* Effect.exit(C.nats.deleteDurable("other")))).toMatchObject({ _tag: "ModuleNotFound" })
          // A new process makes the stream anew: empty, d1 went with the old one.
          const received2: Array<string> = []
          const A2 = yield* startServing("del", "box", received2, { maxInbound: 8, delayMs: 0 })
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

  let foreignRun = 0
  it(
    "R-NATS-12 property: a durable module whose subject another stream already takes: make fails with JetStreamFailed naming the module and the operation",
    () =>
      fc.assert(
        fc.asyncProperty(fc.string({ minLength: 1, maxLength: 10 }), (module) =>
          run(
            Effect.gen(function* () {
              const prefix = `foreign${++foreignRun}`
              const raw = yield* rawClient
              const jsm = yield* Effect.promise(() => jetstreamManager(raw))
              yield* Effect.promise(() =>
                jsm.streams.add({ name: `other${foreignRun}`, subjects: [subjects(prefix).durable(module)] })
              )
              const host = yield* makeHost()
              const exit = yield* Effect.exit(
                makeNatsContext({ servers: server.url, prefix, durable: [module] }).pipe(
                  Effect.provideService(ContextHost, host)
                )
              )
              expect(errorOf(exit)).toMatchObject({ _tag: "JetStreamFailed", operation: "stream", module })
              yield* Effect.promise(() => jsm.streams.delete(`other${foreignRun}`))
            })
          )
        ),
        fcParams(3)
      ),
    20_000
  )

  it(
    "R-NATS-12 property: payloads in a durable module's stream that are no message (stored by a client that is no beehive) are reported BadPayload and removed, never delivered; the messages around them are received once, in order",
    () =>
      run(
        Effect.gen(function* () {
          // One serving process for every run: a stop waits for its pending fetch to run out.
          const options = { prefix: "bad", durable: ["box"], durableAckWaitMs: AckWaitMs }
          const B = yield* procWith(server.url, options)
          const A = yield* procWith(server.url, options)
          yield* A.nats.serve("box")
          const raw = yield* rawClient
          const js = jetstream(raw)
          const jsm = yield* Effect.promise(() => jetstreamManager(raw))
          const subject = subjects("bad").durable("box")
          const reported = () => A.events.filter((e) => e._tag === "BadPayload")
          let r = 0
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), (goods) =>
                Effect.runPromise(
                  Effect.gen(function* () {
                    r++
                    const before = reported().length
                    const expected: Array<string> = []
                    for (const [i, good] of goods.entries()) {
                      if (good) {
                        yield* B.nats.sendDurable("box", msg(`g${r}-${i}`))
                        expected.push(`g${r}-${i}`)
                      } else yield* Effect.promise(() => js.publish(subject, `<not a message ${i}`))
                    }
                    const received: Array<string> = []
                    for (const _ of expected) received.push((yield* A.beehive.receive("box")).header.id)
                    expect(received).toEqual(expected)
                    const bad = goods.filter((g) => !g).length
                    yield* waitUntil(() => reported().length >= before + bad, "the bad payloads reported")
                    expect(reported().slice(before)).toEqual(
                      Array.from({ length: bad }, () => expect.objectContaining({ subject }))
                    )
                    // Acknowledged or terminated, every one leaves the work queue: nothing comes again.
                    yield* waitForEffect(
                      Effect.promise(() => jsm.streams.info(durableStreamName("bad", "box"))),
                      (info) => info.state.messages === 0,
                      "the stream to be empty"
                    )
                  })
                )
              ),
              fcParams(8)
            )
          )
        })
      ),
    30_000
  )

  let deleteRun = 0
  it(
    "R-NATS-12 property: deleteDurable deletes the stream and cleans up the module's durable registration here, if it has one; a module of that name added here since its cleanup, of another context type, stays",
    () =>
      fc.assert(
        fc.asyncProperty(fc.constantFrom("registered" as const, "cleaned up" as const, "re-added" as const), (before) =>
          run(
            Effect.gen(function* () {
              const prefix = `delete${++deleteRun}`
              const B = yield* procWith(server.url, { prefix, durable: ["box"], durableAckWaitMs: AckWaitMs })
              yield* B.nats.sendDurable("box", msg("kept"))
              if (before !== "registered") yield* B.beehive.cleanup("box")
              if (before === "re-added") yield* B.beehive.addModule("box")
              yield* B.nats.deleteDurable("box")
              const box = (yield* B.beehive.snapshot).modules.find((m) => m.name === "box")
              expect(box?.contextType).toBe(before === "re-added" ? "channel" : undefined)
              const raw = yield* rawClient
              const jsm = yield* Effect.promise(() => jetstreamManager(raw))
              const info = yield* Effect.exit(
                Effect.tryPromise(() => jsm.streams.info(durableStreamName(prefix, "box")))
              )
              expect(Exit.isFailure(info)).toBe(true)
            })
          )
        ),
        fcParams(5)
      ),
    20_000
  )

  let groupRun = 0
  it(
    "R-NATS-12 R-NATS-7 R-GROUP-1 property: sendToGroup's copy to a durable member is kept in its stream, while nobody serves it too, and received once, in order, by the process serving it (the sender itself or another); the local member gets its copies as before",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.nat(3),
          fc.nat(3),
          fc.constantFrom("sender" as const, "other" as const),
          (before, after, servedBy) =>
            run(
              Effect.gen(function* () {
                const prefix = `group${++groupRun}`
                const options = { prefix, durable: ["box"], durableAckWaitMs: AckWaitMs }
                const B = yield* procWith(server.url, options)
                yield* B.beehive.addModule("L")
                yield* B.beehive.addModuleGroup("box", "g")
                yield* B.beehive.addModuleGroup("L", "g")
                const sent: Array<string> = []
                const sendCopies = (n: number) =>
                  Effect.gen(function* () {
                    for (let i = 0; i < n; i++) {
                      const id = `c${sent.length}`
                      sent.push(id)
                      expect(yield* B.beehive.sendToGroup("g", msg(id))).toEqual({ delivered: ["box", "L"], gone: [] })
                    }
                  })
                // Nobody serves box yet: its copies wait in the stream.
                yield* sendCopies(before)
                const A = servedBy === "sender" ? B : yield* procWith(server.url, options)
                yield* A.nats.serve("box")
                yield* sendCopies(after)
                const received: Array<string> = []
                for (const _ of sent) received.push((yield* A.beehive.receive("box")).header.id)
                expect(received).toEqual(sent)
                const local: Array<string> = []
                for (const _ of sent) local.push((yield* B.beehive.receive("L")).header.id)
                expect(local).toEqual(sent)
                // Nothing more: each copy was received once.
                const more = yield* Effect.exit(
                  A.beehive
                    .receive("box")
                    .pipe(Effect.timeoutOrElse({ duration: 100, orElse: () => Effect.fail("none") }))
                )
                expect(errorOf(more)).toBe("none")
                expect(B.events.filter((e) => e._tag === "DurableRefused")).toEqual([])
              })
            )
        ),
        fcParams(3)
      ),
    30_000
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
                  Effect.promise(() => startDurableChild(config)),
                  (c) => Effect.promise(() => killChild(c))
                ).pipe(Effect.tap((c) => Effect.sync(() => processes.push(c.received))))
                let child = yield* start
                const sent: Array<Array<string>> = [[], []]
                for (const round of rounds) {
                  yield* sendBursts(senders, sent, round.counts, module)
                  yield* Effect.sleep(round.afterMs)
                  yield* Effect.promise(() => killChild(child))
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

/** A child process serving a durable module (test/nats/fixtures/durable-server.mjs). */
interface DurableChild {
  readonly child: ChildProcess
  /** The ids it printed as received, in order. */
  readonly received: Array<string>
  readonly exited: Promise<void>
}

/** Starts the fixture and waits for its READY line (a failure bound, not a delay). */
const startDurableChild = (config: Record<string, unknown>): Promise<DurableChild> =>
  new Promise((resolve, reject) => {
    ensureBuilt()
    const fixture = join(root, "test/nats/fixtures/durable-server.mjs")
    const child = spawn(process.execPath, [fixture, JSON.stringify(config)], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"]
    })
    const received: Array<string> = []
    let buffer = ""
    let stderr = ""
    const exited = new Promise<void>((done) => child.once("exit", () => done()))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`durable server did not start: ${stderr}`))
    }, 20_000)
    child.stderr?.on("data", (d) => {
      stderr += d
    })
    child.stdout?.on("data", (d) => {
      buffer += d
      let nl = buffer.indexOf("\n")
      while (nl >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        if (line === "READY") {
          clearTimeout(timer)
          resolve({ child, received, exited })
        } else if (line.startsWith("R ")) received.push(line.slice(2))
        nl = buffer.indexOf("\n")
      }
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`durable server exited with ${code}: ${stderr}`))
    })
  })

/** Kills the child with SIGKILL (no finalizer runs) and waits for it to exit. */
const killChild = async (c: DurableChild): Promise<void> => {
  if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL")
  await c.exited
}
