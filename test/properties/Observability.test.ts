/**
 * Observability as a property (R-OBS-1, R-OBS-2): a generated sequence of operations (valid and
 * not: unknown modules, empty names, groups with and without members, calls nobody answers) runs with
 * a recording tracer and metrics on. Each operation must make exactly one span, named after it, with
 * the attributes SPEC.md lists for its arguments (and no attribute without a value), ending with the
 * operation's own exit; the counters must add up to what the operations reported: copies accepted,
 * messages taken, messages a cleanup found unreceived; no call is left pending. A refused argument
 * names its operation (R-API-3). The latency histogram's buckets are the exponential ones SPEC.md
 * gives, and each call's duration is counted in every bucket whose bound it does not exceed (R-OBS-3).
 * A traced operation's failure names its span without a source location: spans capture no stack
 * trace (R-OBS-4).
 *
 * Under concurrency (the deterministic runtime, preemptions at random or fitted to the run,
 * interruptions as operations): the sent counter is what conservation accounts for, received,
 * reported by cleanups, passed to `onUndeliverable` or still queued, so a copy counts once it is
 * accepted, whatever becomes of its operation; and a receive interrupted at any point is counted only
 * for what reached its caller, what it gave back staying queued (R-RECV-4: no message is lost). A
 * `receiveStream`'s pulls are spans too, the one that finds its module gone (cleaned up, registered
 * again, shut down: at any point of any schedule) ending with `ModuleClosed` naming it (R-RECV-6).
 */
import { Cause, Effect, Exit, Fiber, Layer, Metric, Scope, Stream, type Tracer } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Beehive, makeBeehive } from "../../src/contexts/Beehive.ts"
import { MetricNames } from "../../src/effects/Observability.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import type { Strategy } from "../../src/effects/Strategy.ts"
import { BeehiveShutdown, ModuleClosed, ModuleNotFound } from "../../src/model/Errors.ts"
import * as Message from "../../src/model/Message.ts"
import type { CleanupReport } from "../../src/model/Reports.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"
import { arbPreemption, underPreemption } from "../support/preemption.ts"
import { recordingTracer } from "../support/tracer.ts"

type Operation =
  | { readonly _tag: "addModule"; readonly module: string }
  | { readonly _tag: "addModuleGroup"; readonly module: string; readonly group: string }
  | { readonly _tag: "send"; readonly module: string }
  | { readonly _tag: "receive"; readonly module: string }
  | { readonly _tag: "sendSync"; readonly module: string; readonly timeoutMs: number }
  | { readonly _tag: "sendResp"; readonly from: string | undefined }
  | { readonly _tag: "sendToGroup"; readonly group: string }
  | { readonly _tag: "sendToGroupSync"; readonly group: string; readonly timeoutMs: number }
  | { readonly _tag: "cleanup"; readonly module: string }

const module = fc.constantFrom("edged", "edgehub", "twin", "")
const group = fc.constantFrom("hub", "meta", "")
const timeoutMs = fc.integer({ min: 1, max: 50 })

const arbOperation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("addModule" as const), module }) },
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("addModuleGroup" as const), module, group }) },
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("send" as const), module }) },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("receive" as const), module }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("sendSync" as const), module, timeoutMs }) },
  {
    weight: 1,
    arbitrary: fc.record({ _tag: fc.constant("sendResp" as const), from: fc.option(module, { nil: undefined }) })
  },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("sendToGroup" as const), group }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("sendToGroupSync" as const), group, timeoutMs }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("cleanup" as const), module }) }
)

const spanName = (operation: Operation) => `beehive.${operation._tag}`

