/**
 * Durable mailboxes on JetStream (R-NATS-12) as properties, against a real nats-server started with
 * `-js` (its store in a temporary directory), every process in this test process: conservation across
 * restarts of the serving process; what the serving process sends to its own module; a consumer that
 * cannot be bound, and bound later; `sendDurable` calls cut by a cleanup, or of one message object sent
 * again and again by several fibers; a stream taken, payloads that
 * are no message, `deleteDurable`, group copies; the sync requests a serving process sends to its own
 * module. A file made only of fast-check properties, so that the
 * properties-only mutation run (vitest.mutation.properties.config.ts) takes it; the examples, and the
 * property whose serving processes are child processes built from dist/, are in NatsDurable.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { Effect, Exit, Fiber, References, Scope } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type NatsServer, startNatsServerOn } from "../../scripts/natsServer.ts"
import { makeHost } from "../../src/contexts/Beehive.ts"
import { ContextHost } from "../../src/contexts/ContextHost.ts"
import { makeNatsContext } from "../../src/contexts/nats/NatsContext.ts"
import type { NatsEvent } from "../../src/contexts/nats/NatsOptions.ts"
import { durableStreamName, subjects } from "../../src/contexts/nats/Subjects.ts"
import * as Message from "../../src/model/Message.ts"
import { DurableMailboxFull } from "../../src/model/NatsErrors.ts"
import { waitForEffect } from "../socket/support.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"
import { collectGarbage } from "../support/garbage.ts"
import { arbOpsBeforeYield, interruptedAfter } from "../support/interruptedAfter.ts"
import { msg } from "../support/messages.ts"
import {
  AckWaitMs,
  arbRound,
  rawClient,
  run,
  type ServingProcess,
  SteadyAckWaitMs,
  sendBursts,
  startServing,
  stopServing
} from "./durableSupport.ts"
import { HeartbeatMs, procWith, startJetStreamServer, waitUntil } from "./support.ts"

let scope: Scope.Closeable
let server: NatsServer

// A setup that the code under test breaks fails every test (which StrykerJS counts), instead of
// leaving them skipped.
let setupFailure: unknown
beforeAll(async () => {
  try {
    scope = Effect.runSync(Scope.make())
    server = await Effect.runPromise(startJetStreamServer.pipe(Scope.provide(scope)))
  } catch (failure) {
    setupFailure = failure ?? new Error("the setup failed")
  }
}, 30_000)

beforeEach(() => {
  if (setupFailure !== undefined) throw setupFailure
})

afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

/** JetStream's reason for a message beyond a stream's durableMaxMessages, as it gives it. */
const FullReason = "maximum messages exceeded"

/** Fails naming `what` when `effect` has not ended within `ms`: a failure bound, never a speed target. */
const within = <A, E>(effect: Effect.Effect<A, E>, what: string, ms = 5000) =>
  effect.pipe(Effect.timeoutOrElse({ duration: ms, orElse: () => Effect.fail(new Error(`${what} never ended`)) }))

