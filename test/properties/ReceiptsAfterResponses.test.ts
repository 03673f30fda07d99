/**
 * Receipts go on after responses (R-SOCK-21, R-SOCK-17) as a property, over an in-process socket pair
 * (the in-memory transport) with a small `maxUnreceipted`: a response is read as handled but carries
 * no number (only one-way messages are numbered), and reading it must leave the receipts of the
 * numbered messages as they were. Were it counted as a number, the reader would never receipt again,
 * and once `maxUnreceipted` one-way messages wait for their receipt the peer writes no more of its
 * modules' messages: its senders would wait forever.
 *
 * Any interleaving of one-way messages and sync calls in either direction, with at least one sync
 * call followed by more than `maxUnreceipted` one-way messages each way: every one-way message is
 * received once (none stalls, none is lost or doubled) and every call gets its own answer.
 */
import { Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Message from "../../src/model/Message.ts"
import { makePair, run, type Side, waitFor } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"

type Direction = "c2s" | "s2c"
type Op = { readonly kind: "send" | "sync"; readonly dir: Direction }

const arbDirection: fc.Arbitrary<Direction> = fc.constantFrom("c2s", "s2c")
const arbOp: fc.Arbitrary<Op> = fc.record({ kind: fc.constantFrom("send", "sync"), dir: arbDirection })

/** How long a run may take to deliver everything: a bound for failures (a stall), not a delay. */
const stallMs = 3000

/** Answers the sync calls `module` receives and records the ids of the one-way messages, in order. */
const peer = (side: Side, module: string, received: Array<string>) =>
  Effect.forkChild(
    Effect.forever(
      Effect.gen(function* () {
        const m = yield* side.beehive.receive(module)
        if (m.header.sync)
          yield* side.beehive.sendResp(yield* Message.newResponse(m, `answer to ${m.header.id}`), module)
        else received.push(m.header.id)
      })
    )
  )

describe("R-SOCK-21 receipts after responses", () => {
  it(
    "R-SOCK-21 R-SOCK-17 R-SOCK-9 reading a response leaves the receipts going: past maxUnreceipted one-way messages each way after sync calls, every one arrives once and no sender waits forever",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.record({
            maxUnreceipted: fc.integer({ min: 1, max: 4 }),
            // Small mailboxes and outboxes: past them the senders wait (R-SOCK-17).
            capacity: fc.constantFrom(undefined, 1, 2, 4),
            before: fc.array(arbOp, { maxLength: 8 }),
            sync: arbDirection,
            after: fc.array(arbOp, { maxLength: 8 })
          }),
          ({ maxUnreceipted, capacity, before, sync, after }) =>
            run(
              Effect.gen(function* () {
                // After the sync call, more than maxUnreceipted one-way messages each way.
                const sendsAfter = (dir: Direction) => after.filter((op) => op.kind === "send" && op.dir === dir).length
                const padding = (dir: Direction): Array<Op> =>
                  Array.from({ length: Math.max(0, maxUnreceipted + 1 - sendsAfter(dir)) }, () => ({
                    kind: "send",
                    dir
                  }))
                const script: ReadonlyArray<Op> = [
                  ...before,
                  { kind: "sync", dir: sync },
                  ...after,
                  ...padding("s2c"),
                  ...padding("c2s")
                ]
                const { s, c } = yield* makePair({
                  socket: { maxUnreceipted },
                  serverModules: ["A"],
                  ...(capacity === undefined ? {} : { capacity })
                })
                const receivedByA: Array<string> = []
                const receivedByX: Array<string> = []
                yield* peer(s, "A", receivedByA)
                yield* peer(c, "X", receivedByX)
                const sent: Record<Direction, Array<string>> = { c2s: [], s2c: [] }
                const answers: Array<string> = []
                const driver = yield* Effect.forkChild(
                  Effect.forEach(
                    script,
                    (op, i) =>
                      Effect.gen(function* () {
                        const [from, to] = op.dir === "c2s" ? [c, "A"] : [s, "X"]
                        const id = `${op.dir}-${op.kind}-${i}`
                        if (op.kind === "send") {
                          sent[op.dir].push(id)
                          yield* from.beehive.send(to, msg(id))
                        } else {
                          const answer = yield* from.beehive.sendSync(to, msg(id), 60_000)
                          expect(answer.content).toBe(`answer to ${id}`)
                          answers.push(id)
                        }
                      }),
                    { discard: true }
                  )
                )
                const calls = script.filter((op) => op.kind === "sync").length
                const done = () =>
                  receivedByA.length >= sent.c2s.length &&
                  receivedByX.length >= sent.s2c.length &&
                  answers.length === calls &&
                  sent.c2s.length + sent.s2c.length + calls === script.length
                const outcome = yield* Effect.exit(waitFor(done, "every message and answer", stallMs))
                if (Exit.isFailure(outcome)) {
                  throw new Error(
                    `stalled: ${answers.length} of ${calls} answers, client to server ${receivedByA.length} of ${sent.c2s.length} ` +
                      `(sent so far), server to client ${receivedByX.length} of ${sent.s2c.length} (sent so far)`
                  )
                }
                expect(yield* Fiber.await(driver)).toStrictEqual(Exit.void)
                // Each once, in the order sent.
                expect(receivedByA).toEqual(sent.c2s)
                expect(receivedByX).toEqual(sent.s2c)
              })
            )
        ),
        fcParams(100)
      ),
    120_000
  )
})