/** The attributes SPEC.md names for an operation's arguments (R-OBS-1). */
const attributesOf = (operation: Operation, id: string): Record<string, string> => {
  switch (operation._tag) {
    case "addModule":
    case "receive":
    case "cleanup":
      return { "beehive.module": operation.module }
    case "addModuleGroup":
      return { "beehive.module": operation.module, "beehive.group": operation.group }
    case "send":
    case "sendSync":
      return { "beehive.module": operation.module, "beehive.message.id": id }
    case "sendResp":
      return {
        ...(operation.from === undefined ? {} : { "beehive.module": operation.from }),
        "beehive.message.id": id,
        "beehive.parent.id": `parent-of-${id}`
      }
    case "sendToGroup":
    case "sendToGroupSync":
      return { "beehive.group": operation.group, "beehive.message.id": id }
  }
}

describe("R-OBS observability over generated operations", () => {
  it("R-OBS-1 R-OBS-2 R-API-3 every operation is one span named after it, with its arguments as attributes and its exit; the counters add up to what the operations reported", () =>
    fc.assert(
      fc.asyncProperty(fc.array(arbOperation, { minLength: 1, maxLength: 25 }), async (operations) => {
        const { tracer, spans } = recordingTracer()
        const program = Effect.gen(function* () {
          const b = yield* Beehive
          let sent = 0
          let received = 0
          let undeliverable = 0
          for (const [i, operation] of operations.entries()) {
            const id = `op${i}`
            const message = Message.make({ header: { id } })
            const before = spans.length
            const queued = (yield* b.snapshot).modules.find(
              (m) => m.name === ("module" in operation ? operation.module : "")
            )
            // A receive on an empty mailbox would wait: only one that returns (or fails) at once is made.
            if (operation._tag === "receive" && queued !== undefined && queued.queued === 0) continue
            const members =
              "group" in operation && operation._tag !== "addModuleGroup"
                ? ((yield* b.snapshot).groups.get(operation.group) ?? []).length
                : 0
            const run = (): Effect.Effect<unknown, unknown> => {
              switch (operation._tag) {
                case "addModule":
                  return b.addModule(operation.module)
                case "addModuleGroup":
                  return b.addModuleGroup(operation.module, operation.group)
                case "send":
                  return Effect.tap(b.send(operation.module, message), () =>
                    Effect.sync(() => {
                      sent++
                    })
                  )
                case "receive":
                  return Effect.tap(b.receive(operation.module), () =>
                    Effect.sync(() => {
                      received++
                    })
                  )
                case "sendSync":
                  return b.sendSync(operation.module, message, operation.timeoutMs)
                case "sendResp":
                  return b.sendResp(Message.make({ header: { id, parentId: `parent-of-${id}` } }), operation.from)
                case "sendToGroup":
                  return Effect.tap(b.sendToGroup(operation.group, message), (result) =>
                    Effect.sync(() => {
                      sent += result.delivered.length
                    })
                  )
                case "sendToGroupSync":
                  return b.sendToGroupSync(operation.group, message, operation.timeoutMs)
                case "cleanup":
                  return Effect.tap(b.cleanup(operation.module), (report) =>
                    Effect.sync(() => {
                      undeliverable += report.undelivered.length
                    })
                  )
              }
            }
            // Calls nobody answers end at their deadline: time moves past it.
            const fiber = yield* Effect.forkChild(Effect.exit(run()))
            yield* Effect.yieldNow
            if (operation._tag === "sendSync" || operation._tag === "sendToGroupSync") {
              yield* TestClock.adjust(operation.timeoutMs)
            }
            const exit = yield* Fiber.join(fiber)
            const error = errorOf(exit) as { readonly _tag?: string } | undefined
            // A sync call that was not refused put its request (one copy per member) into mailboxes:
            // nobody answers, so it ends at its deadline (a group call with GroupSyncError "Timeout").
            if (error?._tag === "SyncTimeout") sent += 1
            if (error?._tag === "GroupSyncError") sent += members
            // A refused argument names the operation (R-API-3).
            if (error?._tag === "InvalidArgument") expect(error).toMatchObject({ operation: operation._tag })
            const made = spans.slice(before)
            expect(
              made.map((s) => s.name),
              `${i}: ${JSON.stringify(operation)}`
            ).toEqual([spanName(operation)])
            const span = made[0] as Tracer.NativeSpan
            const attributes = Object.fromEntries(span.attributes)
            expect(attributes).toMatchObject(attributesOf(operation, id))
            expect(Object.values(attributes).every((v) => v !== undefined)).toBe(true)
            expect(span.status._tag).toBe("Ended")
            if (span.status._tag === "Ended") expect(Exit.isFailure(span.status.exit)).toBe(Exit.isFailure(exit))
          }
          const snapshot = yield* Metric.snapshot
          const state = (name: string) =>
            snapshot.find((m) => m.id === name)?.state as Record<string, unknown> | undefined
          expect(state(MetricNames.sent)?.count ?? 0).toBe(sent)
          expect(state(MetricNames.received)?.count ?? 0).toBe(received)
          expect(state(MetricNames.undeliverable)?.count ?? 0).toBe(undeliverable)
          expect(state(MetricNames.pendingCalls)?.value ?? 0).toBe(0)
          // Every metric recorded says what it counts, and the counters only grow.
          for (const metric of snapshot) {
            expect(metric.description, metric.id).toMatch(/\w+ \w+/)
            if (metric.type === "Counter") expect(metric.state, metric.id).toMatchObject({ incremental: true })
          }
        })
        await Effect.runPromise(
          program.pipe(
            Effect.withTracer(tracer),
            Effect.provideService(Metric.MetricRegistry, new Map()),
            Effect.provide(Layer.merge(Beehive.layerWith({ metrics: true }), TestClock.layer()))
          ) as Effect.Effect<void>
        )
      }),
      fcParams(150)
    ))
})

