/**
 * R-SOCK-17's pause rule as a property, against the rule's own words: a connection's reading pauses
 * when any of its four queues (messages waiting for delivery, their bytes, answers waiting to be
 * written, their bytes) is at its limit or past it, and a paused reading goes on only when all four
 * are down to half of their limits or below. Limits are small so that a queue sits exactly at a
 * limit, or exactly at half of one, in most runs.
 *
 * The oracle is four counters and the rule's two sentences, never the backlog's code.
 */
import { Effect, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Backlog, type BacklogLimits, makePeerHeld } from "../../src/contexts/socket/Backlog.ts"
import { run } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"

type Step =
  | { readonly _tag: "read"; readonly bytes: number }
  | { readonly _tag: "deliver" }
  | { readonly _tag: "answer"; readonly bytes: number }
  | { readonly _tag: "written" }

const arbStep: fc.Arbitrary<Step> = fc.oneof(
  fc.integer({ min: 1, max: 6 }).map((bytes) => ({ _tag: "read" as const, bytes })),
  fc.constant({ _tag: "deliver" as const }),
  fc.integer({ min: 1, max: 6 }).map((bytes) => ({ _tag: "answer" as const, bytes })),
  fc.constant({ _tag: "written" as const })
)

const arbLimits: fc.Arbitrary<BacklogLimits> = fc.record({
  maxInboundBacklog: fc.integer({ min: 1, max: 6 }),
  maxInboundBacklogBytes: fc.integer({ min: 1, max: 14 }),
  maxQueuedResponses: fc.integer({ min: 1, max: 6 }),
  maxQueuedResponseBytes: fc.integer({ min: 1, max: 14 })
})

/** Lets a woken wait finish. */
const settle = Effect.gen(function* () {
  for (let turn = 0; turn < 5; turn++) yield* Effect.yieldNow
})