describe("NATS durable mailboxes (JetStream), properties", () => {
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
                let serving: ServingProcess | undefined = yield* startServing(server.url, prefix, module, received, how)
                for (const round of rounds) {
                  // Both senders at once: their messages interleave in the stream.
                  yield* sendBursts(senders, sent, round.counts, module)
                  yield* Effect.sleep(round.afterMs)
                  if (serving !== undefined) yield* stopServing(serving)
                  serving =
                    round.next === "restart"
                      ? yield* startServing(server.url, prefix, module, received, how)
                      : undefined
                }
                if (serving === undefined) serving = yield* startServing(server.url, prefix, module, received, how)
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

  let foreignRun = 0
  it(
    "R-NATS-12 property: a durable module whose subject another stream already takes: make fails with JetStreamFailed naming the module and the operation",
    () =>
      fc.assert(
        fc.asyncProperty(fc.string({ minLength: 1, maxLength: 10 }), (module) =>
          run(
            Effect.gen(function* () {
              const prefix = `foreign${++foreignRun}`
              const raw = yield* rawClient(server.url)
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
          const raw = yield* rawClient(server.url)
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
    "R-NATS-12 property: deleteDurable deletes the stream and cleans up the module's durable registration here, if it has one; a module of that name added here since its cleanup, of another context type, stays; sendDurable to a module cleaned up here, and sendDurable to a nats module that is not durable, and sendDurable or deleteDurable to a name never declared, fail with ModuleNotFound",
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
              // sendDurable refuses a module that is no longer durable here; both refuse a name never declared.
              if (before !== "registered")
                expect(errorOf(yield* Effect.exit(B.nats.sendDurable("box", msg("late"))))).toMatchObject({
                  _tag: "ModuleNotFound",
                  module: "box"
                })
              expect(errorOf(yield* Effect.exit(B.nats.sendDurable("nowhere", msg("x"))))).toMatchObject({
                _tag: "ModuleNotFound",
                module: "nowhere"
              })
              // A nats module that is not durable, declared here: the same.
              yield* B.beehive.addModule("plain", { contextType: "nats" })
              expect(errorOf(yield* Effect.exit(B.nats.sendDurable("plain", msg("x"))))).toMatchObject({
                _tag: "ModuleNotFound",
                module: "plain"
              })
              expect(errorOf(yield* Effect.exit(B.nats.deleteDurable("nowhere")))).toMatchObject({
                _tag: "ModuleNotFound",
                module: "nowhere"
              })
              yield* B.nats.deleteDurable("box")
              const box = (yield* B.beehive.snapshot).modules.find((m) => m.name === "box")
              expect(box?.contextType).toBe(before === "re-added" ? "channel" : undefined)
              const raw = yield* rawClient(server.url)
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

  let ownRun = 0
  it(
    "R-NATS-12 R-SEND-4 property: what the serving process sends to its own durable module (send, sendAll, sendDurable) goes through the stream: sendDurable completes once it is stored, and every message is received once, in order, by it or, after it stops serving, by the next process serving the module",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              fc.constant({ kind: "send" as const, count: 1 }),
              fc.record({ kind: fc.constant("sendAll" as const), count: fc.integer({ min: 1, max: 3 }) }),
              fc.constant({ kind: "sendDurable" as const, count: 1 })
            ),
            { minLength: 1, maxLength: 6 }
          ),
          fc.nat(12),
          (ops, receivedFirst) =>
            run(
              Effect.gen(function* () {
                const prefix = `own${++ownRun}`
                const options = { prefix, durable: ["box"], durableAckWaitMs: SteadyAckWaitMs }
                const A = yield* procWith(server.url, options)
                yield* A.nats.serve("box")
                const sent: Array<string> = []
                for (const op of ops) {
                  const ids = Array.from({ length: op.count }, () => `o${sent.length}`).map(
                    (_, i) => `o${sent.length + i}`
                  )
                  sent.push(...ids)
                  if (op.kind === "send") yield* A.beehive.send("box", msg(ids[0] as string))
                  else if (op.kind === "sendAll")
                    yield* A.beehive.sendAll(
                      "box",
                      ids.map((id) => msg(id))
                    )
                  else yield* within(A.nats.sendDurable("box", msg(ids[0] as string)), "sendDurable")
                }
                const first: Array<string> = []
                for (let i = 0; i < Math.min(receivedFirst, sent.length); i++)
                  first.push((yield* A.beehive.receive("box")).header.id)
                yield* A.nats.unserve("box")
                const rest: Array<string> = []
                const B = yield* startServing(server.url, prefix, "box", rest, {
                  maxInbound: 8,
                  delayMs: 0,
                  ackWaitMs: SteadyAckWaitMs
                })
                yield* waitUntil(() => first.length + rest.length >= sent.length, "every message received")
                // A duplicate would come within a fetch: wait for one, then stop.
                yield* Effect.sleep(50)
                yield* stopServing(B)
                expect([...first, ...rest]).toEqual(sent)
                expect(A.events.filter((e) => e._tag === "DurableRefused")).toEqual([])
              })
            )
        ),
        fcParams(6)
      ),
    60_000
  )

  let heldRun = 0
  it(
    "R-NATS-12 R-NATS-8 R-RECV-5 property: a process serving a durable module goes on sending to it (send, sendDurable) while its mailbox holds messages it has not received yet: every message is stored, and one batch receive takes them all, in the order sent",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              kind: fc.constantFrom("send" as const, "sendDurable" as const),
              count: fc.integer({ min: 1, max: 3 })
            }),
            { minLength: 1, maxLength: 3 }
          ),
          (rounds) =>
            run(
              Effect.gen(function* () {
                const prefix = `held${++heldRun}`
                const A = yield* procWith(server.url, { prefix, durable: ["box"], durableAckWaitMs: SteadyAckWaitMs })
                yield* A.nats.serve("box")
                const raw = yield* rawClient(server.url)
                const jsm = yield* Effect.promise(() => jetstreamManager(raw))
                const stream = durableStreamName(prefix, "box")
                // The messages sent are in the mailbox: JetStream handed them all to A (none waits in the
                // stream or unacknowledged elsewhere), and A's module holds them (its outbox is empty then).
                const inMailbox = (n: number) =>
                  Effect.andThen(
                    waitForEffect(
                      // The consumer is bound by A's fetching, which `serve` starts but does not wait for.
                      Effect.promise(() => jsm.consumers.info(stream, "mailbox").catch(() => undefined)),
                      (info) => info !== undefined && info.num_pending === 0 && info.num_ack_pending === n,
                      "JetStream to hand every message to A"
                    ),
                    waitForEffect(
                      Effect.map(A.beehive.snapshot, (s) => s.modules.find((m) => m.name === "box")?.queued),
                      (queued) => queued === n,
                      "the mailbox to hold every message"
                    )
                  )
                const sent: Array<string> = []
                for (const round of rounds) {
                  // What was sent before is in the mailbox, not received: sending to it must not wait for a receive.
                  yield* inMailbox(sent.length)
                  for (let i = 0; i < round.count; i++) {
                    const id = `h${sent.length}`
                    sent.push(id)
                    if (round.kind === "send") yield* within(A.beehive.send("box", msg(id)), "send")
                    else yield* within(A.nats.sendDurable("box", msg(id)), "sendDurable")
                  }
                }
                // All in the mailbox: one batch receive (R-RECV-5) takes them all.
                yield* inMailbox(sent.length)
                const received = yield* within(A.beehive.receiveAll("box"), "receiveAll")
                expect(received.map((m) => m.header.id)).toEqual(sent)
                expect(A.events.filter((e) => e._tag === "DurableRefused")).toEqual([])
              })
            )
        ),
        fcParams(3)
      ),
    30_000
  )

  let handRun = 0
  it(
    "R-NATS-12 property: a process that stops serving a durable module while its mailbox holds fetched messages keeps them in progress until it gives them back, with the shortest ack wait: another process serving the module receives each once, in the order sent",
    () =>
      fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 6 }), (count) =>
          run(
            Effect.gen(function* () {
              const prefix = `hand${++handRun}`
              // The shortest ack wait R-NATS-12 allows: twice the heartbeat.
              const ackWaitMs = 2 * HeartbeatMs
              const options = { prefix, durable: ["box"], durableAckWaitMs: ackWaitMs }
              const A = yield* procWith(server.url, options)
              yield* A.nats.serve("box")
              const sent = Array.from({ length: count }, (_, i) => `p${i}`)
              for (const id of sent) yield* A.nats.sendDurable("box", msg(id))
              const queued = Effect.map(A.beehive.snapshot, (s) => s.modules.find((m) => m.name === "box")?.queued)
              yield* waitForEffect(queued, (n) => n === count, "the mailbox to hold every message")
              const received: Array<string> = []
              const C = yield* startServing(server.url, prefix, "box", received, {
                maxInbound: 8,
                delayMs: 0,
                ackWaitMs
              })
              // The stop waits for A's pending fetch to run out (up to a second), longer than the ack wait.
              yield* A.nats.unserve("box")
              yield* waitUntil(() => received.length >= count, "every message received")
              // A message handed out twice comes again within an ack wait.
              yield* Effect.sleep(ackWaitMs)
              yield* stopServing(C)
              expect(received).toEqual(sent)
            })
          )
        ),
        fcParams(2)
      ),
    30_000
  )

  /** A process with the durable module "box" under `prefix`: its events and what it passed to onUndeliverable. */
  const durableBox = (
    prefix: string,
    limits: { readonly durableMaxMessages?: number; readonly maxInbound?: number } = {}
  ) =>
    Effect.gen(function* () {
      const undeliverable: Array<string> = []
      const host = yield* makeHost({ onUndeliverable: (_, m) => undeliverable.push(m.header.id) })
      const events: Array<NatsEvent> = []
      const B = yield* makeNatsContext({
        servers: server.url,
        prefix,
        durable: ["box"],
        ...limits,
        onEvent: (e) => events.push(e)
      }).pipe(Effect.provideService(ContextHost, host))
      return { host, B, events, undeliverable }
    })

  let keptRun = 0
  it(
    "R-NATS-12 property: a process keeps nothing of the messages whose sendDurable calls ended, stored, refused or interrupted before their message was handed on: once collected, none is reachable from it but the last one given to the module",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 4 }),
          fc.array(fc.constantFrom("once" as const, "twice" as const, "interrupted" as const), {
            minLength: 2,
            maxLength: 6
          }),
          (max, sends) =>
            run(
              Effect.gen(function* () {
                // An outbox of one: calls made at once wait to hand their messages on.
                const { B } = yield* durableBox(`kept${++keptRun}`, { durableMaxMessages: max, maxInbound: 1 })
                // Each message made and handed over in an effect of its own: only a WeakRef to it stays here.
                const sendOne = (i: number, how: (typeof sends)[number]) =>
                  Effect.gen(function* () {
                    if (how === "interrupted") {
                      // Calls made at once and interrupted while most wait for room to hand their message on.
                      const messages = Array.from({ length: 6 }, (_, k) => msg(`d${i}-${k}`))
                      const calls = yield* Effect.forEach(messages, (m) => Effect.forkChild(B.sendDurable("box", m)))
                      yield* Effect.yieldNow
                      yield* Effect.forEach(calls, Fiber.interrupt)
                      return messages.map((m) => new WeakRef(m))
                    }
                    const message = msg(`d${i}`)
                    // The same message object twice at once: two calls wait for one storage each.
                    yield* Effect.forEach(
                      how === "twice" ? [message, message] : [message],
                      (m) => Effect.exit(B.sendDurable("box", m)),
                      { concurrency: "unbounded" }
                    )
                    return [new WeakRef(message)]
                  })
                const refs = (yield* Effect.forEach(sends, (how, i) => sendOne(i, how))).flat()
                // One more call, waited for: what was handed on before it has gone out (the outbox is in
                // order), and it is now the last message given to the module, which the module's endpoint
                // keeps encoded (its one-entry cache).
                yield* Effect.exit(B.sendDurable("box", msg("last")))
                yield* collectGarbage
                const kept = refs.filter((ref) => ref.deref() !== undefined).map((ref) => ref.deref()?.header.id)
                expect(kept).toEqual([])
              })
            )
        ),
        fcParams(4)
      ),
    20_000
  )

  let fullRun = 0
  it(
    "R-NATS-12 property: a stream at its durableMaxMessages limit stores nothing more: sendDurable fails with DurableMailboxFull, send's message is reported DurableRefused and passed to onUndeliverable, each with JetStream's reason as it gave it",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 3 }),
          fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
          (max, beyond) =>
            run(
              Effect.gen(function* () {
                const prefix = `full${++fullRun}`
                const { host, B, events, undeliverable } = yield* durableBox(prefix, { durableMaxMessages: max })
                for (let i = 0; i < max; i++) yield* B.sendDurable("box", msg(`k${i}`))
                const refused: Array<string> = []
                for (const [i, durable] of beyond.entries()) {
                  const id = `x${i}`
                  refused.push(id)
                  if (durable)
                    expect(errorOf(yield* Effect.exit(B.sendDurable("box", msg(id))))).toEqual(
                      new DurableMailboxFull({ module: "box", msgId: id, reason: FullReason })
                    )
                  else yield* host.beehive.send("box", msg(id))
                }
                yield* waitUntil(() => undeliverable.length >= refused.length, "the refusals to be reported")
                expect(undeliverable).toEqual(refused)
                expect(events.filter((e) => e._tag === "DurableRefused")).toEqual(
                  refused.map((msgId) => ({ _tag: "DurableRefused", module: "box", msgId, reason: FullReason }))
                )
                const raw = yield* rawClient(server.url)
                const jsm = yield* Effect.promise(() => jetstreamManager(raw))
                const info = yield* Effect.promise(() => jsm.streams.info(durableStreamName(prefix, "box")))
                expect(info.state.messages).toBe(max)
              })
            )
        ),
        fcParams(4)
      ),
    20_000
  )

  let goneRun = 0
  it(
    "R-NATS-12 property: a durable module whose stream was deleted behind its back stores nothing: sendDurable fails with JetStreamFailed naming the module and store, send's message is reported DurableRefused saying there is no stream, and passed to onUndeliverable",
    () =>
      fc.assert(
        fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }), (durables) =>
          run(
            Effect.gen(function* () {
              const prefix = `gone${++goneRun}`
              const { host, B, events, undeliverable } = yield* durableBox(prefix)
              yield* B.sendDurable("box", msg("stored"))
              const raw = yield* rawClient(server.url)
              const jsm = yield* Effect.promise(() => jetstreamManager(raw))
              yield* Effect.promise(() => jsm.streams.delete(durableStreamName(prefix, "box")))
              const sent: Array<string> = []
              for (const [i, durable] of durables.entries()) {
                const id = `g${i}`
                if (durable) {
                  expect(errorOf(yield* Effect.exit(B.sendDurable("box", msg(id))))).toMatchObject({
                    _tag: "JetStreamFailed",
                    module: "box",
                    operation: "store"
                  })
                } else {
                  sent.push(id)
                  yield* host.beehive.send("box", msg(id))
                }
              }
              yield* waitUntil(() => sent.every((id) => undeliverable.includes(id)), "the refusals to be reported")
              expect(undeliverable.filter((id) => sent.includes(id))).toEqual(sent)
              for (const id of sent) {
                const refusal = events.find((e) => e._tag === "DurableRefused" && e.msgId === id)
                expect(refusal, id).toMatchObject({ module: "box" })
                expect((refusal as { reason: string }).reason).toMatch(/^no stream for the module/)
              }
            })
          )
        ),
        fcParams(4)
      ),
    20_000
  )

  let sameRun = 0
  it(
    "R-NATS-12 R-SEND-3 property: sendDurable calls of one message object, some interrupted (waiting for room in the outbox, or for the stream): every call not interrupted completes once the stream stored its copy, an interrupted one stores its copy only if it was offered, and the message sent again completes once stored",
    () =>
      fc.assert(
        fc.asyncProperty(fc.array(fc.boolean(), { minLength: 2, maxLength: 5 }), (interrupted) =>
          run(
            Effect.gen(function* () {
              const prefix = `same${++sameRun}`
              // An outbox of one, a window of one: the calls after the first two wait for room.
              const B = yield* procWith(server.url, { prefix, durable: ["box"], maxInbound: 1, sendWindow: 1 })
              const ahead = yield* Effect.forEach(["a", "b"], (id) =>
                Effect.forkChild(B.nats.sendDurable("box", msg(id)))
              )
              const m = msg("same")
              const calls = yield* Effect.forEach(interrupted, () => Effect.forkChild(B.nats.sendDurable("box", m)))
              yield* Effect.yieldNow
              yield* Effect.forEach(
                calls.filter((_, i) => interrupted[i]),
                (f) => Fiber.interrupt(f)
              )
              yield* within(
                Effect.forEach([...ahead, ...calls.filter((_, i) => !interrupted[i])], Fiber.join),
                "the calls not interrupted"
              )
              yield* within(B.nats.sendDurable("box", m), "the message sent again")
              const raw = yield* rawClient(server.url)
              const jsm = yield* Effect.promise(() => jetstreamManager(raw))
              const stream = durableStreamName(prefix, "box")
              const kept = interrupted.filter((i) => !i).length
              const stored = (yield* Effect.promise(() => jsm.streams.info(stream))).state.messages
              expect(stored).toBeGreaterThanOrEqual(2 + kept + 1)
              expect(stored).toBeLessThanOrEqual(2 + interrupted.length + 1)
              expect(B.events.filter((e) => e._tag === "DurableRefused")).toEqual([])
            })
          )
        ),
        fcParams(6)
      ),
    30_000
  )

  let deniedRun = 0
  it(
    "R-NATS-12 property: a JetStream failure of the stream's lookup other than 'not found' (here: a user denied it) fails make with JetStreamFailed naming the module and the operation stream; no stream is made",
    () =>
      run(
        Effect.gen(function* () {
          const dir = mkdtempSync(join(tmpdir(), "beehive-denied-"))
          yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
          const config = join(dir, "server.conf")
          writeFileSync(
            config,
            [
              `jetstream { store_dir: ${JSON.stringify(join(dir, "js"))} }`,
              "authorization { users = [",
              '  { user: "all", password: "p" }',
              '  { user: "noinfo", password: "p", permissions: { publish: { deny: ["$JS.API.STREAM.INFO.>"] } } }',
              "] }"
            ].join("\n")
          )
          const denying = yield* startNatsServerOn(undefined, ["-c", config])
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(fc.string({ minLength: 1, maxLength: 10 }), (module) =>
                run(
                  Effect.gen(function* () {
                    const prefix = `denied${++deniedRun}`
                    const host = yield* makeHost()
                    const exit = yield* Effect.exit(
                      makeNatsContext({
                        servers: denying.url,
                        user: "noinfo",
                        pass: "p",
                        prefix,
                        durable: [module]
                      }).pipe(Effect.provideService(ContextHost, host))
                    )
                    expect(errorOf(exit)).toMatchObject({ _tag: "JetStreamFailed", operation: "stream", module })
                    const raw = yield* Effect.acquireRelease(
                      Effect.promise(() => connect({ servers: denying.url, user: "all", pass: "p" })),
                      (nc) => Effect.promise(() => nc.close())
                    )
                    const jsm = yield* Effect.promise(() => jetstreamManager(raw))
                    const found = yield* Effect.exit(
                      Effect.tryPromise(() => jsm.streams.info(durableStreamName(prefix, module)))
                    )
                    expect(Exit.isFailure(found)).toBe(true)
                  })
                )
              ),
              fcParams(3)
            )
          )
        })
      ),
    30_000
  )

  let unboundRun = 0
  it(
    "R-NATS-12 property: a process serving a durable module whose stream is gone (deleted by another process) reports DurableRefused with an empty message id and tries again every heartbeat, its sendDurable failing with JetStreamFailed; once a process makes the stream again, the messages sent are received, once, in order",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 3 }),
          fc.nat(2),
          fc.integer({ min: 1, max: 4 }),
          (tries, lost, count) =>
            run(
              Effect.gen(function* () {
                const prefix = `unbound${++unboundRun}`
                const options = { prefix, durable: ["box"], durableAckWaitMs: AckWaitMs }
                const A = yield* procWith(server.url, options)
                const D = yield* procWith(server.url, options)
                yield* D.nats.deleteDurable("box")
                yield* A.nats.serve("box")
                const refusals = () => A.events.filter((e) => e._tag === "DurableRefused" && e.msgId === "")
                yield* waitUntil(() => refusals().length >= tries, `${tries} refusals to bind the consumer`)
                expect(refusals()).toEqual(
                  Array.from({ length: refusals().length }, () =>
                    expect.objectContaining({ _tag: "DurableRefused", module: "box", msgId: "" })
                  )
                )
                for (let i = 0; i < lost; i++)
                  expect(errorOf(yield* Effect.exit(A.nats.sendDurable("box", msg(`lost${i}`))))).toMatchObject({
                    _tag: "JetStreamFailed",
                    operation: "store",
                    module: "box"
                  })
                // Another process starting makes the stream anew; A binds its consumer at a next try.
                const E = yield* procWith(server.url, options)
                const sent = Array.from({ length: count }, (_, i) => `u${i}`)
                for (const id of sent) yield* E.nats.sendDurable("box", msg(id))
                const received: Array<string> = []
                for (const _ of sent) received.push((yield* within(A.beehive.receive("box"), "a receive")).header.id)
                expect(received).toEqual(sent)
              })
            )
        ),
        fcParams(4)
      ),
    60_000
  )

  let cutRun = 0
  it(
    "R-NATS-12 R-CLEAN-3 property: sendDurable calls waiting for the stream when their module is cleaned up here end at once, each stored (it succeeds) or failing with ModuleClosed naming the module; a process serving the module then receives every message whose call succeeded, none twice, in the order sent",
    () =>
      fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 3 }), (calls, sendWindow) =>
          run(
            Effect.gen(function* () {
              const prefix = `cut${++cutRun}`
              const options = { prefix, durable: ["box"], durableAckWaitMs: AckWaitMs }
              const B = yield* procWith(server.url, { ...options, sendWindow })
              const ids = Array.from({ length: calls }, (_, i) => `k${i}`)
              const fibers = yield* Effect.forEach(ids, (id) =>
                Effect.forkChild(Effect.exit(B.nats.sendDurable("box", msg(id))))
              )
              // The calls have offered their messages: the outbox holds those past the window.
              yield* Effect.yieldNow
              yield* B.beehive.cleanup("box")
              const exits = yield* within(Effect.forEach(fibers, Fiber.join), "the calls")
              const stored: Array<string> = []
              exits.forEach((exit, i) => {
                if (Exit.isSuccess(exit)) stored.push(ids[i] as string)
                else expect(errorOf(exit)).toMatchObject({ _tag: "ModuleClosed", module: "box" })
              })
              const received: Array<string> = []
              const A = yield* startServing(server.url, prefix, "box", received, { maxInbound: 8, delayMs: 0 })
              // The last call's message, stored or not: after it nothing more comes.
              const probe = yield* procWith(server.url, options)
              yield* probe.nats.sendDurable("box", msg("probe"))
              yield* waitUntil(() => received.includes("probe"), "the probe")
              yield* stopServing(A)
              expect(received.slice(0, -1).filter((id) => !ids.includes(id))).toEqual([])
              for (const id of stored) expect(received).toContain(id)
              expect(new Set(received).size).toBe(received.length)
              expect(received.slice(0, -1)).toEqual(
                [...received.slice(0, -1)].sort((x, y) => Number(x.slice(1)) - Number(y.slice(1)))
              )
            })
          )
        ),
        fcParams(8)
      ),
    60_000
  )

  let selfSyncRun = 0
  it(
    "R-NATS-12 R-NATS-6 R-SEND-2 property: the sync requests a process serving a durable module sends to it (sendSync, sendToGroupSync's copies) go to its own mailbox directly, waiting there for room when it is full, never over NATS: another process serving the module gets none of them, each call gets its own process's answer, and no answer is owed to a reply subject afterwards; when the process stops serving the module instead, those in its mailbox are answered at once with an error response saying so, and those waiting for room go to the other process",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom(1, 2, 4),
          fc.array(fc.constantFrom("sendSync" as const, "groupSync" as const), { minLength: 1, maxLength: 6 }),
          // Whether A stops serving the module instead of receiving.
          fc.boolean(),
          (maxInbound, calls, unserved) =>
            run(
              Effect.gen(function* () {
                const prefix = `selfsync${++selfSyncRun}`
                const options = { prefix, durable: ["box"], durableAckWaitMs: SteadyAckWaitMs, maxInbound }
                const A = yield* procWith(server.url, options)
                yield* A.nats.serve("box")
                yield* A.beehive.addModuleGroup("box", "g")
                // Another process serving the module: in the queue group of its core subject.
                const B = yield* procWith(server.url, options)
                yield* B.nats.serve("box")
                const answer = (P: typeof A, name: string, received: Array<string>) =>
                  Effect.forever(
                    Effect.gen(function* () {
                      const m = yield* P.beehive.receive("box")
                      received.push(m.header.id)
                      if (m.header.sync)
                        yield* P.beehive.sendResp(yield* Message.newResponse(m, `${name}:${m.header.id}`), "box")
                    })
                  )
                const atB: Array<string> = []
                yield* Effect.forkScoped(answer(B, "B", atB))
                const ids = calls.map((_, i) => `y${i}`)
                const fibers = yield* Effect.forEach(calls, (kind, i) =>
                  Effect.forkChild(
                    kind === "sendSync"
                      ? Effect.map(A.beehive.sendSync("box", msg(ids[i] as string), 10_000), (m) => m.content)
                      : Effect.map(
                          A.beehive.sendToGroupSync("g", msg(ids[i] as string), 10_000),
                          (r) => r.responses.get("box")?.content
                        )
                  )
                )
                // The calls beyond the mailbox's room wait for it (R-SEND-2) until A receives.
                for (let i = 0; i < 20; i++) yield* Effect.yieldNow
                if (unserved) {
                  // The requests in A's mailbox are answered at once with an error response; those that
                  // waited for room go out over NATS then, to B, the one process serving the module.
                  yield* A.nats.unserve("box")
                  const answers = yield* within(Effect.forEach(fibers, Fiber.join), "the calls", 10_000)
                  const noLonger = 'module "box" is no longer served here'
                  expect(answers[0]).toBe(noLonger)
                  for (const [i, content] of answers.entries()) expect([noLonger, `B:${ids[i]}`]).toContain(content)
                  expect(atB.sort()).toEqual(ids.filter((_, i) => answers[i] !== noLonger).sort())
                  yield* B.nats.unserve("box")
                  return
                }
                const atA: Array<string> = []
                yield* Effect.forkScoped(answer(A, "A", atA))
                const answers = yield* within(Effect.forEach(fibers, Fiber.join), "the calls", 10_000)
                expect(answers).toEqual(ids.map((id) => `A:${id}`))
                expect([...atA].sort()).toEqual([...ids].sort())
                expect(atB).toEqual([])
                // Nothing came over NATS: no request is owed an answer on a reply subject.
                expect([yield* A.nats.pendingRequests, yield* B.nats.pendingRequests]).toEqual([0, 0])
                // Each stop waits for its pending fetch to run out (up to a second): both at once.
                yield* Effect.all([A.nats.unserve("box"), B.nats.unserve("box")], { concurrency: "unbounded" })
              })
            )
        ),
        fcParams(4)
      ),
    30_000
  )

  let againRun = 0
  it(
    "R-NATS-12 R-SEND-3 property: fibers each send one message object with sendDurable again and again, some calls interrupted by a short timeout, the process's fibers yielding every few operations as a loaded runtime yields them: every call not interrupted completes, none waits for ever, and the stream holds a copy of each",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.array(fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }), { minLength: 5, maxLength: 60 }),
            { minLength: 2, maxLength: 6 }
          ),
          fc.constantFrom(4, 8, 16, 2048),
          (plans, opsBeforeYield) =>
            run(
              Effect.gen(function* () {
                const prefix = `again${++againRun}`
                const B = yield* procWith(server.url, { prefix, durable: ["box"], maxInbound: 1, sendWindow: 1 })
                const m = msg("again")
                let completed = 0
                let interrupted = 0
                // A call waits for the stream's answer to its copy or to a copy of an earlier call: a call
                // whose storage was answered can still be on its way out (handing its copy on, yielded)
                // when its fiber's next call, or another fiber's, waits for the same message object.
                const fibers = yield* Effect.forEach(plans, (plan) =>
                  Effect.forkChild(
                    Effect.forEach(plan, (timeoutMs) =>
                      timeoutMs === undefined
                        ? within(B.nats.sendDurable("box", m), "a call not interrupted").pipe(
                            Effect.tap(() => Effect.sync(() => completed++))
                          )
                        : Effect.timeoutOption(B.nats.sendDurable("box", m), timeoutMs).pipe(
                            Effect.tap((o) => Effect.sync(() => (o._tag === "None" ? interrupted++ : completed++)))
                          )
                    )
                  )
                )
                yield* Effect.forEach(fibers, Fiber.join)
                const raw = yield* rawClient(server.url)
                const jsm = yield* Effect.promise(() => jetstreamManager(raw))
                const stream = durableStreamName(prefix, "box")
                // The copies of calls interrupted after handing theirs on go out too.
                yield* waitForEffect(
                  Effect.promise(() => jsm.streams.info(stream)),
                  (info) => info.state.messages >= completed,
                  "a copy of each completed call in the stream"
                )
                const stored = (yield* Effect.promise(() => jsm.streams.info(stream))).state.messages
                expect(stored).toBeLessThanOrEqual(completed + interrupted)
                expect(B.events.filter((e) => e._tag === "DurableRefused")).toEqual([])
                yield* B.nats.deleteDurable("box")
              }).pipe(Effect.provideService(References.MaxOpsBeforeYield, opsBeforeYield))
            )
        ),
        fcParams(8)
      ),
    60_000
  )

  let stepRun = 0
  it(
    "R-NATS-12 R-SEND-3 property: a sendDurable call interrupted at any of its steps leaves no waiter behind: each later call of the same message object ends, and one not interrupted completes once the stream stored its copy (until this property found it, a call interrupted after it had registered and before it had set up its cleanup kept its place in the line, took the next call's answer, and that call waited for ever)",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.option(fc.record({ after: fc.nat(7), opsBeforeYield: arbOpsBeforeYield }), {
              nil: undefined
            }),
            { minLength: 1, maxLength: 8 }
          ),
          (calls) =>
            run(
              Effect.gen(function* () {
                const B = yield* procWith(server.url, {
                  prefix: `step${++stepRun}`,
                  durable: ["box"],
                  maxInbound: 1,
                  sendWindow: 1
                })
                const m = msg("step")
                for (const call of calls) {
                  if (call === undefined) {
                    yield* within(B.nats.sendDurable("box", m), "a call not interrupted")
                    continue
                  }
                  yield* within(
                    interruptedAfter(B.nats.sendDurable("box", m), call.after, call.opsBeforeYield),
                    "an interrupted call"
                  )
                }
                yield* within(B.nats.sendDurable("box", m), "the last call")
                // Each case's stream reserves storage on the server: deleted, so that FC_RUNS can scale the runs.
                yield* B.nats.deleteDurable("box")
              })
            )
        ),
        fcParams(25)
      ),
    60_000
  )

  let twoRun = 0
  it(
    "R-NATS-12 R-CLEAN-3 property: sendDurable calls of one message object to two durable modules (or several to one), one module cleaned up while they wait: each call to the other completes once its stream stored its copy, each to the one cleaned up is stored or fails with ModuleClosed naming it, and none waits for ever",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.array(fc.constantFrom("x" as const, "y" as const), { minLength: 2, maxLength: 5 }),
          fc.constantFrom("x" as const, "y" as const),
          (targets, cleaned) =>
            run(
              Effect.gen(function* () {
                const prefix = `two${++twoRun}`
                const B = yield* procWith(server.url, {
                  prefix,
                  durable: ["x", "y"],
                  durableAckWaitMs: SteadyAckWaitMs
                })
                const m = msg("same")
                const calls = yield* Effect.forEach(targets, (module) =>
                  Effect.forkChild(Effect.exit(B.nats.sendDurable(module, m)))
                )
                // The calls have offered their copies; the streams have answered none yet.
                yield* Effect.yieldNow
                yield* B.beehive.cleanup(cleaned)
                const exits = yield* within(Effect.forEach(calls, Fiber.join), "the calls")
                exits.forEach((exit, i) => {
                  if (targets[i] !== cleaned) expect(Exit.isSuccess(exit) ? "stored" : errorOf(exit)).toBe("stored")
                  else if (Exit.isFailure(exit))
                    expect(errorOf(exit)).toMatchObject({ _tag: "ModuleClosed", module: cleaned })
                })
                // The other module's stream holds a copy per call to it: none completed on another stream's.
                const kept = cleaned === "x" ? "y" : "x"
                const raw = yield* rawClient(server.url)
                const jsm = yield* Effect.promise(() => jetstreamManager(raw))
                const stored = yield* Effect.promise(() => jsm.streams.info(durableStreamName(prefix, kept)))
                expect(stored.state.messages).toBe(targets.filter((t) => t === kept).length)
              })
            )
        ),
        fcParams(6)
      ),
    30_000
  )
})
