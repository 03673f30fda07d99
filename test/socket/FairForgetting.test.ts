/**
 * R-SOCK-9 as users meet it, over a real unix socket: a server owes answers to two client processes,
 * one of which floods it with sync requests its module is slow to answer. Past `maxPendingRequests`
 * the flooding client's oldest requests are forgotten, never the other's: the other client's calls
 * are all answered. (Before, the oldest requests were forgotten whoever sent them, and the other
 * client's calls waited out their deadlines.) The rule itself is the property of OwedCopies.test.ts.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { nodeTransport } from "../../src/contexts/socket/NodeTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import * as Message from "../../src/model/Message.ts"
import { makeSide, run, waitForEffect } from "./support.ts"

const Bound = 50
const Polite = 10
const Flood = 200

describe("R-SOCK-9 a flooding peer forgets its own requests", () => {
  it(
    "R-SOCK-9 over a unix socket, past maxPendingRequests a client flooding a slow module with sync requests has its own oldest forgotten, in order (RequestForgotten); the other client's calls are all answered",
    () =>
      run(
        Effect.gen(function* () {
          const address = unix(join(mkdtempSync(join(tmpdir(), "bh-fair-")), "server.sock"))
          const server = yield* makeSide(nodeTransport, { maxPendingRequests: Bound })
          yield* server.beehive.addModule("slow", { capacity: 4096 })
          yield* server.socket.serve({ address, accept: ["polite", "flooder"] })
          const client = (module: string) =>
            Effect.gen(function* () {
              const side = yield* makeSide(nodeTransport)
              yield* side.beehive.addModule(module)
              yield* (yield* side.socket.connect({ module, address })).connected
              return side
            })
          const polite = yield* client("polite")
          const flooder = yield* client("flooder")
          const ids = { polite: [] as Array<string>, flooder: [] as Array<string> }
          const calls = (side: typeof polite, module: keyof typeof ids, n: number, timeout: number) =>
            Effect.forkChild(
              Effect.forEach(
                Array.from({ length: n }, (_, i) => Message.make({ header: { id: `${module}-${i}` } })),
                (m) => {
                  ids[module].push(m.header.id)
                  return Effect.exit(side.beehive.sendSync("slow", m, timeout))
                },
                { concurrency: "unbounded" }
              )
            )
          const politeCalls = yield* calls(polite, "polite", Polite, 10_000)
          yield* waitForEffect(server.socket.pendingRequests, (n) => n === Polite, "the polite client's requests owed")
          const floodCalls = yield* calls(flooder, "flooder", Flood, 2_000)
          const forgotten = () => server.events.flatMap((e) => (e._tag === "RequestForgotten" ? [e.msgId] : []))
          yield* waitForEffect(
            Effect.sync(() => forgotten().length),
            (n) => n === Polite + Flood - Bound,
            "the requests past the bound forgotten"
          )
          // The flooder's oldest, one by one (both clients' peer names are the socket's path here).
          expect(forgotten()).toEqual(ids.flooder.slice(0, Polite + Flood - Bound))
          // The slow module answers everything it got, at last.
          for (let i = 0; i < Polite + Flood; i++) {
            const request = yield* server.beehive.receive("slow")
            yield* server.beehive.sendResp(yield* Message.newResponse(request, "late"), "slow")
          }
          const politeExits = yield* Fiber.join(politeCalls)
          expect(politeExits.filter(Exit.isSuccess).length, "the polite client's calls answered").toBe(Polite)
          const floodExits = yield* Fiber.join(floodCalls)
          expect(floodExits.filter(Exit.isSuccess).length, "the flooder's calls answered").toBe(Bound - Polite)
        })
      ),
    30_000
  )
})
