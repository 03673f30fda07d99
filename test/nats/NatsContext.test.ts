import { connect } from "@nats-io/transport-node"
import { Clock, Effect, Exit, Fiber, Result, Scope } from "effect"
import { describe, expect, it } from "vitest"
import { startNatsServer, startNatsServerOn } from "../../scripts/natsServer.ts"
import { makeHost } from "../../src/contexts/Beehive.ts"
import { ContextHost } from "../../src/contexts/ContextHost.ts"
import { makeNatsContext } from "../../src/contexts/nats/NatsContext.ts"
import { parseNatsConfig, resolveNatsOptions } from "../../src/contexts/nats/NatsOptions.ts"
import { fromSubjectToken, subjects, subjectToken } from "../../src/contexts/nats/Subjects.ts"
import { asModule } from "../../src/effects/CurrentModule.ts"
import * as Message from "../../src/model/Message.ts"
import { NatsConfigError, NatsConnectFailed } from "../../src/model/NatsErrors.ts"
import { waitForEffect } from "../socket/support.ts"
import { errorOf } from "../support/exits.ts"
import { awaitModule, HeartbeatMs, hasModule, type Proc, pair, proc, procWith, startCluster } from "./support.ts"

/** The failover test: calls pending when the caller's server dies, their deadline and the answers' delay. */
const PendingCalls = 5
const FailoverDeadlineMs = 3000
const AnswerDelayMs = 600

const run = <A>(body: Effect.Effect<A, unknown, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(body) as Effect.Effect<A, unknown, never>)

const msg = (id: string, content: unknown = id) => Message.make({ header: { id, timestamp: 1 }, content })

/** Answers every sync request `module` receives (`count` of them). */
const responder = (p: Proc, module: string, count: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < count; i++) {
      const request = yield* p.beehive.receive(module)
      yield* p.beehive.sendResp(yield* Message.newResponse(request, `${module}:${String(request.content)}`), module)
    }
  })