type Concurrent =
  | { readonly _tag: "send" | "receive" | "receiveAll" | "cleanup"; readonly module: string; readonly after: number }
  | { readonly _tag: "sendSync"; readonly module: string; readonly timeoutMs: number; readonly after: number }
  | { readonly _tag: "sendToGroup"; readonly after: number }
  | { readonly _tag: "sendToGroupSync"; readonly timeoutMs: number; readonly after: number }
  | { readonly _tag: "interrupt"; readonly target: number; readonly after: number }

const concurrentModule = fc.constantFrom("edged", "edgehub")
const after = fc.nat({ max: 6 })
const arbConcurrent: fc.Arbitrary<Concurrent> = fc.oneof(
  fc.record({
    _tag: fc.constantFrom("send" as const, "receive" as const, "receiveAll" as const),
    module: concurrentModule,
    after
  }),
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("cleanup" as const), module: concurrentModule, after }) },
  fc.record({ _tag: fc.constant("sendSync" as const), module: concurrentModule, timeoutMs, after }),
  fc.record({ _tag: fc.constant("sendToGroup" as const), after }),
  fc.record({ _tag: fc.constant("sendToGroupSync" as const), timeoutMs, after }),
  fc.record({ _tag: fc.constant("interrupt" as const), target: fc.nat(), after })
)

describe("R-OBS-1 the tracer of each call", () => {
  it("R-OBS-1 each send and receive is traced by its own fiber's tracer, and by none without one, whatever tracers (or none) the calls before it on the same context had", () =>
    fc.assert(
      fc.property(
        fc.array(fc.record({ receive: fc.boolean(), tracer: fc.constantFrom(0, 1, 2) }), { maxLength: 30 }),
        (steps) => {
          // No tracer, or one of two: a call's context differs from the one before it whenever they differ.
          const tracers = [undefined, recordingTracer(), recordingTracer()]
          const expected: Array<Array<string>> = [[], [], []]
          Effect.runSync(
            Effect.scoped(
              Effect.gen(function* () {
                const beehive = yield* makeBeehive()
                yield* beehive.addModule("m")
                let queued = 0
                for (const step of steps) {
                  const receive = step.receive && queued > 0
                  const operation = receive ? beehive.receive("m") : beehive.send("m", msg("x"))
                  const tracer = tracers[step.tracer]
                  yield* tracer === undefined ? operation : Effect.withTracer(operation, tracer.tracer)
                  queued += receive ? -1 : 1
                  expected[step.tracer]?.push(receive ? "beehive.receive" : "beehive.send")
                }
              })
            )
          )
          expect(tracers[1]?.spans.map((span) => span.name)).toEqual(expected[1])
          expect(tracers[2]?.spans.map((span) => span.name)).toEqual(expected[2])
        }
      ),
      fcParams(200)
    ))
})

