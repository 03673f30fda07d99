/**
 * Argument checks of every operation (R-API-3) as a property: calls written from untyped code, with
 * any mix of good and bad arguments, fail with `InvalidArgument` naming the operation and the first
 * bad argument in the order of the parameters, and change nothing; calls whose arguments are all good
 * never fail with `InvalidArgument`. And a shutdown ends every pending call with `BeehiveShutdown`
 * naming the call's operation (R-GLOBAL-4).
 */
import { Effect, Exit, References, Scope, Stream } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Beehive, type BeehiveService, makeBeehive, makeHost } from "../../src/contexts/Beehive.ts"
import type { ContextType } from "../../src/contexts/ContextHost.ts"
import { openMailbox } from "../../src/contexts/MailboxEndpoint.ts"
import type { EndpointOptions } from "../../src/contexts/ModuleContext.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import type { Strategy } from "../../src/effects/Strategy.ts"
import { BeehiveShutdown, InvalidArgument } from "../../src/model/Errors.ts"
import * as Message from "../../src/model/Message.ts"
import { makeSide } from "../socket/support.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"
import { arbPreemption, underPreemption } from "../support/preemption.ts"
import { recordingTracer } from "../support/tracer.ts"

type Kind = "name" | "message" | "messages" | "bound" | "timeout" | "optionalName"

/** One parameter: its kind and the name the error gives it. */
interface Parameter {
  readonly kind: Kind
  readonly argument: string
}

const name = (argument: string): Parameter => ({ kind: "name", argument })
const message = (argument: string): Parameter => ({ kind: "message", argument })
const timeout: Parameter = { kind: "timeout", argument: "timeout" }

/** Every operation taking arguments, with its parameters in order (`addModule`'s options are R-API-3's other property). */
const operations = {
  addModule: [name("module name")],
  addModuleGroup: [name("module name"), name("group name")],
  cleanup: [name("module name")],
  send: [name("module name"), message("message")],
  sendAll: [name("module name"), { kind: "messages", argument: "messages" }],
  receive: [name("module name")],
  receiveAll: [name("module name"), { kind: "bound", argument: "max" }],
  receiveStream: [name("module name"), { kind: "bound", argument: "max" }],
  sendSync: [name("module name"), message("message"), timeout],
  sendResp: [message("response"), { kind: "optionalName", argument: "responder" }],
  sendToGroup: [name("group name"), message("message")],
  sendToGroupSync: [name("group name"), message("message"), timeout]
} satisfies Record<string, ReadonlyArray<Parameter>>

type Operation = keyof typeof operations

// A stream is called by running it.
const call = (beehive: BeehiveService, operation: Operation, args: ReadonlyArray<unknown>) =>
  operation === "receiveStream"
    ? Stream.runCollect(
        (beehive.receiveStream as (...a: ReadonlyArray<unknown>) => Stream.Stream<unknown, unknown>)(...args)
      )
    : (beehive[operation] as (...a: ReadonlyArray<unknown>) => Effect.Effect<unknown, unknown>)(...args)

// Good values lead nowhere that waits: the names are of no module or group, so that a good call ends
// at once (ModuleNotFound, GroupNotFound, false) and only the checks are under test.
const good: Record<Kind, fc.Arbitrary<unknown>> = {
  name: fc.constantFrom("nobody", "m-1", "组"),
  optionalName: fc.constantFrom(undefined, "nobody"),
  message: fc.constantFrom(msg("a"), msg("b", { nested: [1] }, { route: { operation: "response" } })),
  messages: fc.constantFrom([], [msg("a")], [msg("a"), msg("b")]),
  bound: fc.constantFrom(undefined, 1, 3, Number.MAX_SAFE_INTEGER),
  timeout: fc.constantFrom(undefined, 0, -5, 1, 250, "2 seconds")
}

