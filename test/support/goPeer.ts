/**
 * A Go beehive peer over a real SOCK_SEQPACKET socket (R-SOCK-30..32), written with node-unix-socket
 * directly, below this library's transport, speaking exactly the byte sequences of Go's socket
 * context (spec/SPEC.md quotes them): its raw writer's one `json.Encoder` line per packet, its
 * handshake, its `Send`/`SendSync` stamping (`type: "unixpacket"`, destination the client module) and
 * its `NewRespByMessage` + `SendResp` answers. Shared by the Go peer examples and properties.
 */
import { mkdtempSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, type Scope } from "effect"
import { expect } from "vitest"
import { nodeTransport } from "../../src/contexts/socket/NodeTransport.ts"
import { unixPacket } from "../../src/contexts/socket/SocketAddress.ts"
import * as Message from "../../src/model/Message.ts"
import { makeSide, type Side, waitFor } from "../socket/support.ts"

export interface PacketSocket {
  on(event: "data", f: (b: Buffer) => void): void
  on(event: "close" | "end" | "connect", f: () => void): void
  on(event: "error", f: (e: Error) => void): void
  connect(path: string, cb?: () => void): void
  write(b: Buffer): void
  destroy(): void
}
export const { SeqpacketServer, SeqpacketSocket } = createRequire(import.meta.url)("node-unix-socket") as {
  SeqpacketServer: new () => {
    on(event: "connection", f: (s: PacketSocket) => void): void
    listen(path: string): void
    close(): void
  }
  SeqpacketSocket: new () => PacketSocket
}

/** A Go peer's end of one connection: every packet it read, as text, and a writer of one packet. */
export interface GoEnd {
  readonly packets: Array<string>
  readonly write: (text: string) => void
  closed: boolean
}

export const goEnd = (socket: PacketSocket): GoEnd => {
  const end: GoEnd = { packets: [], write: (text) => socket.write(Buffer.from(text)), closed: false }
  socket.on("data", (b) => end.packets.push(b.toString("utf8")))
  // Go's reader fails at the end of the connection, and Go closes its side.
  socket.on("end", () => {
    end.closed = true
    socket.destroy()
  })
  socket.on("close", () => {
    end.closed = true
  })
  socket.on("error", () => {})
  return end
}

/** Each packet holds exactly one message: Go's raw reader unmarshals one read, and fails on two. */
export const parsed = (end: GoEnd): Array<any> =>
  end.packets.map((p) => {
    expect(p.endsWith("}\n") || p.endsWith("}")).toBe(true)
    return JSON.parse(p)
  })

export const socketPath = () => join(mkdtempSync(join(tmpdir(), "beehive-go-")), "go.sock")

/** A Go client's end, connected to `path`. */
export const goClient = (path: string): Effect.Effect<GoEnd, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ socket: PacketSocket; end: GoEnd }>((resume) => {
      const socket = new SeqpacketSocket()
      const end = goEnd(socket)
      socket.connect(path, () => resume(Effect.succeed({ socket, end })))
    }),
    ({ socket }) => Effect.sync(() => socket.destroy())
  ).pipe(Effect.map(({ end }) => end))

/** A Go server listening on `path`: its ends, one per accepted connection. */
export const goServer = (path: string): Effect.Effect<Array<GoEnd>, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const server = new SeqpacketServer()
      const ends: Array<GoEnd> = []
      const sockets: Array<PacketSocket> = []
      server.on("connection", (socket) => {
        sockets.push(socket)
        ends.push(goEnd(socket))
      })
      server.listen(path)
      return { server, ends, sockets }
    }),
    ({ server, sockets }) =>
      Effect.sync(() => {
        for (const s of sockets) s.destroy()
        server.close()
      })
  ).pipe(Effect.map(({ ends }) => ends))

// Go's bytes, as its context writes them (spec/SPEC.md, R-SOCK-30..32).
export const goHandshake =
  '{"header":{"msg_id":"hs-1","timestamp":1,"sync":true,"type":"unixpacket"},"route":{"source":"cli","operation":"add","resource":"module"},"content":""}\n'
export const goSend = (id: string, destination: string, content: string, sync = false) =>
  `{"header":{"msg_id":"${id}","timestamp":1795338145513${sync ? ',"sync":true' : ""},"type":"unixpacket"},"route":{"source":"cli","destination":"${destination}","operation":"update","resource":"res"},"content":"${content}"}\n`
/** Go's `NewRespByMessage(request, content)` then `SendResp`: source copied, destination = source. */
export const goResponse = (id: string, request: any, content: string) =>
  `{"header":{"msg_id":"${id}","parent_msg_id":"${request.header.msg_id}","timestamp":1795338145514,"type":"unixpacket"},"route":{"source":"${request.route.source}","destination":"${request.route.source}","operation":"response","resource":"${request.route.resource}"},"content":"${content}"}\n`

/** A Go client connected to `path` that has sent Go's handshake and read its answer. */
export const handshakenGoClient = (path: string) =>
  Effect.gen(function* () {
    const go = yield* goClient(path)
    go.write(goHandshake)
    yield* waitFor(() => go.packets.length === 1, "the handshake answer")
    return go
  })

/** Our server: modules srv and sink (group sinkgroup), serving the Go client module "cli". */
export const ourServer = (path: string, options: Parameters<typeof makeSide>[1] = {}, capacity?: number) =>
  Effect.gen(function* () {
    const side = yield* makeSide(nodeTransport, options, { capacity })
    yield* side.beehive.addModule("srv")
    yield* side.beehive.addModule("sink")
    yield* side.beehive.addModuleGroup("sink", "sinkgroup")
    yield* side.socket.serve({ address: unixPacket(path), accept: ["cli"], module: "srv" })
    return side
  })

/** Our server and a Go client whose connection the server has registered. */
export const connectedGoClient = Effect.gen(function* () {
  const path = socketPath()
  const side = yield* ourServer(path)
  const go = yield* handshakenGoClient(path)
  yield* waitFor(() => side.events.some((e) => e._tag === "Connected"), "the connection")
  return { side, go }
})

export const answerOne = (side: Side, module: string, content: string) =>
  Effect.gen(function* () {
    const request = yield* side.beehive.receive(module)
    yield* side.beehive.sendResp(yield* Message.newResponse(request, content), module)
    return request
  })