describe("R-OBS-2 the counters under concurrency", () => {
  it("R-OBS-2 R-CLEAN-4 R-SEND-3 the sent counter is what conservation accounts for: every copy it counts was received, reported undelivered by a cleanup, or is still queued; the received and undeliverable counters match what the operations returned", () =>
    fc.assert(
      fc.property(
        fc.array(arbConcurrent, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 2 }),
        fc.nat(),
        // Preemptions drawn at random, or one fitted to the run (measured first, then placed), which
        // reaches windows of one operation, such as the one between taking a message and handing it over.
        arbPreemption([0, 0.2, 0.5]),
        (operations, capacity, seed, preemption) => {
          const scenario = (strategy: Strategy): void => {
            // Small mailboxes and no answers: senders wait for room, requests and copies wait in line
            // while cleanups and deadlines end them, receivers wait for messages.
            const registry = new Map()
            const sim = new SimRuntime({ strategy })
            const withRegistry = <A, E>(effect: Effect.Effect<A, E>) =>
              Effect.provideService(effect, Metric.MetricRegistry, registry)
            const scope = sim.run(Scope.make())
            // A message given back by a receiver stopped after its module was cleaned up is passed on here.
            let passedOn = 0
            const onUndeliverable = () => {
              passedOn++
            }
            const beehive = sim.run(
              withRegistry(Scope.provide(makeBeehive({ capacity, metrics: true, onUndeliverable }), scope))
            )
            sim.run(
              Effect.gen(function* () {
                for (const m of ["edged", "edgehub"]) {
                  yield* beehive.addModule(m)
                  yield* beehive.addModuleGroup(m, "g")
                }
              })
            )
            let received = 0
            let undelivered = 0
            const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
            operations.forEach((operation, i) => {
              const message = Message.make({ header: { id: `op${i}` } })
              const run = (): Effect.Effect<unknown, unknown> => {
                switch (operation._tag) {
                  case "send":
                    return beehive.send(operation.module, message)
                  // Counted in the continuation the message is handed to, in the operation that hands
                  // it over: no step comes in between where an interruption could drop it (R-RECV-4).
                  case "receive":
                    return Effect.flatMap(beehive.receive(operation.module), () => {
                      received++
                      return Effect.void
                    })
                  case "receiveAll":
                    return Effect.flatMap(beehive.receiveAll(operation.module), (batch) => {
                      received += batch.length
                      return Effect.void
                    })
                  case "cleanup":
                    // Its report must reach the count: an interruption lands before it or after the tap.
                    return Effect.uninterruptible(
                      Effect.tap(beehive.cleanup(operation.module), (report) =>
                        Effect.sync(() => {
                          undelivered += report.undelivered.length
                        })
                      )
                    )
                  case "sendSync":
                    return beehive.sendSync(operation.module, message, operation.timeoutMs)
                  case "sendToGroup":
                    return beehive.sendToGroup("g", message)
                  case "sendToGroupSync":
                    return beehive.sendToGroupSync("g", message, operation.timeoutMs)
                  case "interrupt":
                    return Fiber.interrupt(fibers[operation.target % fibers.length] as Fiber.Fiber<unknown, unknown>)
                }
              }
              fibers[i] = sim.fork(
                withRegistry(
                  Effect.gen(function* () {
                    for (let k = 0; k < operation.after; k++) yield* Effect.yieldNow
                    return yield* Effect.exit(run())
                  })
                )
              )
            })
            sim.settle()
            // Every deadline passes; what still waits (receivers of empty mailboxes, senders to full ones
            // nobody reads) is interrupted.
            sim.advanceBy(100)
            for (const fiber of fibers) fiber.interruptUnsafe()
            sim.settle()
            const queued = sim.run(beehive.snapshot).modules.reduce((total, module) => total + module.queued, 0)
            const counters = sim.run(withRegistry(Metric.snapshot))
            const count = (name: string) =>
              (counters.find((m) => m.id === name)?.state as { readonly count?: number } | undefined)?.count ?? 0
            expect(count(MetricNames.received), "received").toBe(received)
            expect(count(MetricNames.undeliverable), "undeliverable").toBe(undelivered)
            expect(count(MetricNames.sent), "sent").toBe(received + undelivered + passedOn + queued)
            sim.run(Scope.close(scope, Exit.void))
          }
          underPreemption(seed, preemption, scenario)
        }
      ),
      fcParams(300)
    ))
})

