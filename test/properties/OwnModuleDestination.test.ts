/**
 * R-SOCK-10 on the serving side, as a property: a client that is not Go's (a stream connection),
 * written here from SPEC.md's wire description, sends messages to the server's own module
 * (`serve({ module })`), to another module of the server, to its own module's name and to no module,
 * one-way or sync. Each reaches the module it names, in order, or, named for the client's own module
 * or for none, is refused (`Undeliverable`, with SPEC's reason) and, when sync, answered at once with
 * an error response saying so. Only a Go client's messages to its own module go to the server's
 * module (R-SOCK-32, `GoClient.test.ts`).
 */
import { Effect, References } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { line, lineReader, makeSide, run, waitFor } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"

const reasons: Record<string, string> = {
  X: "the destination is a module of the sender",
  "": "the message has no destination"
}

describe("R-SOCK-10 a client's messages to its own module", () => {
  it("R-SOCK-10 R-SOCK-32 a client that is not Go's: its messages to the server's modules reach them in order; to its own module or to none they are refused, a sync one answered at once with the reason", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ to: fc.constantFrom("srv", "other", "X", ""), sync: fc.boolean() }), {
          minLength: 1,
          maxLength: 10
        }),
        (script) =>
          run(
            Effect.gen(function* () {
              const network = new MemoryNetwork()
              const address = unix("own-module")
              const s = yield* makeSide(network.transport)
              yield* s.beehive.addModule("srv")
              yield* s.beehive.addModule("other")
              yield* s.socket.serve({ address, accept: ["X"], module: "srv" })
              const client = yield* network.transport.connect(address)
              const next = lineReader(client)
              yield* client.write(
                line({
                  header: { msg_id: "hello", timestamp: 1, sync: true },
                  route: { source: "X", operation: "add", resource: "module" },
                  content: ""
                })
              )
              expect(JSON.parse(yield* next).header.parent_msg_id).toBe("hello")
              for (const [i, { to, sync }] of script.entries())
                yield* client.write(
                  line({
                    header: { msg_id: `m${i}`, timestamp: 2, sync },
                    route: { source: "X", destination: to, operation: "update", resource: "r" },
                    content: i
                  })
                )
              const refused = script.flatMap(({ to, sync }, i) => (to in reasons ? [{ id: `m${i}`, to, sync }] : []))
              const undeliverable = () =>
                s.events.flatMap((e) => (e._tag === "Undeliverable" ? [{ id: e.msgId, reason: e.reason }] : []))
              yield* waitFor(() => undeliverable().length >= refused.length, "the refusals")
              expect(undeliverable()).toEqual(refused.map(({ id, to }) => ({ id, reason: reasons[to] })))
              // A refused sync request is answered at once with an error response saying why.
              const answers = []
              for (const _ of refused.filter((r) => r.sync)) answers.push(JSON.parse(yield* next))
              expect(answers.map((a) => [a.header.parent_msg_id, a.route.operation, a.content])).toEqual(
                refused.filter((r) => r.sync).map(({ id, to }) => [id, "error", reasons[to]])
              )
              // The others reach the module they name, in order.
              for (const module of ["srv", "other"]) {
                const expected = script.flatMap(({ to }, i) => (to === module ? [`m${i}`] : []))
                const got = []
                for (const _ of expected) got.push((yield* s.beehive.receive(module)).header.id)
                expect(got).toEqual(expected)
                expect((yield* s.beehive.snapshot).modules.find((m) => m.name === module)?.queued).toBe(0)
              }
            }).pipe(Effect.provideService(References.MinimumLogLevel, "None"))
          )
      ),
      fcParams(60)
    ))
})
