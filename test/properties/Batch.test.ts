/**
 * The batched operations under the deterministic runtime, every schedule within a bound on
 * preemptions (R-SEND-5, R-RECV-5, R-RECV-6): a batch receiver interrupted while it holds a batch gives
 * it back to the head of the mailbox in its order, also to a receiver waiting meanwhile; a `sendAll`
 * racing a cleanup reports exactly how many of its messages were accepted; a stream ends when its
 * module is cleaned up, having lost nothing, and never reads a module registered again under the name.
 * The ledger properties (checker/properties.ts, `batch-conservation`, `batch-fifo`) mix the batched
 * operations with the single ones at random.
 */
import { Cause, Effect, Exit, Fiber, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { makeBeehive } from "../../src/contexts/Beehive.ts"
import { ModuleNotFound, SendAllClosed } from "../../src/model/Errors.ts"
import * as Message from "../../src/model/Message.ts"
import { explore } from "../../src/testing/Explore.ts"
import type { Scenario, ScenarioContext } from "../../src/testing/Scenario.ts"

const make = (id: string) => Message.make({ header: { id } })
const ids = (messages: ReadonlyArray<Message.Message>) => messages.map((m) => m.header.id)
const increasing = (xs: ReadonlyArray<string>) => xs.every((x, i) => i === 0 || Number(x) > Number(xs[i - 1]))

/**
 * How many messages a sendAll of `total` had accepted: all when it succeeded, the count of its
 * `SendAllClosed`, none when it found no module; -1 for any other end.
 */
const acceptedOf = (exit: Exit.Exit<number, unknown>, total: number): number => {
  if (Exit.isSuccess(exit)) return exit.value === total ? total : -1
  const error = Cause.squash(exit.cause)
  return error instanceof SendAllClosed ? error.accepted : error instanceof ModuleNotFound ? 0 : -1
}

/** Every schedule with up to 2 preemptions (and 1 choice off FIFO) passes. */
const exhaust = (scenario: Scenario) => {
  for (const bounds of [
    { bound: 1, preemptionBound: 0 },
    { bound: 0, preemptionBound: 1 },
    { bound: 0, preemptionBound: 2 }
  ]) {
    const result = explore(scenario, { strategy: "dfs", ...bounds, runs: 20_000 })
    expect(result.failure, JSON.stringify(result.failure?.outcome)).toBeUndefined()
    expect(result.exhausted).toBe(true)
  }
}

/**
 * A fiber that receives a batch from `m` and keeps it in `batch`, in the step it gets it (an
 * interruption then finds it kept, or gives all of it back).
 */
const spawnBatchReceiver = (ctx: ScenarioContext, batch: Array<string>) =>
  ctx.spawn(
    "batch",
    ctx.op(
      "batch",
      "receiveAll(m)",
      Effect.uninterruptibleMask((restore) =>
        Effect.tap(restore(ctx.beehive.receiveAll("m")), (messages) => Effect.sync(() => batch.push(...ids(messages))))
      )
    )
  )

// Messages 1..3 wait in the mailbox; a batch receiver takes them and is interrupted, while a single
// receiver waits (or comes) and a sender adds message 4. Whatever the interleaving, each message is
// taken once, and what the batch receiver did not keep is back at the head in its order: the single
// receiver's message and the undelivered ones are in the order they were sent (message 4 aside,
// which may be handed to the waiting receiver while the batch is held).
const giveBack = (withReceiver: boolean): Scenario => ({
  name: "batch-give-back",
  preemptAtOperations: true,
  beehive: { capacity: 4 },
  run: (ctx) =>
    Effect.gen(function* () {
      const b = ctx.beehive
      yield* b.addModule("m")
      yield* b.sendAll("m", [make("1"), make("2"), make("3")])
      const batch: Array<string> = []
      const single: Array<string> = []
      const batchReceiver = yield* spawnBatchReceiver(ctx, batch)
      const singleReceiver = yield* ctx.spawn(
        "single",
        !withReceiver
          ? Effect.void
          : ctx.op(
              "single",
              "receive(m)",
              Effect.uninterruptibleMask((restore) =>
                Effect.tap(restore(b.receive("m")), (message) => Effect.sync(() => single.push(message.header.id)))
              )
            )
      )
      yield* ctx.spawn("sender", ctx.op("sender", "send(m, #4)", b.send("m", make("4"))))
      yield* ctx.spawn("interrupter", Fiber.interrupt(batchReceiver))
      yield* ctx.quiesce
      yield* Fiber.await(singleReceiver)
      const undelivered = ids((yield* b.cleanup("m")).undelivered)
      const all = [...batch, ...single, ...undelivered]
      yield* ctx.check(
        [...all].sort().join() === "1,2,3,4",
        `each message taken once: batch ${batch}, single ${single}, undelivered ${undelivered}`
      )
      yield* ctx.check(increasing(batch), `the batch is in order: ${batch}`)
      // Message 4 may reach the waiting receiver while the batch is held (it was the oldest waiting);
      // what is given back goes to the head, ahead of 4 if 4 is still there.
      yield* ctx.check(
        increasing(undelivered) && increasing([...single, ...undelivered].filter((id) => id !== "4")),
        `given back in order, at the head: single ${single}, undelivered ${undelivered}`
      )
      // With no other receiver, what the batch did not keep is the head of the mailbox, ahead of 4.
      if (!withReceiver)
        yield* ctx.check(all.join() === "1,2,3,4", `batch ${batch} then undelivered ${undelivered}: in order`)
    })
})

// Messages 1..3 wait in the mailbox; a batch receiver takes them and is interrupted while a cleanup
// closes the module and a sender adds message 4. Whatever the interleaving, each message accepted is
// kept by the batch, undelivered by the cleanup, or (given back after the close) passed to
// onUndeliverable: once, never lost.
const orphans: Array<string> = []
const giveBackAfterCleanup: Scenario = {
  name: "batch-give-back-cleanup",
  preemptAtOperations: true,
  beehive: { capacity: 4, onUndeliverable: (_, message) => void orphans.push(message.header.id) },
  run: (ctx) =>
    Effect.gen(function* () {
      orphans.length = 0
      const b = ctx.beehive
      yield* b.addModule("m")
      yield* b.sendAll("m", [make("1"), make("2"), make("3")])
      const batch: Array<string> = []
      let undelivered: Array<string> = []
      const batchReceiver = yield* spawnBatchReceiver(ctx, batch)
      const sender = yield* ctx.spawn("sender", Effect.exit(ctx.op("sender", "send(m, #4)", b.send("m", make("4")))))
      yield* ctx.spawn(
        "cleaner",
        ctx.op(
          "cleaner",
          "cleanup(m)",
          Effect.map(b.cleanup("m"), (cleaned) => {
            undelivered = ids(cleaned.undelivered)
          })
        )
      )
      yield* ctx.spawn("interrupter", Fiber.interrupt(batchReceiver))
      yield* ctx.quiesce
      const accepted = Exit.isSuccess(yield* Fiber.join(sender)) ? "1,2,3,4" : "1,2,3"
      const all = [...batch, ...undelivered, ...orphans]
      yield* ctx.check(
        [...all].sort().join() === accepted,
        `each message accepted kept once: batch ${batch}, undelivered ${undelivered}, onUndeliverable ${orphans}`
      )
    })
}

// A sendAll of four messages to a module of capacity 1 races a receiver and a cleanup: it succeeds and
// all four were accepted, or it fails with SendAllClosed and exactly its first `accepted` messages were
// (each received or undelivered), none of the others.
const sendAllCleanup: Scenario = {
  name: "sendall-cleanup",
  preemptAtOperations: true,
  beehive: { capacity: 1 },
  run: (ctx) =>
    Effect.gen(function* () {
      const b = ctx.beehive
      yield* b.addModule("m")
      const received: Array<string> = []
      const sender = yield* ctx.spawn(
        "sender",
        Effect.exit(ctx.op("sender", "sendAll(m, #1..4)", b.sendAll("m", ["1", "2", "3", "4"].map(make))))
      )
      yield* ctx.spawn(
        "receiver",
        ctx.op(
          "receiver",
          "receiveAll(m, 2)",
          Effect.uninterruptibleMask((restore) =>
            Effect.tap(restore(b.receiveAll("m", 2)), (messages) => Effect.sync(() => received.push(...ids(messages))))
          )
        )
      )
      const undelivered = ids((yield* ctx.op("main", "cleanup(m)", b.cleanup("m"))).undelivered)
      yield* ctx.quiesce
      const exit = (yield* Fiber.join(sender)) as Exit.Exit<number, unknown>
      const arrived = [...received, ...undelivered]
      const expected = acceptedOf(exit, 4)
      yield* ctx.check(
        expected >= 0 && arrived.join() === ["1", "2", "3", "4"].slice(0, expected).join(),
        `sendAll ${Exit.isSuccess(exit) ? "succeeded" : String(Cause.squash(exit.cause))}; arrived ${arrived}`
      )
    })
}

// A stream reads a module while a sender sends, then the module is cleaned up and a module of the same
// name is added and sent to. The stream ends without failing; what it read and what the cleanup
// returned are the first module's messages, in order, once each; it never reads the second module.
const streamCleanup: Scenario = {
  name: "stream-cleanup",
  preemptAtOperations: true,
  beehive: { capacity: 2 },
  run: (ctx) =>
    Effect.gen(function* () {
      const b = ctx.beehive
      yield* b.addModule("m")
      const read: Array<string> = []
      const reader = yield* ctx.spawn(
        "stream",
        Stream.runForEach(b.receiveStream("m", 2), (message) => Effect.sync(() => read.push(message.header.id)))
      )
      // The stream has found its module and waits.
      yield* ctx.quiesce
      const sender = yield* ctx.spawn("sender", Effect.exit(b.sendAll("m", ["1", "2", "3"].map(make))))
      yield* Effect.yieldNow
      const undelivered = ids((yield* ctx.op("main", "cleanup(m)", b.cleanup("m"))).undelivered)
      yield* b.addModule("m")
      yield* b.send("m", make("9"))
      yield* ctx.quiesce
      const ended = reader.pollUnsafe()
      yield* ctx.check(ended !== undefined && Exit.isSuccess(ended), `the stream ended normally: ${String(ended)}`)
      const sent = yield* Fiber.join(sender)
      const accepted = acceptedOf(sent, 3)
      yield* ctx.check(
        [...read, ...undelivered].join() === ["1", "2", "3"].slice(0, accepted).join(),
        `read ${read}, undelivered ${undelivered}, accepted ${accepted}`
      )
    })
}

/** A caller that changes its array while its sendAll waits for room: what was sent is what was given. */
const sendAllOwnArray: Scenario = {
  name: "sendAll sends the messages it was given, whatever its caller does with the array",
  beehive: { capacity: 1 },
  run: (ctx) =>
    Effect.gen(function* () {
      const b = ctx.beehive
      yield* b.addModule("m")
      const given = ["1", "2", "3", "4"].map(make)
      const sender = yield* ctx.spawn("sender", Effect.exit(b.sendAll("m", given)))
      // The sendAll has begun, filled the mailbox and waits for room.
      yield* ctx.quiesce
      const read: Array<string> = []
      const receiver = yield* ctx.spawn(
        "receiver",
        Effect.gen(function* () {
          for (let i = 0; i < 4; i++) read.push((yield* b.receive("m")).header.id)
        })
      )
      given.splice(1, 2, make("x"))
      yield* Fiber.join(receiver)
      const sent = yield* Fiber.join(sender)
      yield* ctx.check(Exit.isSuccess(sent) && sent.value === 4, `sendAll ended: ${String(sent)}`)
      yield* ctx.check(read.join() === "1,2,3,4", `received ${read}`)
    })
}

describe("R-RECV-5 batched receives", () => {
  it("R-RECV-5 R-RECV-4 every schedule with up to 2 preemptions: a receiveAll interrupted while it holds its batch gives it back to the head of the mailbox in order, the oldest to a waiting receiver", () => {
    for (const withReceiver of [true, false]) exhaust(giveBack(withReceiver))
  })

  it("R-RECV-5 R-CLEAN-4 every schedule with up to 2 preemptions: a batch given back after its module's cleanup goes to onUndeliverable; nothing accepted is lost or kept twice", () => {
    exhaust(giveBackAfterCleanup)
  })

  it("R-RECV-5 R-RECV-3 a receiveAll waiting behind a receive waits its turn: the oldest receiver gets the first message, the batch the rest", async () => {
    const exit = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const b = yield* makeBeehive({ capacity: 8 })
          yield* b.addModule("m")
          const single = yield* Effect.forkChild(b.receive("m"))
          yield* Effect.yieldNow
          const batch = yield* Effect.forkChild(b.receiveAll("m", 2))
          yield* Effect.yieldNow
          yield* b.sendAll("m", ["1", "2", "3", "4"].map(make))
          return {
            single: (yield* Fiber.join(single)).header.id,
            batch: ids(yield* Fiber.join(batch)),
            left: ids((yield* b.cleanup("m")).undelivered)
          }
        })
      )
    )
    expect(exit).toEqual({ single: "1", batch: ["2", "3"], left: ["4"] })
  })
})