describe("R-OBS-2 a receive interrupted at any point", () => {
  it("R-OBS-2 R-RECV-4 R-RECV-5 a receive or receiveAll interrupted at any point of any schedule is counted received only for what reached its caller; what it gave back stays queued", () =>
    fc.assert(
      fc.property(
        fc.constantFrom("receive" as const, "receiveAll" as const),
        fc.boolean(),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 8 }),
        fc.nat(),
        arbPreemption([0.2, 0.5]),
        (operation, metrics, queued, yieldsBeforeInterrupt, seed, preemption) => {
          const scenario = (strategy: Strategy): void => {
            const registry = new Map()
            const withRegistry = <A, E>(effect: Effect.Effect<A, E>) =>
              Effect.provideService(effect, Metric.MetricRegistry, registry)
            const sim = new SimRuntime({ strategy })
            const scope = sim.run(Scope.make())
            const beehive = sim.run(withRegistry(Scope.provide(makeBeehive({ metrics }), scope)))
            sim.run(
              Effect.gen(function* () {
                yield* beehive.addModule("edged")
                for (let i = 0; i < queued; i++) yield* beehive.send("edged", msg(`m${i}`))
              })
            )
            let received = 0
            sim.run(
              withRegistry(
                Effect.gen(function* () {
                  const receiver = yield* Effect.forkChild(
                    // Counted in the continuation the message is handed to, in the operation that hands
                    // it over: no step comes in between where an interruption could drop it.
                    operation === "receive"
                      ? Effect.flatMap(beehive.receive("edged"), () => {
                          received++
                          return Effect.void
                        })
                      : Effect.flatMap(beehive.receiveAll("edged"), (batch) => {
                          received += batch.length
                          return Effect.void
                        })
                  )
                  // A sender comes too, so that a receiver that waits gets a message.
                  yield* Effect.forkDetach(beehive.send("edged", msg("late")))
                  for (let i = 0; i < yieldsBeforeInterrupt; i++) yield* Effect.yieldNow
                  yield* Fiber.interrupt(receiver)
                })
              )
            )
            sim.settle()
            const left = sim.run(beehive.snapshot).modules[0]?.queued ?? 0
            const counters = sim.run(withRegistry(Metric.snapshot))
            const count = (name: string) =>
              (counters.find((m) => m.id === name)?.state as { readonly count?: number } | undefined)?.count ?? 0
            if (metrics) expect(count(MetricNames.received), "received").toBe(received)
            expect(received + left, "received and left").toBe(queued + 1)
            sim.run(Scope.close(scope, Exit.void))
          }
          underPreemption(seed, preemption, scenario)
        }
      ),
      fcParams(1000)
    ))
})

/** The histogram's upper bounds (R-OBS-3): 0.05 ms doubling, 19 of them, then +∞. */
const latencyBounds = [...Array.from({ length: 19 }, (_, i) => 0.05 * 2 ** i), Number.POSITIVE_INFINITY]

