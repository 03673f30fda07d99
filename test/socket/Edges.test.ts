/**
 * Edge cases of the socket context: client-side handshake failures, Go-like peers that send
 * responses without a responder, misaddressed messages, limits, and the transports' error paths.
 */
import { Cause, Effect, Exit, Fiber, Layer, Result } from "effect"
import { describe, expect, it } from "vitest"
import { Beehive, makeHost } from "../../src/contexts/Beehive.ts"
import { ContextHost } from "../../src/contexts/ContextHost.ts"
import { encodeFrame, FrameDecoder } from "../../src/contexts/socket/FrameCodec.ts"
import { controlJson } from "../../src/contexts/socket/Handshake.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { MessageReader, parseIncoming } from "../../src/contexts/socket/MessageReader.ts"
import { nodeTransport } from "../../src/contexts/socket/NodeTransport.ts"
import { RemoteEndpoint } from "../../src/contexts/socket/RemoteEndpoint.ts"
import { formatAddress, hasTls, tcp, unix } from "../../src/contexts/socket/SocketAddress.ts"
import { parseSocketConfig } from "../../src/contexts/socket/SocketConfig.ts"
import {
  connectConfig,
  makeSocketContext,
  SocketContext,
  serveConfig
} from "../../src/contexts/socket/SocketContext.ts"
import { formatEvent, type SocketEvent } from "../../src/contexts/socket/SocketEvents.ts"
import { Transport } from "../../src/contexts/socket/Transport.ts"
import * as Message from "../../src/model/Message.ts"
import { encodeJsonResult } from "../../src/model/MessageJson.ts"
import { HandshakeRejected, SocketConfigError } from "../../src/model/SocketErrors.ts"
import { msg } from "../support/messages.ts"
import { makePair, makeSide, run, waitFor, waitForEffect } from "./support.ts"

const failure = <A, E>(exit: Exit.Exit<A, E>): any => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  return error?._tag === "Fail" ? error.error : Cause.squash(exit.cause)
}

const frame = (message: Message.Message, extra = "") => {
  const json = controlJson(message)
  return encodeFrame(extra === "" ? json : `${json.slice(0, -1)},${extra}}`)
}

/**
 * A fake server on a memory network: for each connection, reads the handshake and hands the request,
 * the connection and its reader to `script`.
 */
const fakeServer = (
  network: MemoryNetwork,
  path: string,
  script: (handshake: Message.Message, reader: MessageReader) => Effect.Effect<void, unknown>
) =>
  Effect.gen(function* () {
    const listener = yield* network.transport.listen(unix(path))
    yield* Effect.forkChild(
      Effect.forever(
        Effect.gen(function* () {
          const connection = yield* listener.accept
          const reader = new MessageReader(connection, new FrameDecoder())
          const [text] = yield* reader.next
          const handshake = Result.getOrThrow(parseIncoming("fake", text as string)).message
          yield* Effect.forkChild(Effect.ignore(script(handshake, reader)))
        })
      )
    )
  })

const exchange = (handshake: Message.Message, content: unknown) =>
  Effect.map(Message.newResponse(handshake, content), frame)

