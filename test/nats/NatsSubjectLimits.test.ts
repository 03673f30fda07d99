/**
 * Subjects as long as any name or id makes them (R-NATS-1, R-NATS-11): a module name and a message id
 * are each a subject token, and a NATS server closes the connection of a client that writes a
 * protocol line longer than its `max_control_line` (4096 bytes by default), dropping whatever that
 * connection had in flight. SPEC's verdict: a message is published whole, or refused at `send` and
 * `sendSync` with `MessageEncodeError`; a module is served, or `serve` fails with `InvalidArgument`;
 * the connection is never lost, and nothing sent is lost in silence.
 *
 * Announcements as long as the modules served make them (R-NATS-4): a module that would make its
 * process's announcements larger than the server carries is refused at `serve`, so that the other
 * processes keep hearing of the modules served before it.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { startNatsServerOn } from "../../scripts/natsServer.ts"
import { subjectToken } from "../../src/contexts/nats/Subjects.ts"
import * as Message from "../../src/model/Message.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"
import { awaitModule, HeartbeatMs, type Proc, pair, proc, waitUntil } from "./support.ts"

/** Lengths on both sides of where a line would pass 4096 bytes, and far past it. */
const length = fc.oneof(
  fc.integer({ min: 1, max: 40 }),
  fc.integer({ min: 1900, max: 2100 }),
  fc.integer({ min: 3900, max: 4200 }),
  fc.integer({ min: 4200, max: 12_000 })
)
type Op =
  | { readonly kind: "send" | "sendSync"; readonly idLength: number; readonly idChar: string }
  | { readonly kind: "serve"; readonly nameLength: number; readonly nameChar: string }

// A character percent-encoding leaves alone, and one it writes as 6 bytes (`%C3%A9`).
const character = fc.constantFrom("i", "é")
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom("send" as const, "sendSync" as const), idLength: length, idChar: character }),
  fc.record({ kind: fc.constant("serve" as const), nameLength: length, nameChar: character })
)

/**
 * The bytes a publication's subjects take on its line, from `process` to `module` with id `id` (prefix
 * "t"): a refusal is right only near the line's 4096 bytes, where the verb, the sizes and the spaces
 * (a few dozen bytes) make the difference.
 */
const subjectsBytes = (process: string, module: string, id: string) =>
  `t.mod.${subjectToken(module)}`.length + `t.resp.${process}.${subjectToken(module)}.${subjectToken(id)}`.length
const nearTheLimit = 4096 - 128

/** Answers every sync request to `module` of `p` with the request's id; keeps the one-way ones' ids. */
const answering = (p: Proc, module: string, ids: Array<string>) =>
  Effect.forever(
    Effect.gen(function* () {
      const m = yield* p.beehive.receive(module)
      if (m.header.sync) yield* p.beehive.sendResp(yield* Message.newResponse(m, m.header.id), module)
      else ids.push(m.header.id)
    })
  )

