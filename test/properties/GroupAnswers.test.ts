/**
 * R-SOCK-9 with R-GSYNC as a property: a group call whose copies go to several modules of one
 * connection, answered by a server written here from SPEC.md's wire description (not this library's
 * server). Its answers carry the responder and any operation (a peer's answer need not say
 * "response": one to a request still in flight on the connection is a response, R-SOCK-9), in any
 * order, some twice. Each copy's first answer is its member's response, attributed to it. A second
 * answer while a copy of the call is in flight is uninvited (the call fails so, R-GSYNC-3) and
 * reported unclaimed; once none is, it is a response only if its operation says so (then unclaimed),
 * else a message delivered to its destination.
 */
import { Effect, Fiber, References } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { type SocketAddress, unix } from "../../src/contexts/socket/SocketAddress.ts"
import type { Listener } from "../../src/contexts/socket/Transport.ts"
import * as Message from "../../src/model/Message.ts"
import { line, lineReader, makeSide, run, waitFor } from "../socket/support.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"

const members: ReadonlyArray<string> = ["m1", "m2", "m3"]

/**
 * Accepts the client's connection and answers its handshake, serving `group` as the modules and the
 * members of group "g"; the rest of the connection's lines are read with `next`.
 */
const acceptAnswering = (listener: Listener, group: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const connection = yield* listener.accept
    const next = lineReader(connection)
    const handshake = JSON.parse(yield* next)
    yield* connection.write(
      line({
        header: { msg_id: "exchange", parent_msg_id: handshake.header.msg_id, timestamp: 1 },
        route: { source: "server", operation: "response", resource: "module" },
        content: { modules: group, groups: { g: group } }
      })
    )
    return { connection, next }
  })

/** A process with module X, connected as X to the raw server at `address`. */
const connectedClient = (network: MemoryNetwork, address: SocketAddress) =>
  Effect.gen(function* () {
    const client = yield* makeSide(network.transport)
    yield* client.beehive.addModule("X")
    yield* (yield* client.socket.connect({ module: "X", address, framing: "ndjson", maxAttempts: 1 })).connected
    return client
  })

/** How the server answers one copy: with which operation, and whether twice. */
const arbAnswer = fc.record({
  operation: fc.constantFrom("response", "update", "insert"),
  twice: fc.boolean()
})