describe("R-SEND-2 an admitted sender resumes after the receiver that made room", () => {
  it("R-SEND-2 R-RECV-5 a batch that admits a waiting sender's message takes it, and the sender's next send comes after the batch", async () => {
    const result = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const b = yield* makeBeehive({ capacity: 2 })
          yield* b.addModule("m")
          yield* b.sendAll("m", [make("1"), make("2")])
          const sender = yield* Effect.forkChild(b.sendAll("m", [make("3"), make("4")]))
          yield* Effect.yieldNow
          const batch = ids(yield* b.receiveAll("m"))
          yield* Fiber.join(sender)
          return { batch, left: ids((yield* b.cleanup("m")).undelivered) }
        })
      )
    )
    expect(result).toEqual({ batch: ["1", "2", "3"], left: ["4"] })
  })
})

describe("R-SEND-5 sendAll", () => {
  it("R-SEND-5 R-CLEAN-3 every schedule with up to 2 preemptions: a sendAll racing a cleanup succeeds with every message accepted, or fails with SendAllClosed whose count is exactly the prefix accepted", () =>
    exhaust(sendAllCleanup))

  it("R-SEND-5 every schedule with up to 2 preemptions: a sendAll sends the messages it was given, in order, even when its caller changes the array while it waits", () =>
    exhaust(sendAllOwnArray))
})

describe("R-RECV-6 receiveStream", () => {
  it("R-RECV-6 R-RECV-5 every schedule with up to 2 preemptions: the stream ends normally at the cleanup, loses nothing, and never reads a module registered again under the name", () =>
    exhaust(streamCleanup))
})
