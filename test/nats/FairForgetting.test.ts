/**
 * R-NATS-6 as users meet it, over a real nats-server: a serving process owes answers to two other
 * processes, one of which floods it with sync requests its module is slow to answer. Past
 * `maxPendingRequests` the flooding process's oldest requests are forgotten, never the other's: the
 * other process's calls are all answered. (Before, the oldest requests were forgotten whoever sent
 * them, and the other process's calls waited out their deadlines.) The rule itself is a property of
 * NatsParts.test.ts.
 */
import { Effect } from "effect"
import { describe, it } from "vitest"
import { run } from "../socket/support.ts"
import { floodedServer } from "../support/floodedServer.ts"
import { awaitModule, procWith, sharedServer, waitUntil } from "./support.ts"

const server = sharedServer()

const Bound = 50

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
          yield* floodedServer(
            { beehive: serving.beehive, pendingRequests: serving.nats.pendingRequests, events: serving.events },
            Bound,
            polite.beehive,
            flooder.beehive
          )
        })
      ),
    30_000
  )
})
