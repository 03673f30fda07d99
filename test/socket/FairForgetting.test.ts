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
import { Effect } from "effect"
import { describe, it } from "vitest"
import { nodeTransport } from "../../src/contexts/socket/NodeTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { floodedServer } from "../support/floodedServer.ts"
import { makeSide, run } from "./support.ts"

const Bound = 50

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
          yield* floodedServer(
            { beehive: server.beehive, pendingRequests: server.socket.pendingRequests, events: server.events },
            Bound,
            polite.beehive,
            flooder.beehive
          )
        })
      ),
    30_000
  )
})
