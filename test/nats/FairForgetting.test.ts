/**
 * R-NATS-6 as users meet it, over a real nats-server: a serving process owes answers to two other
 * processes, one of which floods it with sync requests its module is slow to answer. Past
 * `maxPendingRequests` the flooding process's oldest requests are forgotten, never the other's: the
 * other process's calls are all answered. (Before, the oldest requests were forgotten whoever sent
 * them, and the other process's calls waited out their deadlines.) The rule itself is a property of
 * NatsParts.test.ts.
 */
import { Effect, Exit, Fiber, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type NatsServer, startNatsServer } from "../../scripts/natsServer.ts"
import * as Message from "../../src/model/Message.ts"
import { run, waitForEffect } from "../socket/support.ts"
import { awaitModule, type Proc, procWith, waitUntil } from "./support.ts"

let scope: Scope.Closeable
let server: NatsServer

beforeAll(async () => {
  scope = Effect.runSync(Scope.make())
  server = await Effect.runPromise(Scope.provide(startNatsServer, scope))
}, 30_000)

afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

const Bound = 50
const Polite = 10
const Flood = 200

describe("R-NATS-6 a flooding process forgets its own requests", () => {
  it(
    "R-NATS-6 over a nats-server, past maxPendingRequests a process flooding a slow module with sync requests has its own oldest forgotten, in order (RequestForgotten); the other process's calls are all answered",
    () =>
      run(
        Effect.gen(function* () {
          const prefix = "fair"
          const serving = yield* procWith(server.url, { prefix, maxPendingRequests: Bound })
          yield* serving.beehive.addModule("slow", { capacity: 4096 })
          yield* serving.nats.serve("slow")
          const polite = yield* procWith(server.url, { prefix })
          const flooder = yield* procWith(server.url, { prefix })
          for (const p of [polite, flooder]) yield* awaitModule(p, "slow")
          // The serving process knows both: what it owes each counts for it.
          const heard = new Set([polite.nats.processId, flooder.nats.processId])
          yield* waitUntil(
            () => serving.events.filter((e) => e._tag === "PeerUp" && heard.has(e.process)).length === 2,
            "both processes known"
          )
          const ids = { polite: [] as Array<string>, flooder: [] as Array<string> }
          const calls = (p: Proc, name: keyof typeof ids, n: number, timeout: number) =>
            Effect.forkChild(
              Effect.forEach(
                Array.from({ length: n }, (_, i) => Message.make({ header: { id: `${name}-${i}` } })),
                (m) => {
                  ids[name].push(m.header.id)
                  return Effect.exit(p.beehive.sendSync("slow", m, timeout))
                },
                { concurrency: "unbounded" }
              )
            )
          const politeCalls = yield* calls(polite, "polite", Polite, 10_000)
          yield* waitForEffect(serving.nats.pendingRequests, (n) => n === Polite, "the polite process's requests owed")
          const floodCalls = yield* calls(flooder, "flooder", Flood, 2_000)
          const forgotten = () => serving.events.flatMap((e) => (e._tag === "RequestForgotten" ? [e.msgId] : []))
          yield* waitForEffect(
            Effect.sync(() => forgotten().length),
            (n) => n === Polite + Flood - Bound,
            "the requests past the bound forgotten"
          )
          expect(forgotten()).toEqual(ids.flooder.slice(0, Polite + Flood - Bound))
          // The slow module answers everything it got, at last.
          for (let i = 0; i < Polite + Flood; i++) {
            const request = yield* serving.beehive.receive("slow")
            yield* serving.beehive.sendResp(yield* Message.newResponse(request, "late"), "slow")
          }
          const politeExits = yield* Fiber.join(politeCalls)
          expect(politeExits.filter(Exit.isSuccess).length, "the polite process's calls answered").toBe(Polite)
          const floodExits = yield* Fiber.join(floodCalls)
          expect(floodExits.filter(Exit.isSuccess).length, "the flooder's calls answered").toBe(Bound - Polite)
        })
      ),
    30_000
  )
})
