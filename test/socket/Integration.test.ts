/**
 * The socket context across real processes: a child process (test/socket/fixtures/server.mjs, built
 * from dist/) serves modules; this process connects to it over a unix socket or TCP loopback.
 */

import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Fiber } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { nodeTransport } from "../../src/contexts/socket/NodeTransport.ts"
import { type SocketAddress, tcp, unix } from "../../src/contexts/socket/SocketAddress.ts"
import * as Message from "../../src/model/Message.ts"
import { msg } from "../support/messages.ts"
import { type ChildServer, ensureBuilt, kill, startServer } from "./child.ts"
import { makeSide, rawSocket, run, type Side, waitFor, waitForEffect } from "./support.ts"

const failure = <A, E>(exit: Exit.Exit<A, E>): any => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  return error?._tag === "Fail" ? error.error : undefined
}

const responder = (side: Side, module: string, answer: (m: Message.Message) => unknown) =>
  Effect.forkChild(
    Effect.forever(
      Effect.gen(function* () {
        const request = yield* side.beehive.receive(module)
        if (request.header.sync) {
          yield* side.beehive.sendResp(yield* Message.newResponse(request, answer(request)), module)
        }
      })
    )
  )

const start = (config: Record<string, unknown>) => Effect.promise(() => startServer(config))
const stop = (server: ChildServer, signal?: NodeJS.Signals) => Effect.promise(() => kill(server, signal))

/** A client process side: a Beehive with module `module`, connected to `address`. */
const clientSide = (module: string, address: SocketAddress, extra: Record<string, unknown> = {}) =>
  Effect.gen(function* () {
    const side = yield* makeSide(nodeTransport)
    yield* side.beehive.addModule(module)
    const client = yield* side.socket.connect({ module, address, backoff: { initial: 20, max: 200 }, ...extra })
    yield* client.connected
    return { side, client }
  })

const variants = [
  {
    name: "unix socket",
    config: () => ({ type: "unix", address: join(mkdtempSync(join(tmpdir(), "bh-it-")), "beehive.sock") })
  },
  { name: "TCP loopback", config: () => ({ type: "tcp" }) }
] as const

const addressOf = (server: ChildServer): SocketAddress =>
  server.address._tag === "Unix" ? unix(server.address.path) : tcp(server.address.host, server.address.port)

beforeAll(() => ensureBuilt(), 120_000)