describe("NATS context", () => {
  it("R-NATS-1 subjects: any module name is one token, the prefix scopes everything", () => {
    for (const name of ["a", "a.b", "a*b", "a>b", "with space", "ü/€", "%41"]) {
      const token = subjectToken(name)
      expect(token).not.toMatch(/[.*> \t]/)
      expect(fromSubjectToken(token)).toBe(name)
    }
    const s = subjects("site1.bh")
    expect(s.module("x.y")).toBe("site1.bh.mod.x%2Ey")
    expect(s.registry).toBe("site1.bh.reg")
    expect(s.replyTo("p1", "m", "id.1")).toBe("site1.bh.resp.p1.m.id%2E1")
  })

  it("R-NATS-10 options and YAML are validated with errors naming the key", () => {
    const key = (o: unknown) => {
      const r = resolveNatsOptions(o as never)
      return Result.isFailure(r) ? r.failure.key : undefined
    }
    expect(key({})).toBe("servers")
    expect(key({ servers: ["nats://x:1", 3] })).toBe("servers[1]")
    expect(key({ servers: "nats://x:1", prefix: "a..b" })).toBe("prefix")
    expect(key({ servers: "nats://x:1", prefix: "a.>" })).toBe("prefix")
    expect(key({ servers: "nats://x:1", pass: "p" })).toBe("pass")
    expect(key({ servers: "nats://x:1", user: "u", token: "t" })).toBe("token")
    expect(key({ servers: "nats://x:1", tls: { cert: "c" } })).toBe("tls.key")
    expect(key({ servers: "nats://x:1", heartbeatMs: 0 })).toBe("heartbeatMs")
    expect(key({ servers: "nats://x:1", maxInbound: 1.5 })).toBe("maxInbound")
    expect(key({ servers: "nats://x:1" })).toBeUndefined()
    const ok = parseNatsConfig(
      "servers: [nats://10.0.0.1:4222]\nprefix: site1.beehive\nuser: u\npass: p\nheartbeatms: 500\n"
    )
    expect(Result.isSuccess(ok) && ok.success).toMatchObject({ prefix: "site1.beehive", heartbeatMs: 500 })
    const bad = parseNatsConfig("servers: nats://h:1\ncolour: blue\n")
    expect(Result.isFailure(bad) && bad.failure.key).toBe("colour")
    const badTls = parseNatsConfig("servers: nats://h:1\ntls: { ca: 3 }\n")
    expect(Result.isFailure(badTls) && badTls.failure.key).toBe("tls.ca")
    const notYaml = parseNatsConfig("servers: [\n")
    expect(Result.isFailure(notYaml) && notYaml.failure.key).toBe("")
  })

  it("R-NATS-10 the errors say what failed and where", () => {
    expect(new NatsConfigError({ key: "tls.key", reason: "cert and key go together" }).message).toBe(
      "nats config at tls.key: cert and key go together"
    )
    expect(new NatsConfigError({ key: "", reason: "must be a mapping" }).message).toBe("nats config: must be a mapping")
    expect(new NatsConnectFailed({ servers: ["nats://a:1", "nats://b:2"], detail: "refused" }).message).toBe(
      "cannot connect to NATS nats://a:1,nats://b:2: refused"
    )
  })

  it("R-NATS-10 nobody listening: NatsConnectFailed", () =>
    run(
      Effect.gen(function* () {
        const host = yield* makeHost()
        const exit = yield* Effect.exit(
          makeNatsContext({ servers: "nats://127.0.0.1:1", maxReconnectAttempts: 0 }).pipe(
            Effect.provideService(ContextHost, host)
          )
        )
        expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("NatsConnectFailed")
      })
    ))

  it(
    "R-NATS-2 R-NATS-3 send/receive both ways, in order; registration is visible across processes",
    () =>
      run(
        Effect.gen(function* () {
          const { A, B } = yield* pair
          expect((yield* B.beehive.snapshot).modules.find((m) => m.name === "a1")?.contextType).toBe("nats")
          for (let i = 0; i < 20; i++) yield* B.beehive.send("a1", msg(`m${i}`))
          for (let i = 0; i < 20; i++) expect((yield* A.beehive.receive("a1")).content).toBe(`m${i}`)
          yield* A.beehive.send("b1", msg("back"))
          const got = yield* B.beehive.receive("b1")
          expect(got.content).toBe("back")
          expect(got.route.destination).toBe("b1")
        })
      ),
    20_000
  )

  it(
    "R-NATS-4 awaitModule waits for the announcement (the README's example); ModuleNotFound at its timeout",
    () =>
      run(
        Effect.gen(function* () {
          const server = yield* startNatsServer
          const A = yield* proc(server.url, "site1")
          yield* A.beehive.addModule("edged")
          yield* A.nats.serve("edged")
          const responding = yield* Effect.forkChild(responder(A, "edged", 1))
          const B = yield* proc(server.url, "site1")
          yield* B.nats.awaitModule("edged", "5 seconds")
          const pong = yield* B.beehive.sendSync("edged", msg("ping"), 5000)
          expect(pong.content).toBe("edged:ping")
          yield* Fiber.join(responding)
          yield* B.nats.awaitModule("edged", 10)
          const exit = yield* Effect.exit(B.nats.awaitModule("nobody", 100))
          expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("ModuleNotFound")
          // Another prefix sees none of it (R-NATS-1).
          const C = yield* proc(server.url, "other")
          const none = yield* Effect.exit(C.nats.awaitModule("edged", 400))
          expect(Exit.isFailure(none)).toBe(true)
        })
      ),
    20_000
  )

  it(
    "R-NATS-6 sendSync/sendResp both ways; the response is the call's result",
    () =>
      run(
        Effect.gen(function* () {
          const { A, B } = yield* pair
          const ra = yield* Effect.forkChild(responder(A, "a1", 1))
          const r1 = yield* B.beehive.sendSync("a1", msg("q1", "x"), 5000)
          expect(r1.header.parentId).toBe("q1")
          expect(r1.content).toBe("a1:x")
          yield* Fiber.join(ra)
          const rb = yield* Effect.forkChild(responder(B, "b1", 1))
          const r2 = yield* A.beehive.sendSync("b1", msg("q2", "y"), 5000)
          expect(r2.content).toBe("b1:y")
          yield* Fiber.join(rb)
          expect(yield* A.nats.pendingRequests).toBe(0)
        })
      ),
    20_000
  )

  it(
    "R-NATS-7 sendToGroup and sendToGroupSync with members on both sides",
    () =>
      run(
        Effect.gen(function* () {
          const { A, B } = yield* pair
          yield* A.beehive.addModule("a2")
          yield* A.nats.serve("a2")
          yield* awaitModule(B, "a2")
          yield* B.beehive.addModuleGroup("a1", "g")
          yield* B.beehive.addModuleGroup("b1", "g")
          yield* B.beehive.addModuleGroup("a2", "g")
          const sent = yield* B.beehive.sendToGroup("g", msg("g1"))
          expect(sent.delivered).toEqual(["a1", "b1", "a2"])
          expect((yield* A.beehive.receive("a1")).content).toBe("g1")
          expect((yield* A.beehive.receive("a2")).content).toBe("g1")
          expect((yield* B.beehive.receive("b1")).content).toBe("g1")
          const responders = yield* Effect.forkChild(
            Effect.all([responder(A, "a1", 1), responder(A, "a2", 1), responder(B, "b1", 1)], { concurrency: 3 })
          )
          const result = yield* B.beehive.sendToGroupSync("g", msg("gs", "z"), 5000)
          yield* Fiber.join(responders)
          expect([...result.responses.keys()].sort()).toEqual(["a1", "a2", "b1"])
          expect(result.responses.get("a2")?.content).toBe("a2:z")
        })
      ),
    20_000
  )

  it(
    "R-NATS-5 a module nobody serves: ModuleNotFound; a stale declaration is dropped at NATS no-responders",
    () =>
      run(
        Effect.gen(function* () {
          const { B } = yield* pair
          const nf = yield* Effect.exit(B.beehive.sendSync("ghost", msg("q"), 1000))
          expect(Exit.isFailure(nf) && JSON.stringify(nf.cause)).toContain("ModuleNotFound")
          // Declared here, served nowhere: the first request meets no responders, the call fails at once
          // (RequestDropped) and the declaration goes; the next send fails with ModuleNotFound.
          yield* B.beehive.addModule("ghost2", { contextType: "nats" })
          const start = Date.now()
          const dropped = yield* Effect.exit(B.beehive.sendSync("ghost2", msg("q2"), 5000))
          expect(Date.now() - start).toBeLessThan(2000)
          expect(Exit.isFailure(dropped) && JSON.stringify(dropped.cause)).toContain("RequestDropped")
          expect(B.events.some((e) => e._tag === "NoResponders" && e.module === "ghost2")).toBe(true)
          const later = yield* Effect.exit(B.beehive.send("ghost2", msg("s")))
          expect(Exit.isFailure(later) && JSON.stringify(later.cause)).toContain("ModuleNotFound")
        })
      ),
    20_000
  )

  it(
    "R-NATS-6 R-SYNC-5 no answer: SyncTimeout at the deadline, phase response; a late response is reported, not delivered",
    () =>
      run(
        Effect.gen(function* () {
          const { A, B } = yield* pair
          const exit = yield* Effect.exit(B.beehive.sendSync("a1", msg("slow"), 300))
          expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toMatch(/"phase":"response".*SyncTimeout/)
          const request = yield* A.beehive.receive("a1")
          yield* A.beehive.sendResp(yield* Message.newResponse(request, "late"), "a1")
          for (let i = 0; i < 100 && !B.events.some((e) => e._tag === "LateResponse"); i++) yield* Effect.sleep(10)
          expect(B.events.some((e) => e._tag === "LateResponse" && e.parentId === "slow")).toBe(true)
          const snapshot = yield* B.beehive.snapshot
          expect(snapshot.modules.find((m) => m.name === "b1")?.queued).toBe(0)
        })
      ),
    20_000
  )

  it(
    "R-NATS-8 R-NATS-3 R-SYNC-5 the serving module does not read: the sender's window and the module's outbox fill, a sendSync cannot be enqueued and fails with SyncTimeout at its deadline, phase enqueue; nothing is left pending and the request is never published",
    () =>
      run(
        Effect.gen(function* () {
          const server = yield* startNatsServer
          // B's window: 2 messages unacknowledged. Its silence limit is long (40 heartbeats, 6 s), so that
          // no WindowReset (after missedHeartbeats × heartbeatMs without an acknowledgement) opens the
          // window during the test: the stall is the serving side's backpressure alone.
          const B = yield* procWith(server.url, { prefix: "t", sendWindow: 2, missedHeartbeats: 40 })
          // Declared here with an outbox of 2 (R-NATS-3: the outbox's capacity is the addModule capacity).
          yield* B.beehive.addModule("slow", { contextType: "nats", capacity: 2 })
          const A = yield* proc(server.url)
          yield* A.beehive.addModule("slow", { capacity: 1 })
          yield* A.nats.serve("slow")
          yield* waitForEffect(
            B.nats.remoteModules,
            (rs) => rs.some((r) => r.module === "slow"),
            "A's announcement of slow to reach B"
          )
          // A never receives: its mailbox holds 1, and what comes after waits unacknowledged in its inbound
          // queue, so B's window closes, then B's outbox fills and the sender waits.
          const sending = yield* Effect.forkChild(
            Effect.gen(function* () {
              for (let i = 0; i < 20; i++) yield* B.beehive.send("slow", msg(`w${i}`, i))
            })
          )
          const outbox = Effect.map(B.beehive.snapshot, (s) => s.modules.find((m) => m.name === "slow")?.queued)
          yield* waitForEffect(outbox, (queued) => queued === 2, "B's outbox of slow to be full")
          const start = yield* Clock.currentTimeMillis
          // Bounded apart from its own deadline, so that a call that outlives it fails the test, not hangs it.
          const exit = yield* Effect.exit(B.beehive.sendSync("slow", msg("sq"), 300).pipe(Effect.timeout("3 seconds")))
          const elapsed = (yield* Clock.currentTimeMillis) - start
          expect(errorOf(exit)).toMatchObject({ _tag: "SyncTimeout", phase: "enqueue", module: "slow", msgId: "sq" })
          expect(elapsed).toBeGreaterThanOrEqual(299)
          expect(elapsed).toBeLessThan(1500)
          expect((yield* B.beehive.snapshot).pendingCalls).toEqual([])
          expect(B.events.filter((e) => e._tag === "WindowReset")).toEqual([])
          // A reads now: the one-way messages all arrive, in order, and the request never does.
          const got: Array<unknown> = []
          for (let i = 0; i < 20; i++) got.push((yield* A.beehive.receive("slow")).header.id)
          yield* Fiber.join(sending)
          expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `w${i}`))
          yield* Effect.sleep(HeartbeatMs * 2)
          expect((yield* A.beehive.snapshot).modules.find((m) => m.name === "slow")?.queued).toBe(0)
          expect(yield* A.nats.pendingRequests).toBe(0)
          expect(yield* outbox).toBe(0)
          expect(B.events.filter((e) => e._tag === "LateResponse" || e._tag === "WindowReset")).toEqual([])
          expect(A.events.filter((e) => e._tag === "Undeliverable")).toEqual([])
        })
      ),
    20_000
  )

  it(
    "R-NATS-4 a module cleaned up on one side becomes unreachable on the other within a heartbeat",
    () =>
      run(
        Effect.gen(function* () {
          const { A, B } = yield* pair
          yield* A.beehive.cleanup("a1")
          yield* awaitModule(B, "a1", false)
          const exit = yield* Effect.exit(B.beehive.send("a1", msg("x")))
          expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("ModuleNotFound")
          yield* A.nats.unserve("nothing")
          expect(yield* A.nats.served).toEqual([])
        })
      ),
    20_000
  )

  it(
    "R-NATS-4 a nats module cleaned up by the caller's process stays gone there while its server announces it, and comes back when announced anew",
    () =>
      run(
        Effect.gen(function* () {
          const { A, B } = yield* pair
          yield* B.beehive.cleanup("a1")
          // Several heartbeats of A's that list a1: none brings it back.
          yield* Effect.sleep(HeartbeatMs * 4)
          expect(yield* hasModule(B, "a1")).toBe(false)
          yield* A.nats.unserve("a1")
          yield* A.nats.serve("a1")
          yield* awaitModule(B, "a1")
          expect(yield* B.beehive.send("a1", msg("back"))).toBeUndefined()
          expect((yield* A.beehive.receive("a1")).header.id).toBe("back")
        })
      ),
    20_000
  )

  it(
    "R-NATS-4 R-GSYNC-5 a member's process leaves during a group sync: MemberGone, long before the deadline",
    () =>
      run(
        Effect.gen(function* () {
          const { B, server } = yield* pair
          const scopeC = yield* Scope.make()
          const C = yield* proc(server.url).pipe(Scope.provide(scopeC))
          yield* C.beehive.addModule("c1")
          yield* C.nats.serve("c1")
          yield* awaitModule(B, "c1")
          yield* B.beehive.addModuleGroup("b1", "g")
          yield* B.beehive.addModuleGroup("c1", "g")
          const start = Date.now()
          const call = yield* Effect.forkChild(Effect.exit(B.beehive.sendToGroupSync("g", msg("gg"), 10_000)))
          yield* responder(B, "b1", 1)
          // c1 got its copy and never answers; its process leaves (its goodbye reaches B).
          yield* C.beehive.receive("c1")
          yield* Scope.close(scopeC, Exit.void)
          const exit = yield* Fiber.join(call)
          expect(Date.now() - start).toBeLessThan(3000)
          expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toMatch(/MemberGone/)
          // Its last beat (without c1) may decide the call before its goodbye arrives.
          const byeSeen = () => B.events.some((e) => e._tag === "PeerGone" && e.reason === "Bye")
          for (let i = 0; i < 100 && !byeSeen(); i++) yield* Effect.sleep(10)
          expect(byeSeen()).toBe(true)
        })
      ),
    20_000
  )

  it(
    "R-NATS-9 the server dies mid-sendSync: the call ends with a typed error by its deadline",
    () =>
      run(
        Effect.gen(function* () {
          const { B, server } = yield* pair
          const start = Date.now()
          const call = yield* Effect.forkChild(Effect.exit(B.beehive.sendSync("a1", msg("dying"), 3000)))
          yield* Effect.sleep(100)
          yield* server.kill
          const exit = yield* Fiber.join(call)
          const elapsed = Date.now() - start
          expect(elapsed).toBeLessThan(3500)
          expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toMatch(/RequestDropped|SyncTimeout/)
          yield* awaitModule(B, "a1", false)
        })
      ),
    20_000
  )

  it(
    "R-NATS-9 R-NATS-4 the server restarts: modules go when their processes fall silent and come back after the reconnection",
    () =>
      run(
        Effect.gen(function* () {
          const first = yield* Scope.make()
          const server = yield* startNatsServer.pipe(Scope.provide(first))
          const A = yield* proc(server.url, "t", undefined, true)
          const B = yield* proc(server.url, "t", undefined, true)
          yield* A.beehive.addModule("a1")
          yield* A.nats.serve("a1")
          yield* B.nats.awaitModule("a1", "5 seconds")
          yield* Scope.close(first, Exit.void)
          yield* awaitModule(B, "a1", false)
          expect(B.events.some((e) => e._tag === "PeerGone" && e.reason === "Silent")).toBe(true)
          const exit = yield* Effect.exit(B.beehive.send("a1", msg("while-down")))
          expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("ModuleNotFound")
          yield* startNatsServerOn(server.port)
          yield* B.nats.awaitModule("a1", "10 seconds")
          const responding = yield* Effect.forkChild(responder(A, "a1", 1))
          const answer = yield* B.beehive.sendSync("a1", msg("after"), 5000)
          expect(answer.content).toBe("a1:after")
          yield* Fiber.join(responding)
        })
      ),
    30_000
  )

  it(
    "R-NATS-6 R-RESP-3 R-GSYNC-6 an answer a serving process hands on unattributed stays so in a caller's process made by a module's fiber: with two members behind NATS it stands for no member, and a member's own answer after it counts",
    () =>
      run(
        Effect.gen(function* () {
          const { A, server } = yield* pair
          yield* A.beehive.addModule("a2")
          yield* A.nats.serve("a2")
          // The caller's context is made by a fiber that runs for its module c1 (R-RESP-3's CurrentModule).
          const C = yield* proc(server.url).pipe(asModule("c1"))
          yield* C.beehive.addModule("c1")
          for (const m of ["a1", "a2"]) {
            yield* C.nats.awaitModule(m, "5 seconds")
            yield* C.beehive.addModuleGroup(m, "g")
          }
          const call = yield* Effect.forkChild(Effect.exit(C.beehive.sendToGroupSync("g", msg("u"), 5000)))
          const copy = yield* A.beehive.receive("a1")
          yield* A.beehive.receive("a2")
          // From this fiber, which runs for no module: unattributed; then a1's own answer.
          expect(yield* A.beehive.sendResp(yield* Message.newResponse(copy, "someone"))).toBe(true)
          expect(yield* A.beehive.sendResp(yield* Message.newResponse(copy, "a1's"), "a1")).toBe(true)
          const exit = yield* Fiber.join(call)
          expect(Exit.isSuccess(exit)).toBe(true)
          if (Exit.isSuccess(exit)) {
            expect([...exit.value.responses].map(([m, r]) => [m, r.content])).toEqual([["a1", "a1's"]])
            expect(exit.value.anonymous.map((r) => r.content)).toEqual(["someone"])
          }
        })
      ),
    20_000
  )

  it(
    "R-NATS-6 a request owed to a process that has left is forgotten",
    () =>
      run(
        Effect.gen(function* () {
          const { B, server } = yield* pair
          const scopeC = yield* Scope.make()
          const C = yield* proc(server.url).pipe(Scope.provide(scopeC))
          yield* C.nats.awaitModule("b1", "5 seconds")
          yield* Effect.forkChild(Effect.exit(C.beehive.sendSync("b1", msg("owed"), 5000)))
          const request = yield* B.beehive.receive("b1")
          expect(request.header.id).toBe("owed")
          expect(yield* B.nats.pendingRequests).toBe(1)
          yield* Scope.close(scopeC, Exit.void)
          for (let i = 0; i < 300 && (yield* B.nats.pendingRequests) > 0; i++) yield* Effect.sleep(10)
          expect(yield* B.nats.pendingRequests).toBe(0)
          // Its answer now goes nowhere: sendResp says no call took it here.
          expect(yield* B.beehive.sendResp(yield* Message.newResponse(request, "late"), "b1")).toBe(false)
        })
      ),
    20_000
  )

  it(
    "R-NATS-9 a 3-server cluster: processes on different servers talk, and a process fails over when its server dies",
    () =>
      run(
        Effect.gen(function* () {
          const [n1, n2] = yield* startCluster
          const [s1, s2] = [n1.server, n2.server]
          const A = yield* proc([s1.url], "t", undefined, true)
          // B is given s2 alone: the others it learns from the cluster (the servers' gossip of client URLs).
          const B = yield* proc([s2.url], "t", undefined, true)
          yield* A.beehive.addModule("a1")
          yield* A.nats.serve("a1")
          yield* B.beehive.addModule("b1")
          yield* B.nats.serve("b1")
          yield* B.nats.awaitModule("a1", "10 seconds")
          yield* A.nats.awaitModule("b1", "10 seconds")
          const ask = (tag: string) =>
            Effect.gen(function* () {
              const responding = yield* Effect.forkChild(responder(A, "a1", 1))
              const answer = yield* B.beehive.sendSync("a1", msg(tag), 5000)
              expect(answer.content).toBe(`a1:${tag}`)
              yield* Fiber.join(responding)
            })
          yield* ask("before")
          // B's server dies: B reconnects to a server it learnt of, and A and B find each other again.
          yield* Scope.close(n2.scope, Exit.void)
          yield* Effect.sleep(HeartbeatMs * 6)
          yield* B.nats.awaitModule("a1", "10 seconds")
          yield* A.nats.awaitModule("b1", "10 seconds")
          yield* ask("after")
          yield* A.beehive.send("b1", msg("to-b"))
          expect((yield* B.beehive.receive("b1")).content).toBe("to-b")
        })
      ),
    40_000
  )

  it(
    "R-NATS-9 R-NATS-6 R-SYNC-5 a 3-server cluster: the caller's server dies while its sendSync calls wait for delayed answers; each ends with its answer or a typed error by its deadline, the caller reconnects to another server and later calls work",
    () =>
      run(
        Effect.gen(function* () {
          const [n1, n2] = yield* startCluster
          const A = yield* proc([n1.server.url], "t", undefined, true)
          // B is given its server alone: the others it learns from the cluster's gossip of client URLs.
          const B = yield* proc([n2.server.url], "t", undefined, true)
          yield* A.beehive.addModule("a1")
          yield* A.nats.serve("a1")
          yield* B.nats.awaitModule("a1", "10 seconds")
          // A answers each request AnswerDelayMs after it arrives, so the calls are pending when B's server dies.
          yield* Effect.forkChild(
            Effect.forever(
              Effect.flatMap(A.beehive.receive("a1"), (request) =>
                Effect.forkChild(
                  Effect.andThen(
                    Effect.sleep(AnswerDelayMs),
                    Effect.flatMap(Message.newResponse(request, "late but in time"), (x) => A.beehive.sendResp(x, "a1"))
                  )
                )
              )
            )
          )
          const started = yield* Clock.currentTimeMillis
          const calls = yield* Effect.forEach(
            Array.from({ length: PendingCalls }, (_, i) => `p${i}`),
            (id) =>
              Effect.forkChild(
                Effect.gen(function* () {
                  const exit = yield* Effect.exit(B.beehive.sendSync("a1", msg(id), FailoverDeadlineMs))
                  return { id, exit, ended: yield* Clock.currentTimeMillis }
                })
              )
          )
          for (let i = 0; i < 200 && (yield* A.nats.pendingRequests) < PendingCalls; i++) yield* Effect.sleep(5)
          expect(yield* A.nats.pendingRequests).toBe(PendingCalls)
          const killed = yield* Clock.currentTimeMillis
          yield* Scope.close(n2.scope, Exit.void)
          for (const { id, exit, ended } of yield* Effect.forEach(calls, Fiber.join)) {
            expect(ended - started).toBeLessThan(FailoverDeadlineMs + 500)
            if (Exit.isSuccess(exit))
              expect([exit.value.header.parentId, exit.value.content]).toEqual([id, "late but in time"])
            else expect(["RequestDropped", "SyncTimeout"]).toContain((errorOf(exit) as { _tag: string })._tag)
          }
          // The caller's only configured server is dead: a call that succeeds went through another one.
          yield* B.nats.awaitModule("a1", "10 seconds")
          const after = yield* B.beehive.sendSync("a1", msg("after"), FailoverDeadlineMs)
          expect(after.content).toBe("late but in time")
          expect(B.events.filter((e) => e._tag === "ConnectionClosed")).toEqual([])
          // Reconnected and answered within a bound (not a speed target): the answer itself takes AnswerDelayMs.
          const working = (yield* Clock.currentTimeMillis) - killed
          expect(working).toBeLessThan(5000)
        })
      ),
    30_000
  )

  it(
    "R-NATS-8 a slow module: the serving side holds at most maxInbound, drops and reports the rest; a sync request is answered at once",
    () =>
      run(
        Effect.gen(function* () {
          const server = yield* startNatsServer
          const A = yield* proc(server.url, "t", 4)
          const B = yield* proc(server.url)
          yield* A.beehive.addModule("slow", { capacity: 2 })
          yield* A.nats.serve("slow")
          yield* awaitModule(B, "slow")
          for (let i = 0; i < 200; i++) yield* B.beehive.send("slow", msg(`f${i}`, i))
          const droppedNow = () => A.events.filter((e) => e._tag === "Undeliverable")
          for (let i = 0; i < 300 && droppedNow().length < 200 - 2 - 1 - 4; i++) yield* Effect.sleep(10)
          const dropped = droppedNow().map((e) => (e._tag === "Undeliverable" ? e.msgId : ""))
          // At most 2 in the mailbox, 1 in the delivering fiber's hands, 4 in the inbound queue.
          expect(dropped.length).toBeGreaterThanOrEqual(200 - 2 - 1 - 4)
          expect(new Set(dropped).size).toBe(dropped.length)
          // The mailbox fills up to its capacity, and no further.
          const queued = Effect.map(A.beehive.snapshot, (s) => s.modules.find((m) => m.name === "slow")?.queued)
          for (let i = 0; i < 100 && (yield* queued) !== 2; i++) yield* Effect.sleep(10)
          expect(yield* queued).toBe(2)
          // A sync request meeting a full inbound queue gets Go's error response, not a wait to the deadline.
          for (let i = 0; i < 20; i++) yield* B.beehive.send("slow", msg(`h${i}`, i))
          const answer = yield* B.beehive.sendSync("slow", msg("sq"), 5000)
          expect(answer.route.operation).toBe("error")
          expect(answer.content).toBe("inbound queue full")
          // What was kept is received in the order it was sent.
          const first = yield* A.beehive.receive("slow")
          const second = yield* A.beehive.receive("slow")
          expect(first.content as number).toBeLessThan(second.content as number)
        })
      ),
    20_000
  )

  it(
    "R-NATS-8 the sender's window: a slow module behind NATS loses nothing when the window fits its inbound queue",
    () =>
      run(
        Effect.gen(function* () {
          const server = yield* startNatsServer
          const A = yield* proc(server.url, "t", 32)
          const B = yield* proc(server.url, "t", undefined, false, 16)
          yield* A.beehive.addModule("slow", { capacity: 2 })
          yield* A.nats.serve("slow")
          yield* B.nats.awaitModule("slow", "5 seconds")
          const sending = yield* Effect.forkChild(
            Effect.gen(function* () {
              for (let i = 0; i < 300; i++) yield* B.beehive.send("slow", msg(`w${i}`, i))
            })
          )
          const got: Array<unknown> = []
          for (let i = 0; i < 300; i++) {
            got.push((yield* A.beehive.receive("slow")).content)
            if (i % 50 === 0) yield* Effect.sleep(5)
          }
          yield* Fiber.join(sending)
          expect(got).toEqual(Array.from({ length: 300 }, (_, i) => i))
          expect(A.events.filter((e) => e._tag === "Undeliverable")).toEqual([])
        })
      ),
    20_000
  )

  it(
    "R-NATS-8 a window no acknowledgement opens (a subscriber that is no beehive) is opened again after the silence limit, reported",
    () =>
      run(
        Effect.gen(function* () {
          const server = yield* startNatsServer
          const B = yield* proc(server.url, "t", undefined, false, 4)
          // A plain subscriber on the module's subject: it takes messages and never acknowledges them.
          let swallowed = 0
          const plain = yield* Effect.promise(() => connect({ servers: server.url }))
          yield* Effect.addFinalizer(() => Effect.promise(() => plain.close()))
          plain.subscribe(subjects("t").module("mute"), {
            callback: () => {
              swallowed++
            }
          })
          yield* Effect.promise(() => plain.flush())
          yield* B.beehive.addModule("mute", { contextType: "nats" })
          for (let i = 0; i < 10; i++) yield* B.beehive.send("mute", msg(`m${i}`))
          for (let i = 0; i < 100 && swallowed < 10; i++) yield* Effect.sleep(20)
          expect(swallowed).toBe(10)
          expect(B.events.filter((e) => e._tag === "WindowReset").length).toBeGreaterThanOrEqual(2)
        })
      ),
    20_000
  )

  it(
    "R-NATS-11 a message larger than the server's max_payload fails with MessageEncodeError, nothing published",
    () =>
      run(
        Effect.gen(function* () {
          const { B } = yield* pair
          const big = msg("big", "x".repeat(2 * 1024 * 1024))
          const exit = yield* Effect.exit(B.beehive.send("a1", big))
          expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("MessageEncodeError")
          const exitSync = yield* Effect.exit(B.beehive.sendSync("a1", big, 1000))
          expect(Exit.isFailure(exitSync) && JSON.stringify(exitSync.cause)).toContain("MessageEncodeError")
        })
      ),
    20_000
  )
})
