/**
 * A Go beehive client's messages to our server (R-SOCK-32, R-SOCK-30, R-SEND-4), as a property over a
 * real SOCK_SEQPACKET socket, the peer writing Go's bytes (test/support/goPeer.ts): any sequence of
 * `Send` and `SendSync`, addressed as Go addresses them (to its own module, as Go's `Send` and
 * `SendSync` do) or to a module of the server (a group member's copy). What Go addressed to its own
 * module reaches the server's own module (`serve({ module })`), the rest the module named, each once
 * and in the order written, stamped `unixpacket`; every `SendSync` is answered with one response in
 * its own packet, typed `unixpacket`, addressed to the requester, carrying the answer.
 *
 * The oracle is the script and SPEC's wording of R-SOCK-32.
 */
import { Effect, References } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Message from "../../src/model/Message.ts"
import { run, waitFor } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { goSend, handshakenGoClient, ourServer, parsed, socketPath } from "../support/goPeer.ts"

describe("R-SOCK-32 a Go client's messages", () => {
  it("R-SOCK-32 R-SOCK-30 R-SEND-4 what a Go client addresses to its own module reaches the server's module, the rest the module named, once and in order; each SendSync gets one response typed unixpacket, to the requester", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ to: fc.constantFrom("cli", "srv", "sink"), sync: fc.boolean() }), {
          minLength: 1,
          maxLength: 12
        }),
        (script) =>
          run(
            Effect.gen(function* () {
              const path = socketPath()
              const side = yield* ourServer(path)
              const received = new Map<string, Array<{ readonly id: string; readonly type: string }>>([
                ["srv", []],
                ["sink", []]
              ])
              for (const module of ["srv", "sink"]) {
                yield* Effect.forkChild(
                  Effect.forever(
                    Effect.gen(function* () {
                      const m = yield* side.beehive.receive(module)
                      received.get(module)?.push({ id: m.header.id, type: m.header.type })
                      if (m.header.sync)
                        yield* side.beehive.sendResp(yield* Message.newResponse(m, `${module}:${m.header.id}`), module)
                    })
                  )
                )
              }
              const go = yield* handshakenGoClient(path)
              for (const [i, { to, sync }] of script.entries()) go.write(goSend(`m-${i}`, to, `c-${i}`, sync))
              const total = () => [...received.values()].reduce((n, list) => n + list.length, 0)
              const calls = script.filter((m) => m.sync).length
              yield* waitFor(() => total() === script.length, "every message to be received")
              // The handshake answer, then one packet per answer.
              yield* waitFor(() => go.packets.length === 1 + calls, "every answer")
              const target = (to: string) => (to === "cli" ? "srv" : to)
              for (const module of ["srv", "sink"]) {
                const expected = script.flatMap(({ to }, i) => (target(to) === module ? [`m-${i}`] : []))
                expect(received.get(module)?.map((m) => m.id)).toEqual(expected)
                for (const m of received.get(module) ?? []) expect(m.type).toBe("unixpacket")
              }
              const answers = parsed(go).slice(1)
              const expectedAnswers = script.flatMap(({ to, sync }, i) =>
                sync ? [{ parent: `m-${i}`, content: `${target(to)}:m-${i}` }] : []
              )
              expect(
                answers
                  .map((a) => ({ parent: a.header.parent_msg_id, content: a.content }))
                  .sort((a, b) => (a.parent < b.parent ? -1 : 1))
              ).toEqual(expectedAnswers.sort((a, b) => (a.parent < b.parent ? -1 : 1)))
              for (const answer of answers) {
                expect(answer.header.type).toBe("unixpacket")
                expect(answer.route).toMatchObject({ destination: "cli", operation: "response" })
              }
              expect(go.closed).toBe(false)
            }).pipe(Effect.provideService(References.MinimumLogLevel, "None"))
          )
      ),
      fcParams(25)
    ))
})
