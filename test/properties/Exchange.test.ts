/**
 * The module exchange a server answers a handshake with (R-SOCK-5), as a property, read by a raw
 * client written here from SPEC.md's wire description: whatever modules the server has (its own, and
 * socket modules of other clients already connected) and whatever groups they joined, the exchange
 * lists exactly the server's own ("channel") modules, in the order they were added, and its groups
 * restricted to them (members in join order), in name order, a group with none of them left out.
 *
 * The oracle is the script (which modules are the server's own, who joined what) and SPEC's wording.
 */
import { Effect, References } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import type { Connection } from "../../src/contexts/socket/Transport.ts"
import { makeSide } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"

const own = ["A", "B", "C"] as const
const remote = ["one", "two"] as const
const groups = ["g", "h", "a-first"] as const

/** Reads the first NDJSON line of a connection. */
const firstLine = (connection: Connection) =>
  Effect.gen(function* () {
    let text = ""
    while (!text.includes("\n")) {
      for (const chunk of yield* connection.read) text += Buffer.from(chunk).toString("utf8")
    }
    return text.slice(0, text.indexOf("\n"))
  })

describe("R-SOCK-5 the module exchange", () => {
  it("R-SOCK-5 a server's exchange lists its own modules in the order they were added and its groups restricted to them, in name order; other clients' modules are never listed", () =>
    fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray([...own]),
        fc.subarray([...remote]),
        // Who joins which group, in order: own and remote modules alike.
        fc.array(fc.tuple(fc.constantFrom<string>(...own, ...remote), fc.constantFrom(...groups)), { maxLength: 8 }),
        (ownModules, remoteModules, joins) =>
          Effect.runPromise(
            Effect.scoped(
              Effect.gen(function* () {
                const network = new MemoryNetwork()
                const address = unix("exchange")
                const server = yield* makeSide(network.transport)
                for (const module of ownModules) yield* server.beehive.addModule(module)
                yield* server.socket.serve({ address, accept: [...remote, "raw"] })
                for (const module of remoteModules) {
                  const client = yield* makeSide(network.transport)
                  yield* client.beehive.addModule(module)
                  const connected = yield* client.socket.connect({ module, address, maxAttempts: 1 })
                  yield* connected.connected
                }
                const present = new Set<string>([...ownModules, ...remoteModules])
                const joined = new Map<string, Array<string>>()
                for (const [module, group] of joins) {
                  if (!present.has(module)) continue
                  yield* server.beehive.addModuleGroup(module, group)
                  const members = joined.get(group) ?? []
                  if (!members.includes(module)) members.push(module)
                  joined.set(group, members)
                }
                const raw = yield* network.transport.connect(address)
                const handshake = {
                  header: { msg_id: "hs-raw", timestamp: 1, sync: true, type: "unix" },
                  route: { source: "raw", destination: "", operation: "add", resource: "module" },
                  content: ""
                }
                yield* raw.write(Buffer.from(`${JSON.stringify(handshake)}\n`))
                const answer = JSON.parse(yield* firstLine(raw))
                expect(answer.header.parent_msg_id).toBe("hs-raw")
                const mine = new Set<string>(ownModules)
                expect(answer.content.modules ?? []).toEqual(ownModules)
                const expectedGroups = [...joined.entries()]
                  .map(([group, members]) => [group, members.filter((m) => mine.has(m))] as const)
                  .filter(([, members]) => members.length > 0)
                  .sort(([a], [b]) => (a < b ? -1 : 1))
                expect(Object.entries(answer.content.groups ?? {})).toEqual(expectedGroups)
                yield* raw.close
              })
            ).pipe(Effect.provideService(References.MinimumLogLevel, "None"))
          )
      ),
      fcParams(60)
    ))
})