const bad: Record<Kind, fc.Arbitrary<unknown>> = {
  name: fc.constantFrom("", 0, null, undefined, {}, [], true),
  optionalName: fc.constantFrom("", 0, null, {}, false),
  message: fc.constantFrom(
    null,
    undefined,
    3,
    "message",
    {},
    { header: null, route: {} },
    { header: { id: 1 }, route: {} },
    { header: { id: "x" } }
  ),
  // An array with a bad message is refused naming the element (`messages[1]`).
  messages: fc.constantFrom(null, undefined, msg("a"), "messages", [null], [msg("a"), { header: { id: "x" } }]),
  bound: fc.constantFrom(0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, "3", null),
  timeout: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, "soon", {}, null, true)
}

/** An operation with each argument good or bad, and the argument the error must name (the first bad one). */
const arbCall = fc.constantFrom(...(Object.keys(operations) as Array<Operation>)).chain((operation) =>
  fc
    .tuple(
      ...operations[operation].map((parameter) =>
        fc.oneof(
          good[parameter.kind].map((value) => ({ value, bad: false })),
          bad[parameter.kind].map((value) => ({ value, bad: true }))
        )
      )
    )
    .map((args) => {
      const first = args.findIndex((a) => a.bad)
      return {
        operation,
        args: args.map((a) => a.value),
        invalid: first < 0 ? undefined : operations[operation][first]?.argument
      }
    })
)

describe("R-API-3 every operation checks its arguments", () => {
  it("R-API-3 R-OBS-1 a call with bad arguments fails with InvalidArgument naming the operation and its first bad argument, and changes nothing, with a tracer installed or not; a call with good ones is never refused", () =>
    fc.assert(
      fc.property(arbCall, fc.boolean(), ({ operation, args, invalid }, traced) => {
        const sim = new SimRuntime()
        const scope = sim.run(Scope.make())
        const beehive = sim.run(Scope.provide(makeBeehive(), scope))
        sim.run(
          Effect.gen(function* () {
            yield* beehive.addModule("m")
            yield* beehive.addModuleGroup("m", "g")
            yield* beehive.send("m", msg("queued"))
          })
        )
        const before = sim.run(beehive.snapshot)
        // With a tracer installed too: the span's attributes are read from the arguments before they are
        // checked, and a bad one is still refused, never a defect (R-OBS-1).
        const called = call(beehive, operation, args)
        const fiber = sim.fork<unknown, unknown>(traced ? Effect.withTracer(called, recordingTracer().tracer) : called)
        sim.settle()
        const exit = fiber.pollUnsafe()
        expect(exit, "the call ended at once").toBeDefined()
        const error = errorOf(exit as Exit.Exit<unknown, unknown>)
        if (invalid === undefined) {
          expect(error).not.toBeInstanceOf(InvalidArgument)
        } else {
          expect(error).toBeInstanceOf(InvalidArgument)
          expect(error).toMatchObject({ operation })
          const argument = (error as InvalidArgument).argument
          expect(argument === invalid || argument.startsWith(`${invalid}[`), argument).toBe(true)
          // The refusal says why, beyond naming what it refused.
          expect((error as InvalidArgument).reason.trim()).not.toBe("")
          expect(sim.run(beehive.snapshot)).toEqual(before)
        }
        sim.run(Scope.close(scope, Exit.void))
      }),
      fcParams(300)
    ))
})

/** What is not a context type of this package: not an object, no `open`, or a `forwardResponse` that is no function. */
const notAContextType = fc.oneof(
  fc.constantFrom<unknown>(null, undefined, 0, "socket", true, [], () => Effect.void),
  fc.record({ type: fc.string(), open: fc.constantFrom<unknown>(undefined, null, "open", 1, {}) }),
  fc.record({
    type: fc.constantFrom("t", "other"),
    open: fc.constant(() => Effect.void),
    forwardResponse: fc.constantFrom<unknown>(null, "forward", 1, {})
  })
)