describe("socket context edge cases", () => {
  it("R-SOCK-5 a client rejects answers that are not the exchange, and reports a rejection", () =>
    run(
      Effect.gen(function* () {
        const network = new MemoryNetwork()
        let n = 0
        yield* fakeServer(network, "/fake", (handshake, reader) =>
          Effect.gen(function* () {
            const answers = [
              encodeFrame("{broken"),
              frame(Message.make({ header: { id: "other", parentId: "not-the-handshake", timestamp: 1 } })),
              frame(yield* Message.newErrorResponse(handshake, "go away")),
              yield* exchange(handshake, { modules: "A" }),
              yield* exchange(handshake, { modules: null, groups: null })
            ]
            yield* reader.connection.write(answers[n++ % answers.length] as Uint8Array)
            yield* Effect.never
          })
        )
        const c = yield* makeSide(network.transport)
        yield* c.beehive.addModule("X")
        const client = yield* c.socket.connect({ module: "X", address: unix("/fake"), backoff: { initial: 1, max: 2 } })
        expect(yield* client.connected).toEqual({ modules: [], groups: {} })
        const reasons = c.events.filter((e) => e._tag === "Retrying").map((e) => (e as { reason: string }).reason)
        expect(reasons).toHaveLength(4)
        expect(reasons[0]).toContain("(Json)")
        expect(reasons[1]).toContain("expected the answer to handshake")
        expect(reasons[2]).toBe('/fake rejected module "X": go away')
        expect(reasons[3]).toContain("(Exchange)")
        expect(new HandshakeRejected({ module: "X", peer: "p", reason: "r" }).message).toBe('p rejected module "X": r')
      })
    ))

  it("R-SOCK-5 a client gives up on a server that does not answer in time, and a server on a client that sends two messages first", () =>
    run(
      Effect.gen(function* () {
        const network = new MemoryNetwork()
        yield* fakeServer(network, "/mute", () => Effect.never)
        const c = yield* makeSide(network.transport)
        yield* c.beehive.addModule("X")
        yield* c.socket.connect({
          module: "X",
          address: unix("/mute"),
          handshakeTimeout: 5,
          backoff: { initial: 1000 }
        })
        yield* waitFor(() => c.events.some((e) => e._tag === "Retrying"), "a retry")
        expect((c.events[0] as { reason: string }).reason).toContain("no handshake answer in time")
        const { network: net2, address, s } = yield* makePair()
        const raw = yield* net2.transport.connect(address)
        const hs = Message.make({
          header: { id: "hs", timestamp: 1, sync: true },
          route: { source: "X", operation: "add", resource: "module" }
        })
        yield* raw.write(Buffer.concat([frame(hs), frame(msg("early"))]))
        yield* waitFor(() => s.events.some((e) => e._tag === "Refused"), "the refusal")
        expect((s.events.find((e) => e._tag === "Refused") as { reason: string }).reason).toContain(
          "messages sent before the handshake answer"
        )
      })
    ))

  it("R-SOCK-9 responses from a Go-like peer without a responder are attributed to the one module the request went to", () =>
    run(
      Effect.gen(function* () {
        const network = new MemoryNetwork()
        yield* fakeServer(network, "/go", (handshake, reader) =>
          Effect.gen(function* () {
            yield* reader.connection.write(
              yield* exchange(handshake, { modules: ["A", "B"], groups: { g: ["A", "B"] } })
            )
            while (true) {
              for (const text of yield* reader.next) {
                const request = Result.getOrThrow(parseIncoming("fake", text)).message
                const answer = yield* Message.newResponse(request, request.route.destination)
                // No responder key (Go); for "named", a responder that is not one of the link's modules.
                const extra = request.content === "named" ? '"responder":"stranger"' : ""
                yield* reader.connection.write(frame(answer, extra))
              }
            }
          })
        )
        const c = yield* makeSide(network.transport)
        yield* c.beehive.addModule("X")
        yield* (yield* c.socket.connect({ module: "X", address: unix("/go") })).connected
        expect((yield* c.beehive.sendSync("A", msg("q1"), 5000)).content).toBe("A")
        expect((yield* c.beehive.sendSync("B", msg("q2", "named"), 5000)).content).toBe("B")
        // Two members on one connection: without responders the answers are unattributed (R-GSYNC-6).
        const result = yield* c.beehive.sendToGroupSync("g", msg("q3"), 5000)
        expect(result.responses.size).toBe(0)
        expect(result.anonymous.map((r) => r.content).sort()).toEqual(["A", "B"])
      })
    ))

  it("R-SOCK-10 messages without a destination, or addressed to the sender's own modules, are refused with an error response", () =>
    run(
      Effect.gen(function* () {
        const network = new MemoryNetwork()
        const answers: Array<Message.Message> = []
        yield* fakeServer(network, "/rude", (handshake, reader) =>
          Effect.gen(function* () {
            yield* reader.connection.write(yield* exchange(handshake, { modules: ["A"] }))
            for (const [id, destination] of [
              ["nowhere", ""],
              ["self", "A"]
            ] as const) {
              yield* reader.connection.write(
                frame(Message.make({ header: { id, timestamp: 1, sync: true }, route: { destination } }))
              )
            }
            while (answers.length < 2) {
              for (const text of yield* reader.next)
                answers.push(Result.getOrThrow(parseIncoming("fake", text)).message)
            }
          })
        )
        const c = yield* makeSide(network.transport)
        yield* c.beehive.addModule("X")
        yield* (yield* c.socket.connect({ module: "X", address: unix("/rude") })).connected
        yield* waitFor(() => answers.length === 2, "two error responses")
        expect(answers.map((a) => [a.header.parentId, a.route.operation, a.content])).toEqual([
          ["nowhere", "error", "the message has no destination"],
          ["self", "error", "the destination is a module of the sender"]
        ])
      })
    ))

  it("R-SOCK-10 a module cleaned up while a message waits for room in it: the sync sender gets an error response", () =>
    run(
      Effect.gen(function* () {
        const { s, c } = yield* makePair({ capacity: 1 })
        yield* c.beehive.send("A", msg("fill"))
        const call = yield* Effect.forkChild(c.beehive.sendSync("A", msg("blocked"), 5000))
        yield* waitForEffect(s.beehive.snapshot, (x) => x.modules[0]?.waitingSenders === 1, "the delivery to wait")
        yield* s.beehive.cleanup("A")
        const answer = yield* Fiber.join(call)
        expect([answer.route.operation, answer.content]).toEqual(["error", 'module "A" was cleaned up'])
      })
    ))

  it("R-SOCK-9 a response too large for a frame becomes an error response; forgotten requests are reported and not answered", () =>
    run(
      Effect.gen(function* () {
        const { s, c } = yield* makePair({ socket: { maxFrameBytes: 2000, maxPendingRequests: 1 } })
        const first = yield* Effect.forkChild(Effect.exit(c.beehive.sendSync("A", msg("r1"), 200)))
        const r1 = yield* s.beehive.receive("A")
        const second = yield* Effect.forkChild(c.beehive.sendSync("A", msg("r2"), 5000))
        const r2 = yield* s.beehive.receive("A")
        // r1 was forgotten when r2 came (one request remembered): its answer goes nowhere.
        expect(yield* s.beehive.sendResp(yield* Message.newResponse(r1, "late"), "A")).toBe(false)
        expect(s.events.find((e) => e._tag === "RequestForgotten")).toMatchObject({ msgId: "r1" })
        expect(formatEvent(s.events.find((e) => e._tag === "RequestForgotten") as SocketEvent)).toContain(
          "request r1 forgotten"
        )
        expect(yield* s.beehive.sendResp(yield* Message.newResponse(r2, "y".repeat(5000)), "A")).toBe(true)
        const answer = yield* Fiber.join(second)
        expect(answer.route.operation).toBe("error")
        expect(answer.content).toMatch(/^response of 5\d{3} bytes exceeds the frame limit of 2000$/)
        expect(failure(yield* Fiber.join(first))).toMatchObject({ _tag: "SyncTimeout" })
      })
    ))

  it("R-SOCK-9 a response that fills a frame exactly, responder included, arrives; one byte more does not", () =>
    run(
      Effect.gen(function* () {
        const { s, c } = yield* makePair({ socket: { maxFrameBytes: 2000 } })
        const framed = (response: Message.Message) => {
          const json = encodeJsonResult(response)
          if (json._tag === "Failure") throw json.failure
          return Buffer.byteLength(`${json.success.slice(0, -1)},"responder":"A"}`)
        }
        for (const extra of [0, 1]) {
          const call = yield* Effect.forkChild(c.beehive.sendSync("A", msg(`q${extra}`), 5000))
          const request = yield* s.beehive.receive("A")
          const probe = yield* Message.newResponse(request, "")
          const content = "y".repeat(2000 - framed(probe) + extra)
          const response = yield* Message.newResponse(request, content)
          expect(framed(response)).toBe(2000 + extra)
          expect(yield* s.beehive.sendResp(response, "A")).toBe(true)
          const answer = yield* Fiber.join(call)
          expect(answer.content).toBe(extra === 0 ? content : "response of 2001 bytes exceeds the frame limit of 2000")
        }
      })
    ))

  it("R-SOCK-11 requests whose calls ended are pruned from the in-flight set", () =>
    run(
      Effect.gen(function* () {
        const { s, c } = yield* makePair({ capacity: 4096 })
        const burst = (prefix: string) =>
          Effect.forEach(
            Array.from({ length: 1100 }, (_, i) => i),
            (i) => Effect.exit(c.beehive.sendSync("A", msg(`${prefix}${i}`), 30)),
            { concurrency: "unbounded" }
          )
        yield* burst("a")
        yield* burst("b")
        const snap = yield* c.beehive.snapshot
        expect(snap.pendingCalls).toEqual([])
        yield* waitForEffect(s.beehive.snapshot, (x) => x.modules[0]?.queued === 2200, "every request to arrive")
        // Closing now reports no request: every call has ended.
        const report = yield* c.beehive.cleanup("A")
        expect(report.undelivered).toEqual([])
      })
    ))

  it("R-SOCK-17 R-SEND-2 a sender waiting for room in a remote outbox is admitted the moment the writer takes, and resumes later for a send, at once for a sync request", () => {
    const endpoint = new RemoteEndpoint(
      "R",
      1,
      1000,
      () => false,
      () => {}
    )
    const now: Array<unknown> = []
    const later: Array<unknown> = []
    const settle = Object.assign((e: Exit.Exit<void, unknown>) => now.push(e), {
      later: (e: Exit.Exit<void, unknown>) => later.push(e)
    })
    expect(endpoint.offerNow(msg("1"))).toBe(true)
    expect(typeof endpoint.armOffer(msg("2"), "later")(settle)).toBe("function")
    expect(endpoint.takeOutgoing()?.message.header.id).toBe("1")
    // Admitted at once (it holds its place), woken from a scheduler task: the writer goes on taking.
    expect(endpoint.queued).toBe(1)
    expect([now, later]).toEqual([[], [Exit.void]])
    expect(typeof endpoint.armOffer(msg("3"), "now")(settle)).toBe("function")
    expect(endpoint.takeOutgoing()?.message.header.id).toBe("2")
    expect([now, later]).toEqual([[Exit.void], [Exit.void]])
    expect(endpoint.takeOutgoing()?.message.header.id).toBe("3")
  })

  it("R-SOCK-8 a remote endpoint closed twice, and receive on a closed one", () => {
    const endpoint = new RemoteEndpoint(
      "R",
      1,
      100,
      () => false,
      () => {}
    )
    expect(endpoint.offerNow(Message.make({ header: { id: "1" }, route: { destination: "R" } }))).toBe(true)
    expect(endpoint.offerNow(msg("2"))).toBe(false)
    expect(endpoint.close().map((m) => m.header.id)).toEqual(["1"])
    expect(endpoint.close()).toEqual([])
    const armed = endpoint.armTake()(() => {})
    expect(typeof armed !== "function" && Exit.isFailure(armed)).toBe(true)
    expect(endpoint.takeNow()).toBeUndefined()
    expect(endpoint.isOpen).toBe(false)
  })

  it("R-SOCK-16 R-API-5 configs drive servers and clients; the layers build a socket Beehive; a socket context exists only plugged in, once per global context", () =>
    run(
      Effect.gen(function* () {
        const network = new MemoryNetwork()
        const config = Result.getOrThrow(
          parseSocketConfig(
            "- module: srv\n  server: true\n  address: /cfg\n  sockettype: null\n  connmax: null\n- module: cli\n  address: /cfg\n  framing: ndjson\n  server: null"
          )
        )
        const program = Effect.gen(function* () {
          const socket = yield* SocketContext
          const beehive = yield* Beehive
          yield* beehive.addModule("A")
          const servers = yield* serveConfig(socket, config)
          expect(servers).toHaveLength(1)
          // The client process.
          const c = yield* makeSide(network.transport)
          yield* c.beehive.addModule("cli")
          const client = yield* connectConfig(c.socket, config, "cli")
          expect((yield* client.connected).modules).toEqual(["A"])
          expect(yield* c.socket.connections).toEqual([{ peer: "/cfg", modules: ["A"] }])
          expect(failure(yield* Effect.exit(connectConfig(socket, config, "nobody")))).toBeInstanceOf(SocketConfigError)
        })
        yield* program.pipe(
          Effect.provide(
            SocketContext.layer().pipe(
              Layer.provide(Layer.succeed(Transport, network.transport)),
              Layer.provideMerge(Beehive.layer)
            )
          )
        )
        // A socket context is built over the host of a global context and plugged into it at once: it
        // serves from the start. A second "socket" context type for the same global context is refused.
        const host = yield* makeHost()
        const overHost = Effect.provideService(ContextHost, host)
        const socket = yield* makeSocketContext().pipe(Effect.provideService(Transport, network.transport), overHost)
        expect(Exit.isSuccess(yield* Effect.exit(socket.serve({ address: unix("/x"), accept: [] })))).toBe(true)
        const second = makeSocketContext().pipe(Effect.provideService(Transport, network.transport), overHost)
        expect(yield* Effect.flip(second)).toMatchObject({
          _tag: "InvalidArgument",
          operation: "plug",
          argument: "context type"
        })
        yield* host.beehive.shutdown
        expect(yield* Effect.flip(second)).toMatchObject({ _tag: "BeehiveShutdown", operation: "plug" })
        expect(typeof SocketContext.layerNode()).toBe("object")
      })
    ))

  it("R-SOCK-4 the memory transport's closed ends fail reads, writes, accepts and connects", () =>
    run(
      Effect.gen(function* () {
        const network = new MemoryNetwork(16)
        const listener = yield* network.transport.listen(unix("/m"))
        expect(failure(yield* Effect.exit(network.transport.listen(unix("/m"))))).toMatchObject({ reason: "InUse" })
        const client = yield* network.transport.connect(unix("/m"))
        const pending = yield* network.transport.connect(unix("/m"))
        const server = yield* listener.accept
        // A writer past the capacity waits until the reader takes; then a closed reader fails it.
        const writer = yield* Effect.forkChild(Effect.exit(client.write(new Uint8Array(32))))
        expect((yield* server.read)[0]?.length).toBe(32)
        yield* Fiber.join(writer)
        const blocked = yield* Effect.forkChild(Effect.exit(client.write(new Uint8Array(32))))
        const reading = yield* Effect.forkChild(Effect.exit(client.read))
        yield* Effect.yieldNow
        yield* server.close
        expect(failure(yield* Fiber.join(blocked))).toMatchObject({ _tag: "ConnectionClosed" })
        expect(failure(yield* Fiber.join(reading))).toMatchObject({ _tag: "ConnectionClosed" })
        expect(failure(yield* Effect.exit(server.read))).toMatchObject({ _tag: "ConnectionClosed" })
        expect(failure(yield* Effect.exit(client.write(Uint8Array.of(1))))).toMatchObject({ _tag: "ConnectionClosed" })
        // `pending` was never accepted: closing the listener closes it.
        yield* listener.close
        expect(failure(yield* Effect.exit(pending.read))).toMatchObject({ _tag: "ConnectionClosed" })
        expect(failure(yield* Effect.exit(listener.accept))).toMatchObject({ _tag: "ConnectionClosed" })
        expect(failure(yield* Effect.exit(network.transport.connect(unix("/m"))))).toMatchObject({
          code: "ECONNREFUSED"
        })
        yield* listener.close
      })
    ))

  it("R-SOCK-15 unreadable TLS material fails the connect; closed node connections fail reads and writes", () =>
    run(
      Effect.gen(function* () {
        const bad = yield* Effect.exit(nodeTransport.connect(tcp("127.0.0.1", 1), { ca: "/no/such/ca.pem" }))
        expect(failure(bad)).toMatchObject({ _tag: "ConnectFailed", code: "ENOENT" })
        const listener = yield* nodeTransport.listen(tcp("127.0.0.1", 0))
        const client = yield* nodeTransport.connect(listener.address)
        const server = yield* listener.accept
        yield* client.write(new Uint8Array(4 << 20))
        let got = 0
        while (got < 4 << 20) for (const chunk of yield* server.read) got += chunk.length
        yield* client.close
        yield* client.close
        expect(failure(yield* Effect.exit(client.write(Uint8Array.of(1))))).toMatchObject({ _tag: "ConnectionClosed" })
        expect(failure(yield* Effect.exit(client.read))).toMatchObject({ _tag: "ConnectionClosed" })
        expect(failure(yield* Effect.exit(server.read))).toMatchObject({ _tag: "ConnectionClosed" })
        expect(formatEvent({ _tag: "Listening", address: "a" })).toBe("socket server listening on a")
      })
    ))

  it("R-SOCK-3 R-SOCK-9 a TCP address over the memory transport, an NDJSON-only server, and responses sent without a responder", () =>
    run(
      Effect.gen(function* () {
        const network = new MemoryNetwork()
        const s = yield* makeSide(network.transport)
        for (const m of ["A", "B"]) {
          yield* s.beehive.addModule(m)
          yield* s.beehive.addModuleGroup(m, "g")
          // Answers without naming itself, outside a registry module: unattributed.
          yield* Effect.forkChild(
            Effect.forever(
              Effect.flatMap(s.beehive.receive(m), (r) =>
                Effect.flatMap(Message.newResponse(r, m), (resp) => s.beehive.sendResp(resp))
              )
            )
          )
        }
        const server = yield* s.socket.serve({ address: tcp("localhost", 9), accept: ["X"], framing: "ndjson" })
        expect(server.address).toEqual(tcp("localhost", 9))
        const c = yield* makeSide(network.transport)
        yield* c.beehive.addModule("X")
        const client = yield* c.socket.connect({ module: "X", address: tcp("localhost", 9), framing: "ndjson" })
        yield* client.connected
        // One destination: the response is attributed to it. Two: the answers are anonymous.
        expect((yield* c.beehive.sendSync("A", msg("one"), 5000)).content).toBe("A")
        const result = yield* c.beehive.sendToGroupSync("g", msg("two"), 5000)
        expect(result.responses.size + result.anonymous.length).toBe(2)
        expect(result.anonymous.length).toBeGreaterThan(0)
        yield* server.close
        yield* server.close
      })
    ))

  it("R-SOCK-16 addresses print as host:port, [v6]:port or the path; TLS counts only when material is given", () => {
    expect(formatAddress(tcp("::1", 80))).toBe("[::1]:80")
    expect(formatAddress(tcp("h", 1))).toBe("h:1")
    expect(formatAddress(unix("/p"))).toBe("/p")
    expect(hasTls(undefined)).toBe(false)
    expect(hasTls({ ca: "" })).toBe(false)
    expect(hasTls({ ca: "x" })).toBe(true)
  })

  it("R-SOCK-4 closing a memory connection twice is harmless; its own reads fail after it", () =>
    run(
      Effect.gen(function* () {
        const network = new MemoryNetwork()
        const listener = yield* network.transport.listen(unix("/twice"))
        const client = yield* network.transport.connect(unix("/twice"))
        const server = yield* listener.accept
        yield* server.write(Uint8Array.of(1))
        yield* client.close
        yield* client.close
        expect(failure(yield* Effect.exit(client.read))).toMatchObject({ detail: "closed here" })
        expect(failure(yield* Effect.exit(server.write(Uint8Array.of(2))))).toMatchObject({ _tag: "ConnectionClosed" })
        expect(failure(yield* Effect.exit(server.read))).toMatchObject({ detail: "the peer closed the connection" })
      })
    ))
})