describe("R-OBS-3 the latency histogram", () => {
  it("R-OBS-3 R-OBS-2 every sync call's duration is counted in each exponential bucket whose bound it does not exceed", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            operation: fc.constantFrom("sendSync" as const, "sendToGroupSync" as const),
            // Durations across the buckets, beyond the last finite bound (13107.2 ms) too.
            timeoutMs: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 30_000 }))
          }),
          { minLength: 1, maxLength: 8 }
        ),
        async (calls) => {
          const program = Effect.gen(function* () {
            const b = yield* Beehive
            yield* b.addModule("edged")
            yield* b.addModuleGroup("edged", "hub")
            // Nobody answers: each call lasts exactly its timeout, on the test clock.
            for (const [i, call] of calls.entries()) {
              const message = Message.make({ header: { id: `call${i}` } })
              const fiber = yield* Effect.forkChild(
                Effect.exit<unknown, unknown, never>(
                  call.operation === "sendSync"
                    ? b.sendSync("edged", message, call.timeoutMs)
                    : b.sendToGroupSync("hub", message, call.timeoutMs)
                )
              )
              yield* Effect.yieldNow
              yield* TestClock.adjust(call.timeoutMs)
              yield* Fiber.join(fiber)
            }
            const snapshot = yield* Metric.snapshot
            const state = snapshot.find((m) => m.id === MetricNames.sendSyncLatency)?.state as
              | {
                  readonly buckets: ReadonlyArray<readonly [number, number]>
                  readonly count: number
                  readonly sum: number
                }
              | undefined
            const durations = calls.map((c) => c.timeoutMs)
            expect(state?.buckets.map(([bound]) => bound)).toEqual(
              latencyBounds.map((bound) => expect.closeTo(bound, 9))
            )
            for (const [bound, count] of state?.buckets ?? []) {
              expect(count, `calls of at most ${bound} ms`).toBe(durations.filter((d) => d <= bound).length)
            }
            expect(state?.count).toBe(calls.length)
            expect(state?.sum).toBe(durations.reduce((a, d) => a + d, 0))
          })
          await Effect.runPromise(
            program.pipe(
              Effect.provideService(Metric.MetricRegistry, new Map()),
              Effect.provide(Layer.merge(Beehive.layerWith({ metrics: true }), TestClock.layer()))
            ) as Effect.Effect<void>
          )
        }
      ),
      fcParams(40)
    ))
})

describe("R-OBS-4 spans capture no stack trace", () => {
  it("R-OBS-4 a traced operation's failure names its span, without a source location", () =>
    fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          "send" as const,
          "receive" as const,
          "sendSync" as const,
          "cleanup" as const,
          "addModuleGroup" as const
        ),
        fc.stringMatching(/^[a-z]{1,12}$/),
        async (operation, module) => {
          const { tracer } = recordingTracer()
          // The module is not registered: each operation fails at once with ModuleNotFound.
          const exit = await Effect.runPromise(
            Effect.exit(
              Effect.gen(function* () {
                const b = yield* Beehive
                const message = Message.make({ header: { id: "m" } })
                switch (operation) {
                  case "send":
                    return yield* b.send(module, message)
                  case "receive":
                    return yield* b.receive(module)
                  case "sendSync":
                    return yield* b.sendSync(module, message, 10)
                  case "cleanup":
                    return yield* b.cleanup(module)
                  case "addModuleGroup":
                    return yield* b.addModuleGroup(module, "hub")
                }
              }).pipe(Effect.withTracer(tracer), Effect.provide(Beehive.layer))
            )
          )
          expect(errorOf(exit)).toMatchObject({ _tag: "ModuleNotFound", module })
          const rendered = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
          const frame = rendered.split("\n").find((line) => line.includes(`at beehive.${operation}`))
          expect(frame?.trim(), rendered).toBe(`at beehive.${operation}`)
        }
      ),
      fcParams(40)
    ))
})