/** Context types of this package whose name is bad: R-API-3's names. */
const badlyNamed = fc.constantFrom<unknown>("", 0, null, undefined, {}).map((type) => ({
  type,
  open: () => Effect.void
}))

describe("R-API-3 plug checks its argument", () => {
  it("R-API-3 R-API-5 plug refuses what is not a context type of this package, or one with a bad name, with InvalidArgument naming plug and what it refused, saying why, and plugs nothing", () =>
    fc.assert(
      fc.property(
        fc.oneof(
          notAContextType.map((context) => ({ context, argument: "context" })),
          badlyNamed.map((context) => ({ context, argument: "context type" }))
        ),
        ({ context, argument }) => {
          const sim = new SimRuntime()
          const scope = sim.run(Scope.make())
          const host = sim.run(Scope.provide(Beehive.makeHost(), scope))
          const exit = sim.runSync(host.plug(context as never))
          const error = errorOf(exit)
          expect(error).toBeInstanceOf(InvalidArgument)
          expect(error).toMatchObject({ operation: "plug", argument })
          expect((error as InvalidArgument).reason.trim()).not.toBe("")
          // Nothing was plugged under the name it gave.
          const type = (context as { type?: unknown } | null)?.type
          if (typeof type === "string" && type !== "") {
            const added = sim.runSync(host.beehive.addModule("m", { contextType: type }))
            expect(errorOf(added)).toMatchObject({ _tag: "UnknownContextType" })
          }
          sim.run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(100)
    ))
})

describe("R-API-5 a type name is plugged in once", () => {
  it("R-API-5 R-API-3 plugging a type name that is plugged in already fails with InvalidArgument naming plug and the context type, saying why; the type plugged first goes on opening the endpoints", () =>
    fc.assert(
      fc.property(fc.constantFrom("channel", "t", "other"), fc.boolean(), (type, pluggedHere) => {
        const sim = new SimRuntime()
        const scope = sim.run(Scope.make())
        const host = sim.run(Scope.provide(Beehive.makeHost(), scope))
        const opened: Array<string> = []
        // A context type named `type` that opens mailboxes and notes which of the two opened one.
        const contextType = (which: string) => ({
          type,
          open: (module: string, options: EndpointOptions) =>
            Effect.sync(() => {
              opened.push(`${which}:${module}`)
              return openMailbox(module, options)
            })
        })
        const first = contextType("first")
        // "channel" is plugged in from the start; another name is plugged here first.
        if (type !== "channel" || pluggedHere) {
          const exit = sim.runSync(host.plug(first as never))
          if (type === "channel") expect(errorOf(exit)).toMatchObject({ argument: "context type" })
          else expect(Exit.isSuccess(exit)).toBe(true)
        }
        const error = errorOf(sim.runSync(host.plug(contextType("second") as never)))
        expect(error).toBeInstanceOf(InvalidArgument)
        expect(error).toMatchObject({ operation: "plug", argument: "context type" })
        expect((error as InvalidArgument).reason).toContain(type)
        expect(Exit.isSuccess(sim.runSync(host.beehive.addModule("m", { contextType: type })))).toBe(true)
        expect(opened).toEqual(type === "channel" ? [] : ["first:m"])
        sim.run(Scope.close(scope, Exit.void))
      }),
      fcParams(30)
    ))
})

describe("R-API-3 addModule checks its options", () => {
  /** A capacity R-API-3 refuses: not an integer from 1 to 2^24. */
  const badCapacity = fc.oneof(
    fc.constantFrom<unknown>(0, -1, 1.5, 2 ** 24 + 1, Number.NaN, Number.POSITIVE_INFINITY, "8", null, true, [4], {}),
    fc.integer({ max: 0 }),
    fc.integer({ min: 2 ** 24 + 1 })
  )
  /** A context type R-API-3 refuses: not a non-empty string. */
  const badContextType = fc.constantFrom<unknown>("", 0, 42, null, false, ["channel"], { type: "channel" })

  it("R-API-3 R-MOD-1 addModule refuses options that are no object, a capacity that is not an integer from 1 to 2^24, or a contextType that is not a non-empty string (the capacity checked first), with InvalidArgument naming addModule and the option, saying why, and adds nothing; good options add the module", () =>
    fc.assert(
      fc.property(
        fc.option(
          fc.oneof(
            fc.integer({ min: 1, max: 2 ** 24 }).map((c) => ({ ok: c })),
            badCapacity.map((c) => ({ bad: c }))
          ),
          { nil: undefined }
        ),
        fc.option(
          fc.oneof(
            fc.constant({ ok: "channel" as unknown }),
            badContextType.map((t) => ({ bad: t }))
          ),
          { nil: undefined }
        ),
        // Options that are no object at all, from untyped code: refused before what they would hold.
        fc.oneof(
          { weight: 3, arbitrary: fc.constant(undefined) },
          {
            weight: 1,
            arbitrary: fc.oneof(fc.constant(null), fc.integer(), fc.string(), fc.boolean(), fc.array(fc.nat()))
          }
        ),
        (capacity, contextType, notAnObject) => {
          const sim = new SimRuntime()
          const scope = sim.run(Scope.make())
          const beehive = sim.run(Scope.provide(makeBeehive(), scope))
          const options: Record<string, unknown> = {}
          if (capacity !== undefined) options.capacity = "ok" in capacity ? capacity.ok : capacity.bad
          if (contextType !== undefined) options.contextType = "ok" in contextType ? contextType.ok : contextType.bad
          const given = notAnObject === undefined ? options : notAnObject
          const exit = sim.runSync(beehive.addModule("m", given as never))
          const refused =
            notAnObject !== undefined
              ? "options"
              : capacity !== undefined && "bad" in capacity
                ? "capacity"
                : contextType !== undefined && "bad" in contextType
                  ? "context type"
                  : undefined
          if (refused === undefined) expect(Exit.isSuccess(exit)).toBe(true)
          else {
            const error = errorOf(exit)
            expect(error).toBeInstanceOf(InvalidArgument)
            expect(error).toMatchObject({ operation: "addModule", argument: refused })
            expect((error as InvalidArgument).reason.trim()).not.toBe("")
          }
          const modules = sim.run(beehive.snapshot).modules.map((m) => m.name)
          expect(modules).toEqual(refused === undefined ? ["m"] : [])
          sim.run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(200)
    ))
})

describe("R-GLOBAL-4 a shutdown ends the pending calls", () => {
  it("R-GLOBAL-4 every sync call pending at shutdown fails with BeehiveShutdown naming its operation, and the report counts them", () =>
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom("sendSync" as const, "sendToGroupSync" as const), { maxLength: 6 }),
        (kinds) => {
          const sim = new SimRuntime()
          const scope = sim.run(Scope.make())
          const beehive = sim.run(Scope.provide(makeBeehive(), scope))
          sim.run(Effect.andThen(beehive.addModule("m"), beehive.addModuleGroup("m", "g")))
          const calls = kinds.map((kind, i) =>
            sim.fork<unknown, unknown>(
              kind === "sendSync"
                ? beehive.sendSync("m", msg(`call${i}`), 60_000)
                : beehive.sendToGroupSync("g", msg(`call${i}`), 60_000)
            )
          )
          sim.settle()
          const report = sim.run(beehive.shutdown)
          sim.settle()
          expect(report.cancelledCalls).toBe(kinds.length)
          for (const [i, kind] of kinds.entries()) {
            const error = errorOf(calls[i]?.pollUnsafe() as Exit.Exit<unknown, unknown>)
            expect(error).toBeInstanceOf(BeehiveShutdown)
            expect(error).toMatchObject({ operation: kind })
          }
          sim.run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(100)
    ))
})

describe("R-GLOBAL-3 a shutdown racing the answers", () => {
  it("R-GLOBAL-3 R-GLOBAL-4 a shutdown while a responder answers, at any point of any schedule: the report counts exactly the calls that fail with BeehiveShutdown, and every other call got its answer", () =>
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ kind: fc.constantFrom("sendSync" as const, "sendToGroupSync" as const), answered: fc.boolean() }),
          {
            minLength: 1,
            maxLength: 5
          }
        ),
        fc.nat({ max: 12 }),
        fc.nat(),
        arbPreemption([0.2, 0.5]),
        (calls, yieldsBeforeShutdown, seed, preemption) => {
          const scenario = (strategy: Strategy): void => {
            const sim = new SimRuntime({ strategy })
            const scope = sim.run(Scope.make())
            const beehive = sim.run(Scope.provide(makeBeehive(), scope))
            sim.run(Effect.andThen(beehive.addModule("m"), beehive.addModuleGroup("m", "g")))
            // Every call waits first: the shutdown then races the answers and the callers' ends.
            const fibers = calls.map(({ kind }, i) =>
              sim.fork<unknown, unknown>(
                kind === "sendSync"
                  ? beehive.sendSync("m", msg(`call${i}`), 60_000)
                  : beehive.sendToGroupSync("g", msg(`call${i}`), 60_000)
              )
            )
            sim.settle()
            sim.fork(
              Effect.forever(
                Effect.flatMap(beehive.receive("m"), (request) => {
                  const i = Number(request.header.id.slice("call".length))
                  return calls[i]?.answered === true
                    ? Effect.asVoid(Effect.flatMap(Message.newResponse(request, "ok"), (r) => beehive.sendResp(r, "m")))
                    : Effect.void
                })
              )
            )
            let cancelled: number | undefined
            sim.fork(
              Effect.gen(function* () {
                for (let k = 0; k < yieldsBeforeShutdown; k++) yield* Effect.yieldNow
                cancelled = (yield* beehive.shutdown).cancelledCalls
              })
            )
            sim.settle()
            const exits = fibers.map((fiber) => fiber.pollUnsafe())
            const shutDown = exits.filter((exit) => exit !== undefined && errorOf(exit) instanceof BeehiveShutdown)
            expect(cancelled).toBe(shutDown.length)
            exits.forEach((exit, i) => {
              if (exit === undefined || Exit.isSuccess(exit))
                expect(exit !== undefined && calls[i]?.answered).toBe(true)
              else expect(errorOf(exit)).toBeInstanceOf(BeehiveShutdown)
            })
            sim.run(Scope.close(scope, Exit.void))
          }
          underPreemption(seed, preemption, scenario)
        }
      ),
      fcParams(300)
    ))
})