describe("R-SOCK-9 a group call's answers over one connection", () => {
  it("R-SOCK-9 R-GSYNC-2 R-GSYNC-3 copies of a group call to several modules of one connection: each member's first answer, whatever its operation and in whatever order, is its response; a second answer is uninvited and unclaimed while a copy is in flight, after that a response only if it says so, else a message", () =>
    fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 3 }),
        fc.array(fc.tuple(arbAnswer, arbAnswer, arbAnswer), { minLength: 1, maxLength: 3 }),
        // The order the server answers a call's copies in (members past the group's size left out).
        fc.shuffledSubarray([0, 1, 2], { minLength: 3, maxLength: 3 }),
        (size, calls, permutation) =>
          run(
            Effect.gen(function* () {
              const group = members.slice(0, size)
              const order = permutation.filter((i) => i < size).map((i) => group[i] as string)
              const network = new MemoryNetwork()
              const address = unix("group-answers")
              const listener = yield* network.transport.listen(address)
              const server = yield* Effect.forkChild(
                Effect.gen(function* () {
                  const { connection, next } = yield* acceptAnswering(listener, group)
                  for (const [k, answers] of calls.entries()) {
                    // One copy per member, then the answers in the drawn order.
                    const copies = []
                    for (let i = 0; i < size; i++) copies.push(JSON.parse(yield* next))
                    const byMember = new Map(copies.map((copy) => [copy.route.destination as string, copy]))
                    for (const member of order) {
                      const copy = byMember.get(member)
                      const answer = answers[group.indexOf(member)]
                      const reply = (n: number) =>
                        line({
                          header: { msg_id: `${member}-${k}-${n}`, parent_msg_id: copy?.header.msg_id, timestamp: 2 },
                          route: { source: member, destination: "X", operation: answer?.operation, resource: "r" },
                          content: `${member}:${n}`,
                          responder: member
                        })
                      yield* connection.write(reply(1))
                      if (answer?.twice) yield* connection.write(reply(2))
                    }
                  }
                  return yield* Effect.never
                }).pipe(Effect.ignore)
              )
              const client = yield* connectedClient(network, address)
              // The second answers that are messages to X: answers to a copy already answered (R-SOCK-9).
              const delivered: Array<string> = []
              for (const [k, answers] of calls.entries()) {
                // A second answer before the last member's first is uninvited: the call then fails so,
                // once every member answered (R-GSYNC-3); every second answer is taken by no call.
                const early = order.slice(0, -1).filter((m) => answers[group.indexOf(m)]?.twice)
                const exit = yield* Effect.exit(
                  client.beehive.sendToGroupSync("g", Message.make({ header: { id: `call${k}` } }), 1000)
                )
                if (early.length === 0) {
                  const result = yield* exit
                  expect([...result.responses.keys()].sort()).toEqual([...group])
                  for (const member of group) expect(result.responses.get(member)?.content).toBe(`${member}:1`)
                } else
                  expect(errorOf(exit)).toMatchObject({
                    _tag: "GroupSyncError",
                    reason: "Uninvited",
                    uninvited: early.length,
                    responded: order
                  })
                // The last member's second answer comes once no copy of the call is in flight: a response
                // only if it says so (unclaimed then), else a message for X. Each earlier one is uninvited.
                const last = order.at(-1) as string
                const lastAnswer = answers[group.indexOf(last)]
                const lastIsResponse = lastAnswer?.twice === true && lastAnswer.operation === "response"
                const unclaimedExpected = [...early, ...(lastIsResponse ? [last] : [])].map((m) => `${m}-${k}-2`)
                if (lastAnswer?.twice === true && !lastIsResponse) delivered.push(`${last}-${k}-2`)
                const unclaimed = () =>
                  client.events.flatMap((e) =>
                    e._tag === "UnclaimedResponse" && e.msgId.endsWith(`-${k}-2`) ? [e.msgId] : []
                  )
                yield* waitFor(() => unclaimed().length >= unclaimedExpected.length, "the second answers reported")
                expect(unclaimed().sort()).toEqual(unclaimedExpected.sort())
              }
              const inMailbox = []
              for (const _ of delivered) inMailbox.push((yield* client.beehive.receive("X")).header.id)
              expect(inMailbox).toEqual(delivered)
              expect((yield* client.beehive.snapshot).modules.find((m) => m.name === "X")?.queued).toBe(0)
              yield* Fiber.interrupt(server)
            }).pipe(Effect.provideService(References.MinimumLogLevel, "None"))
          )
      ),
      fcParams(60)
    ))

  it("R-SOCK-9 R-GSYNC-6 a group call's copy to the one module it went to on a connection: an answer naming that module as its responder, or naming none (no responder key, or one that is no string), is that member's response; one naming another name is uninvited", () =>
    fc.assert(
      fc.asyncProperty(
        fc.constantFrom<unknown>("m1", "absent", "other", 5, null, true, { name: "m1" }, ["m1"]),
        (responder) =>
          run(
            Effect.gen(function* () {
              const network = new MemoryNetwork()
              const address = unix("group-responder")
              const listener = yield* network.transport.listen(address)
              const server = yield* Effect.forkChild(
                Effect.gen(function* () {
                  const { connection, next } = yield* acceptAnswering(listener, ["m1"])
                  const copy = JSON.parse(yield* next)
                  yield* connection.write(
                    line({
                      header: { msg_id: "answer", parent_msg_id: copy.header.msg_id, timestamp: 2 },
                      route: { source: "m1", destination: "X", operation: "response", resource: "r" },
                      content: "m1:1",
                      ...(responder === "absent" ? {} : { responder })
                    })
                  )
                  return yield* Effect.never
                }).pipe(Effect.ignore)
              )
              const client = yield* connectedClient(network, address)
              const exit = yield* Effect.exit(
                client.beehive.sendToGroupSync("g", Message.make({ header: { id: "call" } }), 300)
              )
              if (responder === "other") expect(errorOf(exit)).toMatchObject({ _tag: "GroupSyncError", uninvited: 1 })
              else expect((yield* exit).responses.get("m1")?.content).toBe("m1:1")
              yield* Fiber.interrupt(server)
            }).pipe(Effect.provideService(References.MinimumLogLevel, "None"))
          )
      ),
      fcParams(16)
    ))
})