describe.each(variants)("socket context across processes over a $name", ({ config }) => {
  it("R-SOCK-8 R-SOCK-9 R-SOCK-7 every operation works on modules in another process", () =>
    run(
      Effect.gen(function* () {
        const server = yield* start(config())
        yield* Effect.addFinalizer(() => stop(server))
        const { side } = yield* clientSide("X", addressOf(server))
        const { beehive } = side
        // send, and receive of what the other process sends back
        yield* beehive.send("A", msg("s1", "send-back"))
        expect((yield* beehive.receive("X")).content).toBe("back")
        // sendSync
        const answer = yield* beehive.sendSync("A", msg("q1", "hello"), 10_000)
        expect(answer.content).toEqual({ echo: "hello", by: "A" })
        expect(answer.header.parentId).toBe("q1")
        // sendResp: the other process's module asks X, X answers
        yield* beehive.send("A", msg("s2", "ask-x"))
        const question = yield* beehive.receive("X")
        expect(question).toMatchObject({ header: { sync: true }, route: { source: "A", destination: "X" } })
        expect(yield* beehive.sendResp(yield* Message.newResponse(question, `x:${question.content}`), "X")).toBe(true)
        expect((yield* beehive.receive("X")).content).toEqual({ asked: "x:question" })
        // sendToGroup and sendToGroupSync over a group mixing remote (A, B) and local (L) members
        yield* beehive.addModule("L")
        yield* beehive.addModuleGroup("L", "g")
        expect(yield* beehive.sendToGroup("g", msg("b1", "broadcast"))).toEqual({
          delivered: ["A", "B", "L"],
          gone: []
        })
        expect((yield* beehive.receive("L")).header.id).toBe("b1")
        yield* responder(side, "L", () => "L")
        const group = yield* beehive.sendToGroupSync("g", msg("gs1", "all"), 10_000)
        expect(new Map([...group.responses].map(([m, r]) => [m, r.content]))).toEqual(
          new Map<string, unknown>([
            ["A", { echo: "all", by: "A" }],
            ["B", "B"],
            ["L", "L"]
          ])
        )
        // cleanup of a remote module here
        const report = yield* beehive.cleanup("A")
        expect(report.groups).toEqual(["g"])
        expect(failure(yield* Effect.exit(beehive.send("A", msg("gone"))))).toMatchObject({ _tag: "ModuleNotFound" })
        expect((yield* beehive.sendSync("B", msg("q2", "still"), 10_000)).content).toBe("B")
        expect((yield* beehive.snapshot).pendingCalls).toEqual([])
      })
    ))

  it("R-SOCK-21 R-SOCK-6 later clients of a module refused (takeover: first) while the other process sends to it: the first client receives every message, in order", () =>
    run(
      Effect.gen(function* () {
        const server = yield* start({ ...config(), takeover: "first" })
        yield* Effect.addFinalizer(() => stop(server))
        const address = addressOf(server)
        const { side } = yield* clientSide("X", address)
        const n = 2000
        const received: Array<string> = []
        yield* Effect.forkScoped(
          Effect.forever(Effect.map(side.beehive.receive("X"), (m) => received.push(m.header.id)))
        )
        // The other process sends one message to X for each of these, while the later clients connect.
        const asking = yield* Effect.forkChild(
          Effect.forEach(
            Array.from({ length: n }, (_, i) => i),
            (i) => side.beehive.send("A", msg(`r${i}`, "send-back")),
            { discard: true }
          )
        )
        // Once the traffic flows, so that the first client reads while their handshakes wait.
        yield* waitFor(() => received.length >= n / 10, "the first messages received", 10_000)
        const refused = yield* Effect.forEach(
          [1, 2, 3],
          () =>
            Effect.exit(
              Effect.scoped(
                Effect.flatMap(
                  side.socket.connect({ module: "X", address, maxAttempts: 1 }),
                  (client) => client.connected
                )
              )
            ),
          { concurrency: "unbounded" }
        )
        yield* Fiber.join(asking)
        yield* waitFor(
          () => received.length >= n,
          () => `${n} messages received (${received.length})`,
          10_000
        )
        expect(refused.every(Exit.isFailure)).toBe(true)
        expect(received).toEqual(Array.from({ length: n }, (_, i) => `back-r${i}`))
      })
    ))

  it("R-SOCK-11 kill -9 of the peer mid-sendSync fails the call at once with RequestDropped", () =>
    run(
      Effect.gen(function* () {
        const server = yield* start(config())
        yield* Effect.addFinalizer(() => stop(server))
        const { side } = yield* clientSide("X", addressOf(server), { backoff: { initial: 60_000 } })
        const call = yield* Effect.forkChild(Effect.exit(side.beehive.sendSync("slow", msg("pending"), 60_000)))
        yield* waitForEffect(side.beehive.snapshot, (s) => s.pendingCalls.includes("pending"), "the call")
        const started = performance.now()
        yield* stop(server, "SIGKILL")
        const exit = yield* Fiber.join(call)
        expect(performance.now() - started).toBeLessThan(10_000)
        expect(failure(exit)).toMatchObject({ _tag: "RequestDropped", msgId: "pending", module: "slow" })
        expect((yield* side.beehive.snapshot).modules.map((m) => m.name)).toEqual(["X"])
      })
    ))

  it("R-SOCK-12 R-SOCK-14 a restarted server is reconnected to, and its modules come back", () =>
    run(
      Effect.gen(function* () {
        const settings = config()
        const first = yield* start(settings)
        const address = addressOf(first)
        const { side, client } = yield* clientSide("X", address)
        expect((yield* side.beehive.sendSync("A", msg("before"), 10_000)).content).toMatchObject({ echo: "before" })
        yield* stop(first, "SIGKILL")
        yield* waitFor(() => side.events.some((e) => e._tag === "Disconnected"), "the disconnect", 10_000)
        // Same address: the unix socket file left by the killed server is stale and is replaced.
        const second = yield* start(address._tag === "Tcp" ? { ...settings, port: address.port } : settings)
        yield* Effect.addFinalizer(() => stop(second))
        yield* waitForEffect(client.connections, (n) => n === 2, "the reconnection", 15_000)
        yield* client.connected
        expect((yield* side.beehive.sendSync("A", msg("after"), 10_000)).content).toMatchObject({ echo: "after" })
        expect(side.events.some((e) => e._tag === "Retrying")).toBe(true)
      })
    ))

  it(
    "R-SOCK-17 a slow consumer pushes back on the sender; other connections keep flowing; nothing is lost",
    () =>
      run(
        Effect.gen(function* () {
          const server = yield* start(config())
          yield* Effect.addFinalizer(() => stop(server))
          const address = addressOf(server)
          const { side } = yield* clientSide("X", address)
          const { side: other } = yield* clientSide("Y", address)
          // "gate" does not receive until it is opened: its mailbox, the backlog and the socket buffers
          // fill up, then senders wait.
          const ids: Array<string> = []
          let waiting: string | undefined
          const sender = yield* Effect.forkChild(
            Effect.gen(function* () {
              for (let i = 0; ; i++) {
                const id = `g${i}`
                waiting = id
                yield* side.beehive.send("gate", msg(id, "x".repeat(200)))
                ids.push(id)
              }
            })
          )
          yield* waitForEffect(
            side.beehive.snapshot,
            (s) => (s.modules.find((m) => m.name === "gate")?.waitingSenders ?? 0) > 0,
            "the sender to wait",
            30_000
          )
          const sent = ids.length
          expect(sent).toBeGreaterThan(1024)
          // The other connection is not held up.
          expect((yield* other.beehive.sendSync("A", msg("y1", "other"), 10_000)).content).toMatchObject({ by: "A" })
          yield* Fiber.interrupt(sender)
          // The send interrupted while it waited was withdrawn, or admitted before the interruption took
          // effect and so delivered (R-SEND-3).
          const interrupted = waiting !== undefined && waiting !== ids.at(-1) ? waiting : undefined
          yield* other.beehive.sendSync("gatekeeper", msg("open", "open"), 10_000)
          const seen = yield* waitForEffect(
            Effect.map(
              other.beehive.sendSync("gatekeeper", msg(`count-${Math.random()}`, "count"), 10_000),
              (m) => m.content as Array<string>
            ),
            (list) => list.length >= ids.length,
            "the gate to drain",
            30_000
          )
          if (interrupted !== undefined && seen.length === ids.length + 1) expect(seen).toEqual([...ids, interrupted])
          else expect(seen).toEqual(ids)
        })
      ),
    60_000
  )

  it("R-SOCK-4 R-SOCK-3 a peer sending garbage is disconnected while a well-behaved one next to it works", () =>
    run(
      Effect.gen(function* () {
        const server = yield* start(config())
        yield* Effect.addFinalizer(() => stop(server))
        const address = addressOf(server)
        const { side } = yield* clientSide("X", address)
        const garbage = rawSocket(address)
        garbage.socket.write(Buffer.from("beeh\x00\x00garbage garbage garbage", "latin1"))
        // A Go-like peer: NDJSON, handshake, then a sync request, one JSON object per line.
        const goPeer = rawSocket(address)
        goPeer.socket.write(
          '{"header":{"msg_id":"hs-1","timestamp":1,"sync":true,"type":"unixpacket"},"route":{"source":"Y","operation":"add","resource":"module"},"content":""}\n'
        )
        yield* waitFor(() => goPeer.state.data.includes("\n"), "the handshake answer", 10_000)
        goPeer.socket.write(
          '{"header":{"msg_id":"q-1","timestamp":1,"sync":true},"route":{"source":"Y","destination":"A"},"content":"from go"}\n'
        )
        const answer = yield* side.beehive.sendSync("A", msg("q-x", "from x"), 10_000)
        expect(answer.content).toEqual({ echo: "from x", by: "A" })
        yield* waitFor(() => goPeer.state.data.split("\n").length >= 3, "the Go peer's answer", 10_000)
        const [exchange, response] = goPeer.state.data
          .split("\n")
          .map((line) => (line === "" ? null : JSON.parse(line)))
        expect(exchange.header.parent_msg_id).toBe("hs-1")
        expect(exchange.content.modules).toContain("A")
        expect(response).toMatchObject({
          header: { parent_msg_id: "q-1" },
          content: { echo: "from go", by: "A" },
          responder: "A"
        })
        yield* waitFor(() => garbage.state.closed, "the garbage peer to be disconnected", 10_000)
        expect(goPeer.state.closed).toBe(false)
        expect(server.log()).toContain("BadVersion")
        goPeer.socket.destroy()
      })
    ))
})
