/**
 * SPEC properties with one module remote: random workloads from a client process against modules of
 * a server process, over an in-process socket pair (the in-memory transport); and the same calls made
 * to modules declared as socket modules before any connection serves them (R-SOCK-7), which are
 * written once a connection adopts them.
 */
import { Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { BeehiveService } from "../../src/contexts/Beehive.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { MessageEncodeError, ModuleClosed } from "../../src/model/Errors.ts"
import * as Message from "../../src/model/Message.ts"
import { makePair, makeSide, run, waitForEffect } from "../socket/support.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"
import { msg, settle } from "../support/messages.ts"

type Op =
  | { readonly kind: "send" }
  | { readonly kind: "sendAll"; readonly count: number; readonly unencodable: number | undefined }
  | { readonly kind: "sync"; readonly duplicate: boolean }
  | { readonly kind: "group" }
  | { readonly kind: "groupSync" }

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.constant<Op>({ kind: "send" }),
  // A batch may hold one message whose content JSON cannot carry, at any place (R-SEND-5, R-JSON-3).
  fc
    .integer({ min: 1, max: 4 })
    .chain((count) =>
      fc
        .option(fc.integer({ min: 0, max: count - 1 }), { nil: undefined, freq: 3 })
        .map<Op>((unencodable) => ({ kind: "sendAll", count, unencodable }))
    ),
  fc.boolean().map<Op>((duplicate) => ({ kind: "sync", duplicate })),
  fc.constant<Op>({ kind: "group" }),
  fc.constant<Op>({ kind: "groupSync" })
)

