import { Cause, Effect, Exit } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Beehive, type BeehiveService } from "../../src/contexts/Beehive.ts"
import { checkMessage, checkName, checkTimeout } from "../../src/model/Arguments.ts"
import { InvalidArgument } from "../../src/model/Errors.ts"
import { createBeehive } from "../../src/promise.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"

// Every operation's bad inputs, as a user may pass them from untyped code: `as never` stands for that.
const bad = <A>(value: unknown): A => value as A

interface Case {
  readonly label: string
  readonly argument: string
  readonly call: (b: BeehiveService) => Effect.Effect<unknown, unknown>
}

const notNames: ReadonlyArray<readonly [string, unknown]> = [
  ["empty", ""],
  ["a number", 42],
  ["null", null],
  ["undefined", undefined],
  ["an object", { name: "m" }]
]
const notMessages: ReadonlyArray<readonly [string, unknown]> = [
  ["null", null],
  ["undefined", undefined],
  ["a string", "hello"],
  ["an object without header", { route: {} }],
  ["a header without id", { header: {}, route: {} }],
  ["an object without route", { header: { id: "x" } }]
]
const notTimeouts: ReadonlyArray<readonly [string, unknown]> = [
  ["NaN", Number.NaN],
  ["a word", "banana"],
  ["infinity", Number.POSITIVE_INFINITY],
  ["an object", {}],
  ["a boolean", true],
  ["null", null]
]
const notCapacities: ReadonlyArray<readonly [string, unknown]> = [
  ["0", 0],
  ["NaN", Number.NaN],
  ["negative", -1],
  ["fractional", 1.5],
  ["a string", "10"],
  ["too large", 2 ** 40]
]

const cases: ReadonlyArray<Case> = [
  ...notNames.flatMap(
    ([what, v]): Array<Case> => [
      { label: `addModule with a name that is ${what}`, argument: "module name", call: (b) => b.addModule(bad(v)) },
      {
        label: `addModule with a context type that is ${what}`,
        argument: "context type",
        call: (b) => b.addModule("n", { contextType: bad(v === undefined ? "" : v) })
      },
      {
        label: `addModuleGroup with a module ${what}`,
        argument: "module name",
        call: (b) => b.addModuleGroup(bad(v), "g")
      },
      {
        label: `addModuleGroup with a group ${what}`,
        argument: "group name",
        call: (b) => b.addModuleGroup("m", bad(v))
      },
      { label: `cleanup of ${what}`, argument: "module name", call: (b) => b.cleanup(bad(v)) },
      { label: `send to ${what}`, argument: "module name", call: (b) => b.send(bad(v), msg("x")) },
      { label: `receive from ${what}`, argument: "module name", call: (b) => b.receive(bad(v)) },
      { label: `sendSync to ${what}`, argument: "module name", call: (b) => b.sendSync(bad(v), msg("x")) },
      { label: `sendToGroup to ${what}`, argument: "group name", call: (b) => b.sendToGroup(bad(v), msg("x")) },
      { label: `sendToGroupSync to ${what}`, argument: "group name", call: (b) => b.sendToGroupSync(bad(v), msg("x")) },
      ...(v === undefined
        ? []
        : [
            {
              label: `sendResp from ${what}`,
              argument: "responder",
              call: (b: BeehiveService) => b.sendResp(msg("r"), bad(v))
            }
          ])
    ]
  ),
  ...notMessages.flatMap(
    ([what, v]): Array<Case> => [
      { label: `send of ${what}`, argument: "message", call: (b) => b.send("m", bad(v)) },
      { label: `sendSync of ${what}`, argument: "message", call: (b) => b.sendSync("m", bad(v)) },
      { label: `sendToGroup of ${what}`, argument: "message", call: (b) => b.sendToGroup("g", bad(v)) },
      { label: `sendToGroupSync of ${what}`, argument: "message", call: (b) => b.sendToGroupSync("g", bad(v)) },
      { label: `sendResp of ${what}`, argument: "response", call: (b) => b.sendResp(bad(v)) }
    ]
  ),
  ...notTimeouts.flatMap(
    ([what, v]): Array<Case> => [
      { label: `sendSync with timeout ${what}`, argument: "timeout", call: (b) => b.sendSync("m", msg("x"), bad(v)) },
      {
        label: `sendToGroupSync with timeout ${what}`,
        argument: "timeout",
        call: (b) => b.sendToGroupSync("g", msg("x"), bad(v))
      }
    ]
  ),
  ...notCapacities.map(
    ([what, v]): Case => ({
      label: `addModule with capacity ${what}`,
      argument: "capacity",
      call: (b) => b.addModule("n", { capacity: bad(v) })
    })
  )
]

/** A context with module m (holding one message) in group g, and its state as a snapshot. */
const prepared = Effect.gen(function* () {
  const b = yield* Beehive
  yield* b.addModule("m")
  yield* b.addModuleGroup("m", "g")
  yield* b.send("m", msg("kept"))
  return b
})

const runWithBeehive = <A, E>(body: Effect.Effect<A, E, Beehive>) =>
  Effect.runPromise(Effect.exit(body.pipe(Effect.provide(Beehive.layer))))