describe("R-NATS-1 subjects of any length", () => {
  let run = 0
  it(
    "R-NATS-1 R-NATS-11 R-NATS-2 a message whose id (or module) makes a subject longer than the server takes is refused at send with MessageEncodeError, a module whose name does is refused at serve with InvalidArgument; everything else is published whole; the connection is never lost",
    () =>
      fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 4 }), (ops) =>
          Effect.runPromise(
            Effect.scoped(
              Effect.gen(function* () {
                const r = ++run
                const { A, B } = yield* pair
                const received = new Map<string, Array<string>>([["a1", []]])
                yield* Effect.forkScoped(answering(A, "a1", received.get("a1") as Array<string>))
                const modules = ["a1"]
                for (const [i, o] of ops.entries()) {
                  if (o.kind === "serve") {
                    const name = `m${r}-${i}-${o.nameChar.repeat(o.nameLength)}`
                    yield* A.beehive.addModule(name)
                    const served = yield* Effect.exit(A.nats.serve(name))
                    if (Exit.isFailure(served)) {
                      expect(errorOf(served), `serve ${name.length}`).toMatchObject({ _tag: "InvalidArgument" })
                      // Refused only where a generated id would not fit.
                      expect(subjectsBytes(A.nats.processId, name, "x".repeat(36))).toBeGreaterThan(nearTheLimit)
                      continue
                    }
                    yield* awaitModule(B, name)
                    const ids: Array<string> = []
                    received.set(name, ids)
                    yield* Effect.forkScoped(answering(A, name, ids))
                    modules.push(name)
                    continue
                  }
                  for (const module of modules) {
                    const id = `${r}-${i}-${o.idChar.repeat(o.idLength)}`
                    const message = Message.make({ header: { id }, content: "x" })
                    if (o.kind === "send") {
                      const sent = yield* Effect.exit(B.beehive.send(module, message))
                      if (Exit.isFailure(sent)) {
                        expect(errorOf(sent), `send ${id.length} to ${module.length}`).toMatchObject({
                          _tag: "MessageEncodeError"
                        })
                        expect(subjectsBytes(B.nats.processId, module, id)).toBeGreaterThan(nearTheLimit)
                      } else {
                        const ids = received.get(module) as Array<string>
                        yield* waitUntil(() => ids.includes(id), `send ${id.length} to ${module.length}`, 3000)
                      }
                    } else {
                      const call = yield* Effect.exit(B.beehive.sendSync(module, message, 3000))
                      if (Exit.isFailure(call)) {
                        expect(errorOf(call), `sendSync ${id.length} to ${module.length}`).toMatchObject({
                          _tag: "MessageEncodeError"
                        })
                        expect(subjectsBytes(B.nats.processId, module, id)).toBeGreaterThan(nearTheLimit)
                      } else expect(call.value.content).toBe(id)
                    }
                  }
                  // The connection is still there: a short message each way goes through.
                  const probe = `${r}-${i}-probe`
                  const answer = yield* B.beehive.sendSync("a1", Message.make({ header: { id: probe } }), 3000)
                  expect(answer.content).toBe(probe)
                }
                const lost = [...A.events, ...B.events].filter(
                  (e) => e._tag === "ConnectionClosed" || e._tag === "PeerGone" || e._tag === "PublishFailed"
                )
                expect(lost).toEqual([])
              })
            )
          )
        ),
        fcParams(25)
      ),
    300_000
  )
})

/** A nats-server whose payload limit is `maxPayload` bytes (a configuration file: it has no flag for it). */
const serverWithMaxPayload = (maxPayload: number, port?: number) =>
  Effect.suspend(() => {
    const file = join(mkdtempSync(join(tmpdir(), "bh-nats-conf-")), "server.conf")
    writeFileSync(file, `max_payload: ${maxPayload}\n`)
    return startNatsServerOn(port, ["-c", file])
  })

describe("R-NATS-4 announcements within the server's payload limit", () => {
  it(
    "R-NATS-4 R-NATS-2 a module whose name would make this process's announcement larger than the server takes is refused at serve with InvalidArgument; every module served before stays known to the other processes, and this process is never taken for gone",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 4096, max: 16_384 }),
          fc.array(fc.integer({ min: 1, max: 1900 }), { minLength: 2, maxLength: 30 }),
          (maxPayload, nameLengths) =>
            Effect.runPromise(
              Effect.scoped(
                Effect.gen(function* () {
                  const server = yield* serverWithMaxPayload(maxPayload)
                  const A = yield* proc(server.url)
                  const B = yield* proc(server.url)
                  const served: Array<string> = []
                  for (const [i, length] of nameLengths.entries()) {
                    const name = `m${i}-${"n".repeat(length)}`
                    yield* A.beehive.addModule(name)
                    const exit = yield* Effect.exit(A.nats.serve(name))
                    // Refused exactly when its announcement (a hello, the longest kind) would pass the
                    // server's payload limit less the 1 KiB kept for headers.
                    const announcement = JSON.stringify({
                      v: 1,
                      process: A.nats.processId,
                      kind: "hello",
                      modules: [...served, name],
                      batches: true
                    })
                    expect(Exit.isFailure(exit), `serve ${i}`).toBe(Buffer.byteLength(announcement) > maxPayload - 1024)
                    if (Exit.isSuccess(exit)) served.push(name)
                    else expect(errorOf(exit), `serve ${i}`).toMatchObject({ _tag: "InvalidArgument" })
                  }
                  // Every module served is known to the other process, through heartbeats past its silence limit.
                  for (const name of served) yield* awaitModule(B, name)
                  yield* Effect.sleep(HeartbeatMs * 5)
                  for (const name of served) yield* awaitModule(B, name)
                  expect(B.events.filter((e) => e._tag === "PeerGone" || e._tag === "BadPayload")).toEqual([])
                  expect(A.events.filter((e) => e._tag === "ConnectionClosed")).toEqual([])
                })
              )
            )
        ),
        fcParams(8)
      ),
    300_000
  )
})

