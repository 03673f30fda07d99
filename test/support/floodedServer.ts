/**
 * The flood of R-SOCK-9 and R-NATS-6 as users meet it, for any transport: a polite peer and a flooding
 * one call module "slow" of a serving process that owes at most `bound` copies; the slow module answers
 * only once the bound was passed.
 */
import { Effect, Exit, Fiber } from "effect"
import { expect } from "vitest"
import type { BeehiveService } from "../../src/contexts/BeehiveService.ts"
import * as Message from "../../src/model/Message.ts"
import { waitForEffect } from "../socket/support.ts"

/** The serving process as the scenario reads it: its global context, what it owes, its events. */
export interface Serving {
  readonly beehive: BeehiveService
  readonly pendingRequests: Effect.Effect<number>
  readonly events: ReadonlyArray<{ readonly _tag: string; readonly msgId?: string }>
}

const Polite = 10
const Flood = 200

/**
 * The polite peer calls `Polite` times, then the flooder `Flood` times (with a short deadline); past
 * the bound, exactly the flooder's oldest requests are forgotten, in order; once the slow module
 * answers everything, every polite call is answered, and as many of the flooder's as the bound left.
 */
export const floodedServer = (serving: Serving, bound: number, polite: BeehiveService, flooder: BeehiveService) =>
  Effect.gen(function* () {
    const ids = { polite: [] as Array<string>, flooder: [] as Array<string> }
    const calls = (caller: BeehiveService, name: keyof typeof ids, n: number, timeout: number) =>
      Effect.forkChild(
        Effect.forEach(
          Array.from({ length: n }, (_, i) => Message.make({ header: { id: `${name}-${i}` } })),
          (m) => {
            ids[name].push(m.header.id)
            return Effect.exit(caller.sendSync("slow", m, timeout))
          },
          { concurrency: "unbounded" }
        )
      )
    const politeCalls = yield* calls(polite, "polite", Polite, 10_000)
    yield* waitForEffect(serving.pendingRequests, (n) => n === Polite, "the polite peer's requests owed")
    const floodCalls = yield* calls(flooder, "flooder", Flood, 2_000)
    const forgotten = () => serving.events.flatMap((e) => (e._tag === "RequestForgotten" ? [e.msgId] : []))
    yield* waitForEffect(
      Effect.sync(() => forgotten().length),
      (n) => n === Polite + Flood - bound,
      "the requests past the bound forgotten"
    )
    // The flooder's oldest, one by one.
    expect(forgotten()).toEqual(ids.flooder.slice(0, Polite + Flood - bound))
    // The slow module answers everything it got, at last.
    for (let i = 0; i < Polite + Flood; i++) {
      const request = yield* serving.beehive.receive("slow")
      yield* serving.beehive.sendResp(yield* Message.newResponse(request, "late"), "slow")
    }
    const politeExits = yield* Fiber.join(politeCalls)
    expect(politeExits.filter(Exit.isSuccess).length, "the polite peer's calls answered").toBe(Polite)
    const floodExits = yield* Fiber.join(floodCalls)
    expect(floodExits.filter(Exit.isSuccess).length, "the flooder's calls answered").toBe(bound - Polite)
  })