describe("R-SOCK-17 the pause rule of a connection's backlog", () => {
  it("R-SOCK-17 reading pauses when any queue is at its limit, and a paused reading goes on exactly when all four are down to half", () =>
    fc.assert(
      fc.asyncProperty(arbLimits, fc.array(arbStep, { minLength: 1, maxLength: 40 }), (limits, steps) =>
        run(
          Effect.gen(function* () {
            // The model: what waits, as lists of sizes (oldest first).
            const delivering: Array<number> = []
            const answering: Array<number> = []
            const sum = (sizes: ReadonlyArray<number>) => sizes.reduce((a, b) => a + b, 0)
            const responses = { queuedResponses: 0, queuedResponseBytes: 0 }
            const backlog = new Backlog(limits, responses, makePeerHeld())
            const atLimit = () =>
              delivering.length >= limits.maxInboundBacklog ||
              sum(delivering) >= limits.maxInboundBacklogBytes ||
              answering.length >= limits.maxQueuedResponses ||
              sum(answering) >= limits.maxQueuedResponseBytes
            const downToHalf = () =>
              2 * delivering.length <= limits.maxInboundBacklog &&
              2 * sum(delivering) <= limits.maxInboundBacklogBytes &&
              2 * answering.length <= limits.maxQueuedResponses &&
              2 * sum(answering) <= limits.maxQueuedResponseBytes
            let paused: Fiber.Fiber<void> | undefined
            for (const step of steps) {
              switch (step._tag) {
                case "read":
                  // The reader reads only while it is not paused.
                  if (paused !== undefined) continue
                  delivering.push(step.bytes)
                  backlog.queued(step.bytes)
                  break
                case "deliver": {
                  const bytes = delivering.shift()
                  if (bytes === undefined) continue
                  backlog.taken(bytes)
                  break
                }
                case "answer":
                  answering.push(step.bytes)
                  responses.queuedResponses = answering.length
                  responses.queuedResponseBytes = sum(answering)
                  break
                case "written":
                  if (answering.shift() === undefined) continue
                  responses.queuedResponses = answering.length
                  responses.queuedResponseBytes = sum(answering)
                  backlog.resumeIfRoom()
                  break
              }
              yield* settle
              expect(backlog.mustPause(), "mustPause against the rule").toBe(atLimit())
              expect(backlog.waitingForDelivery).toBe(delivering.length)
              if (paused !== undefined) {
                const resumed = paused.pollUnsafe() !== undefined
                expect(resumed, `a paused reading goes on exactly when all are down to half (${step._tag})`).toBe(
                  step._tag !== "answer" && downToHalf()
                )
                if (resumed) paused = undefined
              }
              if (paused === undefined && atLimit()) {
                paused = yield* Effect.forkChild(backlog.awaitRoom, { startImmediately: true })
                yield* settle
                expect(paused.pollUnsafe(), "at a limit, the reading waits").toBeUndefined()
              }
            }
            if (paused !== undefined) yield* Fiber.interrupt(paused)
          })
        )
      ),
      fcParams(300)
    ))

  it("R-SOCK-17 a wait for room begun when every queue is at half or below goes on at once", () =>
    fc.assert(
      fc.asyncProperty(arbLimits, (limits) =>
        run(
          Effect.gen(function* () {
            const half = (limit: number) => Math.floor(limit / 2)
            const responses = {
              queuedResponses: half(limits.maxQueuedResponses),
              queuedResponseBytes: half(limits.maxQueuedResponseBytes)
            }
            const backlog = new Backlog(limits, responses, makePeerHeld())
            // One message of exactly half the byte limit (or none when that is 0), half the count otherwise.
            const messages = Math.min(half(limits.maxInboundBacklog), half(limits.maxInboundBacklogBytes))
            for (let i = 0; i < messages; i++) backlog.queued(1)
            const waiting = yield* Effect.forkChild(backlog.awaitRoom, { startImmediately: true })
            yield* settle
            expect(waiting.pollUnsafe()).toBeDefined()
          })
        )
      ),
      fcParams(100)
    ))

  it("R-SOCK-17 the connections of one peer module share its count: what any reads (an ended one too) counts for all, each pauses at the limit, and every paused one still open goes on once deliveries bring the count down to half", () =>
    fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 2, max: 3 }),
        fc.array(
          fc.record({
            kind: fc.constantFrom("read" as const, "read" as const, "deliver" as const, "end" as const),
            connection: fc.nat(2)
          }),
          { minLength: 1, maxLength: 40 }
        ),
        (maxInboundBacklog, count, steps) =>
          run(
            Effect.gen(function* () {
              const limits = {
                maxInboundBacklog,
                maxInboundBacklogBytes: 1_000_000,
                maxQueuedResponses: 1_000_000,
                maxQueuedResponseBytes: 1_000_000
              }
              const held = makePeerHeld()
              const connections = Array.from({ length: count }, () => ({
                backlog: new Backlog(limits, { queuedResponses: 0, queuedResponseBytes: 0 }, held),
                paused: undefined as Fiber.Fiber<void> | undefined,
                ended: false
              }))
              let waiting = 0
              for (const step of steps) {
                const c = connections[step.connection % count] as (typeof connections)[number]
                if (step.kind === "read") {
                  // A paused connection reads nothing; an ended one may still read what it had in hand.
                  if (c.paused !== undefined) continue
                  waiting++
                  c.backlog.queued(1)
                  if (!c.ended && c.backlog.mustPause())
                    c.paused = yield* Effect.forkChild(c.backlog.awaitRoom, { startImmediately: true })
                } else if (step.kind === "deliver") {
                  if (waiting === 0) continue
                  waiting--
                  c.backlog.taken(1)
                } else if (!c.ended) {
                  c.ended = true
                  c.backlog.detach()
                  if (c.paused !== undefined) yield* Fiber.interrupt(c.paused)
                  c.paused = undefined
                }
                yield* settle
                expect(c.backlog.waitingForDelivery).toBe(waiting)
                for (const other of connections) {
                  if (other.paused === undefined) continue
                  const resumed = other.paused.pollUnsafe() !== undefined
                  expect(resumed, "a paused connection goes on exactly when the count is down to half").toBe(
                    2 * waiting <= maxInboundBacklog
                  )
                  if (resumed) other.paused = undefined
                }
              }
              for (const c of connections) if (c.paused !== undefined) yield* Fiber.interrupt(c.paused)
            })
          )
      ),
      fcParams(200)
    ))
})