describe("R-API-3 bad arguments are InvalidArgument, and change nothing", () => {
  it.each(cases.map((c) => [c.label, c] as const))("%s", async (_label, c) => {
    const exit = await runWithBeehive(
      Effect.gen(function* () {
        const b = yield* prepared
        const before = yield* b.snapshot
        const result = yield* Effect.exit(c.call(b))
        expect(yield* b.snapshot).toEqual(before)
        return result
      })
    )
    expect(Exit.isSuccess(exit)).toBe(true)
    const result = (exit as Exit.Success<Exit.Exit<unknown, unknown>>).value
    expect(Exit.isFailure(result) && Cause.hasDies(result.cause)).toBe(false)
    const error = Exit.isFailure(result) ? Cause.squash(result.cause) : undefined
    expect(error).toBeInstanceOf(InvalidArgument)
    expect(error).toMatchObject({ argument: c.argument })
  })

  it("the defaults stay valid: 0 and negative timeouts mean 30 s, bigints and Durations are durations", () => {
    expect(checkTimeout("t", 0)).toMatchObject({ success: 30_000 })
    expect(checkTimeout("t", -5)).toMatchObject({ success: 30_000 })
    expect(checkTimeout("t", Number.NEGATIVE_INFINITY)).toMatchObject({ success: 30_000 })
    expect(checkTimeout("t", "2 seconds")).toMatchObject({ success: 2000 })
    expect(checkTimeout("t", 1.5)).toMatchObject({ success: 1.5 })
  })

  it("options that are not objects are InvalidArgument: addModule, Beehive.make, createBeehive", async () => {
    for (const options of [null, 5, "x", []]) {
      const added = await runWithBeehive(Effect.flatMap(Beehive, (b) => b.addModule("n", bad(options))))
      expect(Exit.isFailure(added) && Cause.squash(added.cause)).toMatchObject({
        _tag: "InvalidArgument",
        argument: "options"
      })
      const made = await Effect.runPromise(Effect.exit(Effect.scoped(Beehive.make(bad(options)))))
      expect(Exit.isFailure(made) && Cause.squash(made.cause)).toMatchObject({
        _tag: "InvalidArgument",
        argument: "options"
      })
      expect(() => createBeehive(bad(options))).toThrow(InvalidArgument)
    }
  })

  it("Beehive.layerWith, Beehive.make and createBeehive refuse a bad capacity", async () => {
    for (const [, capacity] of notCapacities) {
      const exit = await Effect.runPromise(Effect.exit(Effect.scoped(Beehive.make({ capacity: bad(capacity) }))))
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toBeInstanceOf(InvalidArgument)
      expect(() => createBeehive({ capacity: bad(capacity) })).toThrow(InvalidArgument)
    }
  })

  it("the Promise facade rejects with the same classes", async () => {
    const hive = createBeehive()
    await hive.addModule("m")
    const rejected = [
      hive.addModule(bad("")),
      hive.send(bad(42), msg("x")),
      hive.send("m", bad(null)),
      hive.sendSync("m", msg("y"), bad("banana")),
      hive.sendSync("m", msg("z"), Number.NaN),
      hive.sendResp(bad(undefined))
    ]
    for (const promise of rejected) await expect(promise).rejects.toBeInstanceOf(InvalidArgument)
    await hive.close()
  })

  // Anything at all, in any argument: a typed failure or a success, never a defect and never a hang.
  it("any value in any argument is accepted or refused with InvalidArgument, never a defect", async () => {
    const operations: ReadonlyArray<(b: BeehiveService, v: unknown) => Effect.Effect<unknown, unknown>> = [
      (b, v) => b.addModule(bad(v)),
      (b, v) => b.addModule("n", bad(v)),
      (b, v) => b.addModuleGroup("m", bad(v)),
      (b, v) => b.cleanup(bad(v)),
      (b, v) => b.send(bad(v), msg("x")),
      (b, v) => b.send("m", bad(v)),
      (b, v) => b.sendSync("m", bad(v), 1),
      (b, v) => b.sendSync("m", msg("x"), bad(v)),
      (b, v) => b.sendResp(bad(v)),
      (b, v) => b.sendToGroup("g", bad(v)),
      (b, v) => b.sendToGroupSync("g", msg("x"), bad(v))
    ]
    // Anything, with the values untyped callers pass most often given their own weight.
    const anyValue = fc.oneof(
      fc.constantFrom(null, undefined, 0, -1, "", Number.NaN, [], {}, true),
      fc.anything({ withBigInt: true, withMap: true })
    )
    await fc.assert(
      fc.asyncProperty(fc.nat(operations.length - 1), anyValue, async (i, v) => {
        const exit = await runWithBeehive(
          Effect.gen(function* () {
            const b = yield* prepared
            // A valid input may start a wait (a sync call without a responder): it is not a hang of the check.
            return yield* Effect.exit(Effect.timeoutOption((operations[i] as (typeof operations)[number])(b, v), 10))
          })
        )
        const result = (exit as Exit.Success<Exit.Exit<unknown, unknown>>).value
        if (Exit.isFailure(result)) {
          expect(Cause.hasDies(result.cause)).toBe(false)
          const error = Cause.squash(result.cause) as { _tag?: string }
          expect([
            "InvalidArgument",
            "ModuleNotFound",
            "ModuleAlreadyExists",
            "UnknownContextType",
            "GroupNotFound",
            "SyncTimeout"
          ]).toContain(error._tag)
        }
      }),
      fcParams(300)
    )
  })

  it("the checks name what they refuse", () => {
    expect(checkName("send", "module name", "")).toMatchObject({
      failure: { message: "send: invalid module name: expected a non-empty string, got an empty string" }
    })
    expect(checkMessage("send", "message", 7)).toMatchObject({
      failure: { message: "send: invalid message: expected a message, got 7" }
    })
  })
})