describe("R-OBS-1 a stream's pulls", () => {
  it("R-OBS-1 R-RECV-6 each pull of a receiveStream is a span beehive.receiveAll ending with its own exit: a stream ended by its module's cleanup (the name registered again or not) or by the context's shutdown, at any point of any schedule, ends after a span whose error is ModuleClosed naming the module, every other pull's span having succeeded", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 6 }),
        fc.constantFrom("cleanup" as const, "cleanup, registered again" as const, "shutdown" as const),
        fc.nat(),
        arbPreemption([0.2, 0.5]),
        (queued, yieldsBeforeEnd, ending, seed, preemption) => {
          const scenario = (strategy: Strategy): void => {
            const { tracer, spans } = recordingTracer()
            const sim = new SimRuntime({ strategy })
            const scope = sim.run(Scope.make())
            const beehive = sim.run(Scope.provide(makeBeehive(), scope))
            sim.run(
              Effect.gen(function* () {
                yield* beehive.addModule("edged")
                for (let i = 0; i < queued; i++) yield* beehive.send("edged", msg(`m${i}`))
              })
            )
            const received: Array<string> = []
            const stream = sim.fork(
              Stream.runForEach(beehive.receiveStream("edged"), (m) =>
                Effect.sync(() => received.push(m.header.id))
              ).pipe(Effect.withTracer(tracer))
            )
            const undelivered: Array<string> = []
            const cleanedUp = (report: CleanupReport) => undelivered.push(...report.undelivered.map((m) => m.header.id))
            // The stream's pulls run while the module goes: between a pull's start and its wait's own step too.
            sim.fork(
              Effect.gen(function* () {
                for (let i = 0; i < yieldsBeforeEnd; i++) yield* Effect.yieldNow
                if (ending === "shutdown") {
                  for (const report of (yield* beehive.shutdown).cleanups) cleanedUp(report)
                  return
                }
                cleanedUp(yield* beehive.cleanup("edged"))
                // Another module of the name: a stream started before does not read it.
                if (ending === "cleanup, registered again") {
                  yield* beehive.addModule("edged")
                  yield* beehive.send("edged", msg("other"))
                }
              })
            )
            sim.settle()
            // A stream that started after the name was registered again reads that module: its cleanup ends it.
            const again = sim.run(Effect.exit(beehive.cleanup("edged")))
            if (Exit.isSuccess(again)) cleanedUp(again.value)
            sim.settle()
            const sent = Array.from({ length: queued }, (_, i) => `m${i}`)
            if (ending === "cleanup, registered again") sent.push("other")
            expect([...received, ...undelivered].sort()).toEqual([...sent].sort())
            expect(received.filter((id) => id !== "other")).toEqual(
              sent.filter((id) => received.includes(id) && id !== "other")
            )
            const ended = stream.pollUnsafe()
            if (ended !== undefined && Exit.isFailure(ended)) {
              // It started once the module was gone: nothing pulled.
              expect(errorOf(ended)).toEqual(
                ending === "shutdown"
                  ? new BeehiveShutdown({ operation: "receiveStream" })
                  : new ModuleNotFound({ module: "edged" })
              )
              expect(spans).toEqual([])
              expect(received).toEqual([])
            } else {
              expect(ended, "the stream ended").toEqual(Exit.void)
              expect(spans.map((s) => s.name)).toEqual(spans.map(() => "beehive.receiveAll"))
              const exits = spans.map((s) => (s.status._tag === "Ended" ? s.status.exit : undefined))
              const closing = exits.pop()
              expect(closing === undefined ? "no span" : errorOf(closing)).toEqual(
                new ModuleClosed({ module: "edged" })
              )
              for (const exit of exits) expect(exit !== undefined && Exit.isSuccess(exit)).toBe(true)
            }
            sim.run(Scope.close(scope, Exit.void))
          }
          underPreemption(seed, preemption, scenario)
        }
      ),
      fcParams(500)
    ))
})