describe("R-NATS-4 announcements after a reconnection to a server that takes less", () => {
  it(
    "R-NATS-4 R-NATS-9 a process whose announcements no longer fit the payload limit of the server it reconnected to reports AnnouncementRefused once until its announcements go out again; one whose announcements fit goes on being known",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 4096, max: 16_384 }),
          fc.array(fc.integer({ min: 1, max: 1900 }), { minLength: 1, maxLength: 12 }),
          (secondMaxPayload, nameLengths) =>
            Effect.runPromise(
              Effect.scoped(
                Effect.gen(function* () {
                  let running = yield* Scope.make()
                  const server = yield* serverWithMaxPayload(64 * 1024).pipe(Scope.provide(running))
                  /** The server restarted on its port with another payload limit; the processes reconnect. */
                  const restartWith = (maxPayload: number) =>
                    Effect.gen(function* () {
                      yield* Scope.close(running, Exit.void)
                      running = yield* Scope.make()
                      yield* serverWithMaxPayload(maxPayload, server.port).pipe(Scope.provide(running))
                    })
                  // The server running last stops after the processes (their goodbyes reach it).
                  yield* Effect.addFinalizer(() => Scope.close(running, Exit.void))
                  const A = yield* proc(server.url, "t", undefined, true)
                  const B = yield* proc(server.url, "t", undefined, true)
                  const names = nameLengths.map((length, i) => `m${i}-${"n".repeat(length)}`)
                  for (const name of names) {
                    yield* A.beehive.addModule(name)
                    yield* A.nats.serve(name)
                  }
                  for (const name of names) yield* awaitModule(B, name)
                  yield* restartWith(secondMaxPayload)
                  // After the reconnection only beats go out: published without headers, each fits
                  // exactly when its bytes are within the server's payload limit.
                  const beat = JSON.stringify({
                    v: 1,
                    process: A.nats.processId,
                    kind: "beat",
                    modules: names,
                    batches: true
                  })
                  const fits = Buffer.byteLength(beat) <= secondMaxPayload
                  const refusals = () => A.events.filter((e) => e._tag === "AnnouncementRefused")
                  if (fits) {
                    // Known after the reconnection, and still known past the silence limit.
                    yield* Effect.sleep(HeartbeatMs * 8)
                    for (const name of names) yield* awaitModule(B, name)
                    expect(refusals()).toEqual([])
                  } else {
                    yield* waitUntil(() => refusals().length > 0, "AnnouncementRefused")
                    expect(refusals()[0]).toMatchObject({
                      moduleCount: names.length,
                      bytes: Buffer.byteLength(beat),
                      reason: expect.stringContaining("max_payload")
                    })
                    for (const name of names) yield* awaitModule(B, name, false)
                    // Said once, not at every heartbeat.
                    yield* Effect.sleep(HeartbeatMs * 4)
                    expect(refusals()).toHaveLength(1)
                    // Back on a server that takes it, the process is known again; refused again later, it
                    // says so again.
                    yield* restartWith(64 * 1024)
                    for (const name of names) yield* awaitModule(B, name)
                    yield* restartWith(secondMaxPayload)
                    yield* waitUntil(() => refusals().length > 1, "AnnouncementRefused again")
                    yield* Effect.sleep(HeartbeatMs * 4)
                    expect(refusals()).toHaveLength(2)
                  }
                })
              )
            )
        ),
        fcParams(8)
      ),
    300_000
  )
})