describe("R-GLOBAL-4 after a shutdown", () => {
  it("R-GLOBAL-4 every operation after a shutdown, on a name that was a module or group before it or never one, fails with BeehiveShutdown naming it (cleanup with ModuleNotFound; sendResp returns false), and so does plugging in a context type", () =>
    fc.assert(
      fc.property(
        fc
          .constantFrom(...(Object.keys(operations) as Array<Operation>))
          .chain((operation) =>
            fc.tuple(
              fc.constant(operation),
              fc.tuple(
                ...operations[operation].map((parameter) =>
                  parameter.kind === "name" ? fc.constantFrom("m", "g", "nobody") : good[parameter.kind]
                )
              )
            )
          ),
        ([operation, args]) => {
          const sim = new SimRuntime()
          const scope = sim.run(Scope.make())
          const host = sim.run(Scope.provide(makeHost(), scope))
          const beehive = host.beehive
          sim.run(Effect.andThen(beehive.addModule("m"), beehive.addModuleGroup("m", "g")))
          sim.run(beehive.send("m", msg("waiting")))
          sim.run(beehive.shutdown)
          const exit = sim.run(Effect.exit(call(beehive, operation, args)))
          if (operation === "sendResp") expect(exit).toEqual(Exit.succeed(false))
          else if (operation === "cleanup") expect(errorOf(exit)).toMatchObject({ _tag: "ModuleNotFound" })
          else expect(errorOf(exit)).toEqual(new BeehiveShutdown({ operation }))
          const plugged = sim.run(
            Effect.exit(host.plug({ type: "late", open: () => Effect.die("never opened") } as ContextType))
          )
          expect(errorOf(plugged)).toEqual(new BeehiveShutdown({ operation: "plug" }))
          sim.run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(100)
    ))
})

describe("R-SOCK-12 a client's bounds", () => {
  it("R-SOCK-12 R-API-3 connect refuses a maxAttempts or giveUpAfter that is not positive with InvalidArgument naming connect and the bound (maxAttempts checked first), before trying anything", () =>
    fc.assert(
      fc.asyncProperty(
        fc.option(fc.constantFrom<unknown>(0, -1, 1.5, Number.NaN, "3", null, 1, 7), { nil: undefined }),
        fc.option(fc.constantFrom<unknown>(0, -10, Number.POSITIVE_INFINITY, "soon", null, 5, "1 second"), {
          nil: undefined
        }),
        (maxAttempts, giveUpAfter) =>
          Effect.runPromise(
            Effect.scoped(
              Effect.gen(function* () {
                const network = new MemoryNetwork()
                const side = yield* makeSide(network.transport)
                const exit = yield* Effect.exit(
                  side.socket.connect({
                    module: "X",
                    address: unix("/nobody"),
                    maxAttempts: maxAttempts as number,
                    giveUpAfter: giveUpAfter as number
                  })
                )
                const attemptsBad =
                  maxAttempts !== undefined && !(Number.isInteger(maxAttempts) && (maxAttempts as number) > 0)
                const giveUpBad =
                  giveUpAfter !== undefined &&
                  !(
                    (typeof giveUpAfter === "number" && giveUpAfter > 0 && Number.isFinite(giveUpAfter)) ||
                    giveUpAfter === "1 second"
                  )
                const bad = attemptsBad ? "maxAttempts" : giveUpBad ? "giveUpAfter" : undefined
                const error = errorOf(exit)
                if (bad === undefined) {
                  expect(error).toBeUndefined()
                } else {
                  expect(error).toBeInstanceOf(InvalidArgument)
                  expect(error).toMatchObject({ operation: "connect", argument: bad })
                  expect(side.events.filter((e) => e._tag === "Retrying" || e._tag === "GaveUp")).toEqual([])
                }
              })
            ).pipe(Effect.provideService(References.MinimumLogLevel, "Error"))
          )
      ),
      fcParams(60)
    ))
})

describe("R-SOCK-12 a bounded client that is refused", () => {
  it("R-SOCK-12 a client bounded by maxAttempts whose handshakes are all refused gives up after that many, reports GaveUp, and its connected fails with ConnectFailed EGAVEUP", () =>
    fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), (maxAttempts) =>
        Effect.runPromise(
          Effect.scoped(
            Effect.gen(function* () {
              const network = new MemoryNetwork()
              const server = yield* makeSide(network.transport)
              yield* server.socket.serve({ address: unix("/refusing"), accept: ["someone-else"] })
              const side = yield* makeSide(network.transport)
              yield* side.beehive.addModule("X")
              const client = yield* side.socket.connect({
                module: "X",
                address: unix("/refusing"),
                maxAttempts,
                backoff: { initial: 1, max: 2 }
              })
              const exit = yield* Effect.exit(client.connected)
              expect(errorOf(exit)).toMatchObject({ _tag: "ConnectFailed", code: "EGAVEUP" })
              expect(side.events.filter((e) => e._tag === "GaveUp")).toMatchObject([{ attempts: maxAttempts }])
            })
          ).pipe(Effect.provideService(References.MinimumLogLevel, "Error"))
        )
      ),
      fcParams(10)
    ))
})
