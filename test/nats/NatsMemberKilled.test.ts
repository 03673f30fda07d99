/**
 * R-NATS-4 end to end for a member that vanishes: a group member served by another process (a child
 * process running test/nats/fixtures/mute-member.mjs, built from dist/) is killed with SIGKILL while a
 * caller waits in `sendToGroupSync`. No goodbye reaches anyone; the caller's process finds the member's
 * process silent by its heartbeats, cleans the module up, and the call fails with `MemberGone` naming
 * it (R-GSYNC-5) within (`missedHeartbeats` + 1) × `heartbeatMs` of the kill, long before its deadline.
 * (A clean leave, whose goodbye decides the call in one message's latency, is NatsContext.test.ts's.)
 */
import { Clock, Effect, Fiber, type Scope } from "effect"
import { describe, expect, it } from "vitest"
import { startNatsServer } from "../../scripts/natsServer.ts"
import * as Message from "../../src/model/Message.ts"
import { errorOf } from "../support/exits.ts"
import { type FixtureChild, killFixture, startFixture } from "./fixtureChild.ts"
import { awaitModule, HeartbeatMs, procWith, waitUntil } from "./support.ts"

/** Both processes' heartbeat settings: the member's process is gone within (3 + 1) × 150 ms of its last beat. */
const MissedHeartbeats = 3
const DetectionBoundMs = (MissedHeartbeats + 1) * HeartbeatMs
/** What a loaded machine may add to the bound (timers firing late, the kill itself): a failure bound, not a delay. */
const SchedulingMarginMs = 1000
/** The call's deadline, far beyond the bound: a call decided by it would be a Timeout, not MemberGone. */
const DeadlineMs = 5000

/** The member's process for the test's scope: killed at its end at the latest. */
const member = (config: Record<string, unknown>): Effect.Effect<FixtureChild, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => startFixture("mute-member.mjs", config)),
    (m) => Effect.promise(() => killFixture(m))
  )

const run = <A>(body: Effect.Effect<A, unknown, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(body) as Effect.Effect<A, unknown, never>)

const msg = (id: string, content: unknown = id) => Message.make({ header: { id, timestamp: 1 }, content })

describe("NATS context: a member's process killed", () => {
  it(
    "R-NATS-4 R-GSYNC-5 R-NATS-7 a member's process is killed with SIGKILL during a group sync: no goodbye, the caller's process finds it silent and the call fails with MemberGone naming it, within (missedHeartbeats + 1) × heartbeatMs",
    () =>
      run(
        Effect.gen(function* () {
          const server = yield* startNatsServer
          const B = yield* procWith(server.url, { prefix: "t", missedHeartbeats: MissedHeartbeats })
          yield* B.beehive.addModule("b1")
          const c = yield* member({
            url: server.url,
            prefix: "t",
            module: "c1",
            heartbeatMs: HeartbeatMs,
            missedHeartbeats: MissedHeartbeats
          })
          yield* awaitModule(B, "c1")
          const owners = (yield* B.nats.remoteModules).find((r) => r.module === "c1")?.processes ?? []
          expect(owners).toHaveLength(1)
          const processId = owners[0]
          yield* B.beehive.addModuleGroup("b1", "g")
          yield* B.beehive.addModuleGroup("c1", "g")
          const call = yield* Effect.forkChild(Effect.exit(B.beehive.sendToGroupSync("g", msg("gg"), DeadlineMs)))
          // b1 answers; c1's process got its copy (it printed it) and never answers.
          const request = yield* B.beehive.receive("b1")
          expect(yield* B.beehive.sendResp(yield* Message.newResponse(request, "b1's"), "b1")).toBe(true)
          yield* waitUntil(() => c.received.includes("gg"), "c1's process to receive its copy")
          const killedAt = yield* Clock.currentTimeMillis
          yield* Effect.promise(() => killFixture(c))
          const exit = yield* Fiber.join(call)
          const elapsed = (yield* Clock.currentTimeMillis) - killedAt
          expect(errorOf(exit)).toMatchObject({
            _tag: "GroupSyncError",
            reason: "MemberGone",
            group: "g",
            missing: ["c1"],
            responded: ["b1"]
          })
          expect(elapsed).toBeLessThan(DetectionBoundMs + SchedulingMarginMs)
          // Found silent, not told: nothing but the heartbeats can have said so.
          const gone = B.events.filter((e) => e._tag === "PeerGone" && e.process === processId)
          expect(gone.map((e) => (e._tag === "PeerGone" ? e.reason : ""))).toEqual(["Silent"])
          expect(yield* B.beehive.snapshot).toMatchObject({ pendingCalls: [] })
          expect((yield* B.beehive.snapshot).modules.some((m) => m.name === "c1")).toBe(false)
        })
      ),
    30_000
  )
})
