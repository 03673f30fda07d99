/**
 * `serve` and `unserve` interrupted at any of their steps, or two at once (R-NATS-2), against a real
 * nats-server: a module is served or not, never half. The oracles are what a user meets: every message
 * a process took for the module is received or reported `Undeliverable`, once; a serve after them
 * delivers; and once the last `unserve` ended, nothing is subscribed to the module's subject (a plain
 * client's request to it finds no responders).
 */
import { connect } from "@nats-io/transport-node"
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { subjects } from "../../src/contexts/nats/Subjects.ts"
import * as Message from "../../src/model/Message.ts"
import { waitForEffect } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { arbOpsBeforeYield, interruptedAfter } from "../support/interruptedAfter.ts"
import { msg } from "../support/messages.ts"
import { run } from "./durableSupport.ts"
import { awaitModule, type Proc, proc, sharedServer } from "./support.ts"

const server = sharedServer()

/** Fails naming `what` when `effect` has not ended within 5 s: a failure bound, never a speed target. */
const within = <A, E>(effect: Effect.Effect<A, E>, what: string) =>
  effect.pipe(Effect.timeoutOrElse({ duration: 5000, orElse: () => Effect.fail(new Error(`${what} never ended`)) }))

/** One step of the property: a serve or an unserve, interrupted after so many steps or not, or two at once. */
interface Step {
  readonly op: "serve" | "unserve"
  readonly twice: boolean
  readonly interrupt: { readonly after: number; readonly opsBeforeYield: number } | undefined
}

const arbStep: fc.Arbitrary<Step> = fc.record({
  op: fc.constantFrom("serve" as const, "unserve" as const),
  twice: fc.boolean(),
  interrupt: fc.option(fc.record({ after: fc.nat(9), opsBeforeYield: arbOpsBeforeYield }), {
    nil: undefined
  })
})

/**
 * B's messages to m, each followed by a probe answered by A: B publishes in order, so A has taken each
 * when it answers, and each goes alone (not in a batch with the next, R-NATS-13).
 */
const sendAndProbe = (B: Proc, ids: ReadonlyArray<string>) =>
  Effect.forEach(ids, (id) =>
    Effect.andThen(
      B.beehive.send("m", msg(id)),
      within(B.beehive.sendSync("probe", msg(`probe-${id}`), 5000), "a probe")
    )
  )

let runs = 0

describe("R-NATS-2 serve and unserve interrupted", () => {
  it(
    "R-NATS-2 property: serve and unserve, each interrupted at any of its steps or run twice at once, leave the module served or not, never half: every message the process took for it is received or reported Undeliverable, once; a serve afterwards delivers; and after the last unserve nothing is subscribed to its subject (until a property found them: a serve interrupted after subscribing left nothing delivering and a serve again did nothing; an unserve interrupted after unsubscribing left what its queue held unreported, delivered later; two serves at once both subscribed, and one subscription outlived every unserve)",
    () =>
      fc.assert(
        fc.asyncProperty(fc.array(arbStep, { minLength: 1, maxLength: 6 }), (steps) =>
          run(
            Effect.gen(function* () {
              const prefix = `srv${++runs}`
              const A = yield* proc(server.url, prefix)
              const B = yield* proc(server.url, prefix)
              // Nobody receives m until the end, and its mailbox holds one: what A takes for it waits in
              // the inbound queue, where a stop must report it.
              yield* A.beehive.addModule("m", { capacity: 1 })
              yield* A.beehive.addModule("probe")
              yield* A.nats.serve("probe")
              yield* Effect.forkScoped(
                Effect.forever(
                  Effect.gen(function* () {
                    const request = yield* A.beehive.receive("probe")
                    yield* A.beehive.sendResp(yield* Message.newResponse(request, "ok"), "probe")
                  })
                )
              )
              yield* awaitModule(B, "probe")
              const sent: Array<string> = []
              const reported = () =>
                A.events.flatMap((e) => (e._tag === "Undeliverable" && e.module === "m" ? [e.msgId] : []))
              const inMailbox = Effect.map(
                A.beehive.snapshot,
                (s) => s.modules.find((m) => m.name === "m")?.queued ?? 0
              )
              const sendSome = Effect.gen(function* () {
                // A probe first: A's subscription reached the server before its answer did.
                yield* within(B.beehive.sendSync("probe", msg(`probe-before-${sent.length}`), 5000), "a probe")
                yield* awaitModule(B, "m")
                // One for the mailbox, one for the delivery waiting for room, one for the inbound queue.
                const ids = [0, 1, 2].map((i) => `m${sent.length + i}`)
                sent.push(...ids)
                yield* sendAndProbe(B, ids)
              })
              // Each serve starts a delivery loop, which may hold a message waiting for room in m's full
              // mailbox: a stop leaves that wait alone (the message is delivered when room comes, R-NATS-2).
              let loops = 0
              let served = false
              for (const step of steps) {
                const once = step.op === "serve" ? A.nats.serve("m") : A.nats.unserve("m")
                const op = step.twice ? Effect.all([once, once], { concurrency: "unbounded", discard: true }) : once
                if (step.interrupt === undefined) yield* within(op, step.op)
                else
                  yield* within(
                    interruptedAfter(op, step.interrupt.after, step.interrupt.opsBeforeYield),
                    `an interrupted ${step.op}`
                  )
                const servedNow = (yield* A.nats.served).includes("m")
                if (servedNow && !served) loops++
                served = servedNow
                if (served) yield* sendSome
                else {
                  // Not served: what A took for m is in its mailbox, reported, or held by a delivery loop
                  // waiting for room (one each at most), none kept in a queue for later.
                  yield* waitForEffect(
                    Effect.map(inMailbox, (n) => n + reported().length),
                    (n) => n >= sent.length - loops,
                    `the ${sent.length} messages in the mailbox, reported, or waiting for room in one of ${loops} deliveries, once m is not served`
                  )
                }
              }
              yield* within(A.nats.serve("m"), "the last serve")
              yield* sendSome
              const received: Array<string> = []
              yield* Effect.forkScoped(
                Effect.forever(Effect.map(A.beehive.receive("m"), (m) => received.push(m.header.id)))
              )
              yield* waitForEffect(
                Effect.sync(() => received.length + reported().length),
                (n) => n >= sent.length,
                `each of the ${sent.length} messages received or reported (received ${received.join(",")}; reported ${reported().join(",")})`
              )
              expect([...received, ...reported()].sort()).toEqual([...sent].sort())
              yield* within(A.nats.unserve("m"), "the last unserve")
              expect(yield* A.nats.served).toEqual(["probe"])
              // Nothing subscribed to m's subject: a plain client's request to it finds no responders.
              const raw = yield* Effect.acquireRelease(
                Effect.promise(() => connect({ servers: server.url })),
                (nc) => Effect.promise(() => nc.close())
              )
              const request = Message.make({ header: { id: "raw" }, content: "anyone?" })
              const answer = yield* Effect.promise(() =>
                raw.request(subjects(prefix).module("m"), JSON.stringify(request), { timeout: 2000 }).then(
                  () => "answered",
                  (error: Error) => error.message
                )
              )
              expect(answer).toMatch(/no responders/i)
            })
          )
        ),
        fcParams(20)
      ),
    60_000
  )
})