describe("SPEC properties with a remote module", () => {
  it(
    "R-SOCK-2 R-SOCK-8 R-SOCK-9 R-SOCK-30 R-SOCK-32 R-SEND-4 R-SEND-5 R-SYNC-4 R-GSYNC-2 concurrent senders, over streams and packets: every message arrives once and in order, batches included (a batch holding a message the connection cannot carry fails whole, nothing of it written), every call gets its own answer, no response reaches a mailbox; to a peer without receipts over packets (Go's way) messages are written stamped with the socket type",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(arbOp, { maxLength: 25 }), { minLength: 1, maxLength: 3 }),
          fc.integer({ min: 1, max: 8 }),
          // Over packets too, with receipts or without them as Go beehive's peers speak (R-SOCK-30, R-SOCK-32).
          fc.constantFrom("stream", "packets", "packets without receipts"),
          (workloads, capacity, wire) =>
            run(
              Effect.gen(function* () {
                const { s, c } = yield* makePair({
                  capacity,
                  packets: wire !== "stream",
                  socket: { receipts: wire !== "packets without receipts" }
                })
                const received = new Map<string, Array<string>>([
                  ["A", []],
                  ["B", []]
                ])
                const types = new Set<string>()
                // A and B answer sync requests (A twice when asked to): the duplicate must be reported, not received.
                for (const module of ["A", "B"]) {
                  yield* Effect.forkChild(
                    Effect.forever(
                      Effect.gen(function* () {
                        const m = yield* s.beehive.receive(module)
                        received.get(module)?.push(m.header.id)
                        types.add(m.header.type)
                        if (!m.header.sync) return
                        yield* s.beehive.sendResp(yield* Message.newResponse(m, `${module}:${m.header.id}`), module)
                        if (m.content === "duplicate") {
                          yield* s.beehive.sendResp(yield* Message.newResponse(m, "again"), module)
                        }
                      })
                    )
                  )
                }
                const expected = new Map<string, Array<string>>([
                  ["A", []],
                  ["B", []]
                ])
                const fibers = yield* Effect.forEach(workloads, (ops, w) =>
                  Effect.forkChild(
                    Effect.forEach(ops, (op, i) =>
                      Effect.gen(function* () {
                        const id = `w${w}-${i}`
                        if (op.kind === "send") {
                          yield* c.beehive.send("A", msg(id))
                          return [[id, ["A"]] as const]
                        }
                        if (op.kind === "sendAll") {
                          // A batch to a remote module, all or nothing (R-SEND-5): one message the
                          // module cannot carry fails the batch before any is offered.
                          const ids = Array.from({ length: op.count }, (_, k) => `${id}-${k}`)
                          const sent = yield* Effect.exit(
                            c.beehive.sendAll(
                              "A",
                              ids.map((one, k) => (k === op.unencodable ? msg(one, { n: Number.NaN }) : msg(one)))
                            )
                          )
                          if (op.unencodable === undefined) {
                            expect(sent).toEqual(Exit.succeed(op.count))
                            return ids.map((one) => [one, ["A"]] as const)
                          }
                          expect(errorOf(sent)).toBeInstanceOf(MessageEncodeError)
                          return []
                        }
                        if (op.kind === "sync") {
                          const answer = yield* c.beehive.sendSync(
                            "A",
                            msg(id, op.duplicate ? "duplicate" : id),
                            10_000
                          )
                          expect(answer.content).toBe(`A:${id}`)
                          return [[id, ["A"]] as const]
                        }
                        if (op.kind === "group") {
                          expect(yield* c.beehive.sendToGroup("g", msg(id))).toEqual({
                            delivered: ["A", "B"],
                            gone: []
                          })
                          return [[id, ["A", "B"]] as const]
                        }
                        const result = yield* c.beehive.sendToGroupSync("g", msg(id), 10_000)
                        expect([...result.responses].map(([m, r]) => [m, r.content])).toEqual(
                          expect.arrayContaining([
                            ["A", `A:${id}`],
                            ["B", `B:${id}`]
                          ])
                        )
                        return [[id, ["A", "B"]] as const]
                      })
                    )
                  )
                )
                const perWorkload = yield* Effect.forEach(fibers, Fiber.join)
                for (const results of perWorkload) {
                  for (const [id, modules] of results.flat()) for (const m of modules) expected.get(m)?.push(id)
                }
                const total = (map: Map<string, Array<string>>) => [...map.values()].reduce((n, l) => n + l.length, 0)
                yield* waitForEffect(
                  Effect.sync(() => total(received)),
                  (n) => n === total(expected),
                  "every message to be received"
                )
                for (const module of ["A", "B"]) {
                  const got = received.get(module) ?? []
                  expect([...got].sort()).toEqual([...(expected.get(module) ?? [])].sort())
                  // Per sender, in the order it sent (R-SEND-4).
                  workloads.forEach((_, w) => {
                    const mine = (list: Array<string>) => list.filter((id) => id.startsWith(`w${w}-`))
                    expect(mine(got)).toEqual(mine(expected.get(module) ?? []))
                  })
                }
                // To a Go peer a message is written stamped: its type is the socket type (R-SOCK-32).
                if (total(received) > 0)
                  expect([...types]).toEqual([wire === "packets without receipts" ? "unixpacket" : ""])
                const snap = yield* c.beehive.snapshot
                expect(snap.pendingCalls).toEqual([])
                expect(snap.modules.find((m) => m.name === "X")?.queued).toBe(0)
              })
            )
        ),
        fcParams(40)
      ),
    60_000
  )

  it(
    "R-SOCK-11 R-CLEAN-5 R-SYNC-6 a disconnect at any point fails what waits on the peer, at once, and leaves no call behind",
    () =>
      fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 }), (answered, unanswered) =>
          run(
            Effect.gen(function* () {
              const { s, c, server } = yield* makePair({ client: { backoff: { initial: 60_000 } } })
              const calls = yield* Effect.forEach(
                Array.from({ length: answered + unanswered }, (_, i) => i),
                (i) => Effect.forkChild(Effect.exit(c.beehive.sendSync(i < answered ? "A" : "B", msg(`c${i}`), 60_000)))
              )
              for (let i = 0; i < answered; i++) {
                const m = yield* s.beehive.receive("A")
                yield* s.beehive.sendResp(yield* Message.newResponse(m, "ok"), "A")
              }
              const results = [] as Array<Exit.Exit<Message.Message, unknown>>
              for (let i = 0; i < answered; i++)
                results.push(yield* Fiber.join(calls[i] as Fiber.Fiber<Exit.Exit<Message.Message, unknown>>))
              yield* waitForEffect(
                c.beehive.snapshot,
                (x) => x.pendingCalls.length === unanswered,
                "the unanswered calls to be pending"
              )
              yield* server.close
              for (let i = answered; i < calls.length; i++)
                results.push(yield* Fiber.join(calls[i] as Fiber.Fiber<Exit.Exit<Message.Message, unknown>>))
              results.forEach((exit, i) => {
                if (i < answered) expect(Exit.isSuccess(exit)).toBe(true)
                else expect(Exit.isFailure(exit) && (exit.cause.reasons[0] as any).error._tag).toBe("RequestDropped")
              })
              const snap = yield* waitForEffect(
                c.beehive.snapshot,
                (x) => x.modules.length === 1,
                "the remote modules to go"
              )
              expect(snap.pendingCalls).toEqual([])
              expect(snap.modules.map((m) => m.name)).toEqual(["X"])
            })
          )
        ),
        fcParams(30)
      ),
    60_000
  )

  it(
    "R-SOCK-7 R-SOCK-8 R-SOCK-9 every call made to declared socket modules before any connection serves them is written once one adopts them: one-way messages in order, every call answered",
    () =>
      fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(arbOp, fc.constantFrom("A", "B")), { minLength: 1, maxLength: 12 }), (ops) =>
          run(
            Effect.gen(function* () {
              const network = new MemoryNetwork()
              const address = unix("/memory/declared.sock")
              const s = yield* makeSide(network.transport)
              for (const module of ["A", "B"]) {
                yield* s.beehive.addModule(module)
                yield* s.beehive.addModuleGroup(module, "g")
              }
              const received = new Map<string, Array<string>>([
                ["A", []],
                ["B", []]
              ])
              for (const module of ["A", "B"]) yield* Effect.forkChild(answering(s.beehive, module, received))
              yield* s.socket.serve({ address, accept: ["X"] })
              // The client process knows A and B only as declared socket modules, in its own group g.
              const c = yield* makeSide(network.transport)
              yield* c.beehive.addModule("X")
              for (const module of ["A", "B"]) {
                yield* c.beehive.addModule(module, { contextType: "socket" })
                yield* c.beehive.addModuleGroup(module, "g")
              }
              // One-way calls in this fiber, in order; each synchronous call in a fiber of its own,
              // started here (so it offers its request) before anything serves A and B.
              const expected = new Map<string, Array<string>>([
                ["A", []],
                ["B", []]
              ])
              const oneWay = new Map<string, Array<string>>([
                ["A", []],
                ["B", []]
              ])
              const calls: Array<Fiber.Fiber<void, unknown>> = []
              for (const [i, [op, target]] of ops.entries()) {
                const id = `d${i}`
                const to = op.kind === "send" || op.kind === "sync" ? [target] : ["A", "B"]
                for (const m of to) expected.get(m)?.push(id)
                if (op.kind === "send") yield* c.beehive.send(target, msg(id))
                else if (op.kind === "group") {
                  expect(yield* c.beehive.sendToGroup("g", msg(id))).toEqual({ delivered: ["A", "B"], gone: [] })
                } else if (op.kind === "sync") {
                  calls.push(
                    yield* Effect.forkChild(
                      Effect.map(c.beehive.sendSync(target, msg(id), 60_000), (answer) =>
                        expect(answer.content).toBe(`${target}:${id}`)
                      )
                    )
                  )
                } else {
                  calls.push(
                    yield* Effect.forkChild(
                      Effect.map(c.beehive.sendToGroupSync("g", msg(id), 60_000), (result) =>
                        expect([...result.responses].map(([m, r]) => [m, r.content]).sort()).toEqual([
                          ["A", `A:${id}`],
                          ["B", `B:${id}`]
                        ])
                      )
                    )
                  )
                }
                if (op.kind === "send" || op.kind === "group") for (const m of to) oneWay.get(m)?.push(id)
              }
              yield* settle
              expect(received).toEqual(
                new Map([
                  ["A", []],
                  ["B", []]
                ])
              )
              const client = yield* c.socket.connect({ module: "X", address })
              yield* client.connected
              for (const call of calls) {
                const exit = yield* Fiber.await(call)
                expect(Exit.isSuccess(exit), String(exit)).toBe(true)
              }
              const total = (map: Map<string, Array<string>>) => [...map.values()].reduce((n, l) => n + l.length, 0)
              yield* waitForEffect(
                Effect.sync(() => total(received)),
                (n) => n === total(expected),
                "every message to be received"
              )
              for (const module of ["A", "B"]) {
                const got = received.get(module) ?? []
                expect([...got].sort()).toEqual([...(expected.get(module) ?? [])].sort())
                const sentOneWay = oneWay.get(module) ?? []
                expect(got.filter((id) => sentOneWay.includes(id))).toEqual(sentOneWay)
              }
              expect((yield* c.beehive.snapshot).pendingCalls).toEqual([])
            })
          )
        ),
        fcParams(30)
      ),
    60_000
  )

  it("R-SOCK-8 a receive on a remote module waits, whatever is sent to the module meanwhile (it goes to the peer), until the module is cleaned up here or its connection ends: then it fails with ModuleClosed", () =>
    fc.assert(
      fc.asyncProperty(fc.nat(4), fc.constantFrom("cleanup" as const, "disconnect" as const), (sends, end) =>
        run(
          Effect.gen(function* () {
            const { s, c, client } = yield* makePair()
            const waiting = yield* Effect.forkChild(c.beehive.receive("A"))
            for (let i = 0; i < sends; i++) yield* c.beehive.send("A", msg(`r${i}`))
            for (let i = 0; i < sends; i++) expect((yield* s.beehive.receive("A")).header.id).toBe(`r${i}`)
            yield* settle
            expect(waiting.pollUnsafe(), "the receive still waits").toBeUndefined()
            if (end === "cleanup") yield* c.beehive.cleanup("A")
            else yield* client.close
            const exit = yield* Fiber.await(waiting)
            expect(errorOf(exit)).toBeInstanceOf(ModuleClosed)
          })
        )
      ),
      fcParams(30)
    ))

  it("R-SOCK-10 R-CLEAN-5 sync requests from a peer that a cleanup takes from the module's mailbox are answered at once with an error response saying the module was cleaned up; one-way messages taken with them are in the report", () =>
    fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }), (syncs) =>
        run(
          Effect.gen(function* () {
            const { s, c } = yield* makePair()
            const calls: Array<Fiber.Fiber<Message.Message, unknown>> = []
            for (const [i, sync] of syncs.entries()) {
              if (sync) calls.push(yield* Effect.forkChild(c.beehive.sendSync("A", msg(`q${i}`), 60_000)))
              else yield* c.beehive.send("A", msg(`q${i}`))
            }
            yield* waitForEffect(
              s.beehive.snapshot,
              (x) => x.modules.find((m) => m.name === "A")?.queued === syncs.length,
              "every message in A's mailbox"
            )
            const report = yield* s.beehive.cleanup("A")
            // The calls run in fibers of their own, so the mailbox's order is not the index order.
            expect(report.undelivered.map((m) => m.header.id).sort()).toEqual(syncs.map((_, i) => `q${i}`).sort())
            for (const call of calls) {
              const answer = yield* Fiber.join(call)
              expect([answer.route.operation, answer.content]).toEqual(["error", 'module "A" was cleaned up'])
            }
          })
        )
      ),
      fcParams(20)
    ))
})

/** Receives every message of `module` (noting its id) and answers each sync request with `module:id`. */
const answering = (beehive: BeehiveService, module: string, received: Map<string, Array<string>>) =>
  Effect.forever(
    Effect.gen(function* () {
      const m = yield* beehive.receive(module)
      received.get(module)?.push(m.header.id)
      if (m.header.sync) yield* beehive.sendResp(yield* Message.newResponse(m, `${module}:${m.header.id}`), module)
    })
  )
