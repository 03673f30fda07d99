/**
 * A Go beehive peer over a real SOCK_SEQPACKET socket (R-SOCK-30..32). The peer is written with
 * node-unix-socket directly, below this library's transport, and speaks exactly the byte sequences of
 * Go's socket context (spec/SPEC.md quotes them): its raw writer's one `json.Encoder` line per packet,
 * its handshake, its `Send`/`SendSync` stamping (`type: "unixpacket"`, destination the client module)
 * and its `NewRespByMessage` + `SendResp` answers.
 */
import { Effect, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { stampForGo } from "../../src/contexts/socket/GoStamping.ts"
import { nodeTransport } from "../../src/contexts/socket/NodeTransport.ts"
import { MaxPacketBytes, MaxUnreadPackets } from "../../src/contexts/socket/SeqpacketTransport.ts"
import { unixPacket } from "../../src/contexts/socket/SocketAddress.ts"
import { parseSocketConfig } from "../../src/contexts/socket/SocketConfig.ts"
import type * as Message from "../../src/model/Message.ts"
import { encodeJsonResult } from "../../src/model/MessageJson.ts"
import {
  answerOne,
  connectedGoClient,
  type GoEnd,
  goResponse,
  goSend,
  goServer,
  handshakenGoClient,
  ourServer,
  parsed,
  socketPath
} from "../support/goPeer.ts"
import { msg } from "../support/messages.ts"
import { makeSide, run, waitFor } from "./support.ts"

describe("a Go beehive client over unixpacket (R-SOCK-30, R-SOCK-31, R-SOCK-32)", () => {
  it("handshakes with Go's bytes and gets Go's answer, typed unixpacket, in one packet", () =>
    run(
      Effect.gen(function* () {
        const path = socketPath()
        yield* ourServer(path)
        const go = yield* handshakenGoClient(path)
        // Go's header and route, byte for byte; the exchange's keys may come in any order for Go's
        // json.Unmarshal into its ModuleExchange struct.
        expect(go.packets[0]).toMatch(
          /^\{"header":\{"msg_id":"[0-9a-f-]{36}","parent_msg_id":"hs-1","timestamp":\d+,"type":"unixpacket"\},"route":\{"source":"cli","destination":"cli","operation":"response","resource":"module"\},"content":\{.*\}\}\n$/
        )
        const answer = parsed(go)[0]
        expect([...answer.content.modules].sort()).toEqual(["sink", "srv"])
        expect(answer.content.groups.sinkgroup).toEqual(["sink"])
      })
    ))

  it("delivers Go's Send (destination: the client's own module) to the server's module, and a group member's copy to it", () =>
    run(
      Effect.gen(function* () {
        const path = socketPath()
        const side = yield* ourServer(path)
        const go = yield* handshakenGoClient(path)
        go.write(goSend("m-1", "cli", "hello"))
        const received = yield* side.beehive.receive("srv")
        expect(received.content).toBe("hello")
        expect(received.header.type).toBe("unixpacket")
        // Go's SendToGroup writes one copy per member, addressed to it.
        go.write(goSend("m-2", "sink", "to the group"))
        expect((yield* side.beehive.receive("sink")).content).toBe("to the group")
        expect(go.closed).toBe(false)
      })
    ))

  it("answers Go's SendSync with a response typed unixpacket that Go's keeper takes (parent id)", () =>
    run(
      Effect.gen(function* () {
        const path = socketPath()
        const side = yield* ourServer(path)
        const go = yield* handshakenGoClient(path)
        go.write(goSend("s-1", "cli", "ping", true))
        yield* answerOne(side, "srv", "pong")
        yield* waitFor(() => go.packets.length === 2, "the response")
        const response = parsed(go)[1]
        expect(response.header).toMatchObject({ parent_msg_id: "s-1", type: "unixpacket" })
        expect(response.header.sync).toBeUndefined()
        expect(response.route).toMatchObject({ source: "cli", destination: "cli", operation: "response" })
        expect(response.content).toBe("pong")
      })
    ))

  it("sends, sendSyncs and sendToGroupSyncs to a Go client: typed unixpacket, from its module, one message per packet", () =>
    run(
      Effect.gen(function* () {
        const { side, go } = yield* connectedGoClient
        for (let i = 0; i < 5; i++) {
          yield* side.beehive.send("cli", msg(`one-${i}`, i, { route: { source: "srv", resource: "res" } }))
        }
        yield* waitFor(() => go.packets.length === 6, "five packets")
        const oneWay = parsed(go).slice(1)
        expect(oneWay.map((m) => m.content)).toEqual([0, 1, 2, 3, 4])
        for (const m of oneWay) {
          expect(m.header.type).toBe("unixpacket")
          expect(m.route).toMatchObject({ source: "cli", destination: "cli" })
        }
        // Go's client answers through the context of the request's source: its own module's.
        const call = yield* Effect.forkChild(
          side.beehive.sendSync("cli", msg("q-1", "ping", { route: { source: "srv", resource: "res" } }), 5000)
        )
        yield* waitFor(() => go.packets.length === 7, "the request")
        const request = parsed(go)[6]
        expect(request.header).toMatchObject({ msg_id: "q-1", sync: true, type: "unixpacket" })
        go.write(goResponse("r-1", request, "pong"))
        const answer = yield* Fiber.join(call)
        expect(answer.content).toBe("pong")
        const group = yield* Effect.forkChild(
          side.beehive.sendToGroupSync("cli", msg("g-1", "all", { route: { source: "srv", resource: "res" } }), 5000)
        )
        yield* waitFor(() => go.packets.length === 8, "the group request")
        go.write(goResponse("r-2", parsed(go)[7], "ok"))
        yield* Fiber.join(group)
      })
    ))

  it("R-SOCK-30 a burst of messages to a Go client goes out as one packet each, all of them, in order", () =>
    run(
      Effect.gen(function* () {
        const { side, go } = yield* connectedGoClient
        const burst = 3000
        // Sent from several fibers at once, so that the writer has many packets to write back to back.
        yield* Effect.forEach(
          [0, 1, 2],
          (sender) =>
            Effect.forEach(
              Array.from({ length: burst / 3 }, (_, i) => i),
              (i) =>
                side.beehive.send("cli", msg(`b-${sender}-${i}`, i, { route: { source: "srv", resource: "res" } })),
              { discard: true }
            ),
          { concurrency: "unbounded", discard: true }
        )
        yield* waitFor(() => go.packets.length === burst + 1, `${burst} packets`, 20_000)
        expect(side.events.filter((e) => e._tag === "Disconnected")).toEqual([])
        const bySender = [0, 1, 2].map((sender) =>
          parsed(go)
            .slice(1)
            .filter((m) => String(m.header.msg_id).startsWith(`b-${sender}-`))
            .map((m) => m.content)
        )
        for (const contents of bySender) expect(contents).toEqual(Array.from({ length: burst / 3 }, (_, i) => i))
      })
    ))

  it("ends the connection of a Go client that floods a module whose reading is paused, saying why", () =>
    run(
      Effect.gen(function* () {
        const path = socketPath()
        // srv's mailbox holds 1 and 2 more wait for it: then reading pauses (R-SOCK-17), and what the
        // Go client writes meanwhile is held unread, up to the bound (R-SOCK-30).
        const side = yield* ourServer(path, { maxInboundBacklog: 2 }, 1)
        const go = yield* handshakenGoClient(path)
        for (let i = 0; i < MaxUnreadPackets + 100; i++) go.write(goSend(`f-${i}`, "cli", "flood"))
        yield* waitFor(() => side.events.some((e) => e._tag === "Disconnected"), "the connection's end")
        yield* waitFor(() => go.closed, "the Go end's close")
        expect(side.events).toContainEqual(
          expect.objectContaining({
            _tag: "Disconnected",
            reason: `the peer wrote more than ${MaxUnreadPackets} packets that this process had not read`
          })
        )
        // What was accepted before the pause is still delivered.
        expect((yield* side.beehive.receive("srv")).header.id).toBe("f-0")
      })
    ))

  it("refuses at send a message whose packet, stamped for Go, would exceed the limit (R-SOCK-2)", () =>
    run(
      Effect.gen(function* () {
        const { side, go } = yield* connectedGoClient
        // The packet is the JSON and a newline; stamping adds the type "unixpacket" to the header.
        const sized = (id: string, packetBytes: number) => {
          const base = msg(id, "", { route: { source: "srv", resource: "res" } })
          const bytes = (m: Message.Message) => (encodeJsonResult(m, "cli") as { success: string }).success.length + 1
          return msg(id, "x".repeat(packetBytes - bytes(base)), { route: { source: "srv", resource: "res" } })
        }
        const stampedBytes = (m: Message.Message) =>
          (encodeJsonResult(stampForGo(m, "cli", "cli")) as { success: string }).success.length + 1
        const tooLarge = sized("big", MaxPacketBytes - 4)
        expect(stampedBytes(tooLarge)).toBeGreaterThan(MaxPacketBytes)
        const refused = yield* Effect.flip(side.beehive.send("cli", tooLarge))
        expect(refused._tag).toBe("MessageEncodeError")
        const growth = stampedBytes(tooLarge) - (MaxPacketBytes - 4)
        // The newline counts: a stamped JSON of exactly the limit would be a packet one byte over it.
        const oneOver = sized("over", MaxPacketBytes + 1 - growth)
        expect(stampedBytes(oneOver)).toBe(MaxPacketBytes + 1)
        expect((yield* Effect.flip(side.beehive.send("cli", oneOver)))._tag).toBe("MessageEncodeError")
        const fits = sized("fits", MaxPacketBytes - growth)
        expect(stampedBytes(fits)).toBe(MaxPacketBytes)
        yield* side.beehive.send("cli", fits)
        yield* waitFor(() => go.packets.length === 2, "the message that fits")
        expect(Buffer.byteLength(go.packets[1] as string)).toBe(MaxPacketBytes)
        expect(parsed(go)[1].header.msg_id).toBe("fits")
      })
    ))

  it("ends the connection on two messages in one packet, as Go's raw reader does", () =>
    run(
      Effect.gen(function* () {
        const path = socketPath()
        yield* ourServer(path)
        const go = yield* handshakenGoClient(path)
        go.write(goSend("a", "cli", "a") + goSend("b", "cli", "b"))
        yield* waitFor(() => go.closed, "the connection's end")
      })
    ))
})

describe("our client to a Go beehive server over unixpacket (R-SOCK-30, R-SOCK-31, R-SOCK-32)", () => {
  const connected = Effect.gen(function* () {
    const path = socketPath()
    const ends = yield* goServer(path)
    const side = yield* makeSide(nodeTransport)
    yield* side.beehive.addModule("cli")
    const client = yield* side.socket.connect({ module: "cli", address: unixPacket(path) })
    yield* waitFor(() => ends[0]?.packets.length === 1, "the handshake")
    const go = ends[0] as GoEnd
    const handshake = parsed(go)[0]
    go.write(
      `{"header":{"msg_id":"5b4a2b0e-7c3f-4a51-9a8e-1f2d3c4b5a69","parent_msg_id":"${handshake.header.msg_id}","timestamp":1795338145513,"type":"unixpacket"},"route":{"source":"cli","destination":"cli","operation":"response","resource":"module"},"content":{"modules":["srv","sink"],"groups":{"sinkgroup":["sink"],"srv":["srv"]}}}\n`
    )
    yield* client.connected
    return { side, go, handshake }
  })

  it("sends Go's handshake (typed unixpacket) and takes Go's answer", () =>
    run(
      Effect.gen(function* () {
        const { side, handshake } = yield* connected
        expect(handshake.header).toMatchObject({ sync: true, type: "unixpacket" })
        expect(handshake.route).toEqual({ source: "cli", operation: "add", resource: "module" })
        const modules = (yield* side.socket.connections)[0]?.modules ?? []
        expect([...modules].sort()).toEqual(["sink", "srv"])
      })
    ))

  it("sends, sendSyncs, sendToGroups and sendToGroupSyncs to Go's modules: typed unixpacket, from the client module", () =>
    run(
      Effect.gen(function* () {
        const { side, go } = yield* connected
        yield* side.beehive.send("srv", msg("o-1", "hi", { route: { source: "app", resource: "res" } }))
        yield* waitFor(() => go.packets.length === 2, "the message")
        expect(parsed(go)[1]).toMatchObject({
          header: { msg_id: "o-1", type: "unixpacket" },
          route: { source: "cli", destination: "srv" },
          content: "hi"
        })
        const call = yield* Effect.forkChild(
          side.beehive.sendSync("srv", msg("q-1", "ping", { route: { source: "app", resource: "res" } }), 5000)
        )
        yield* waitFor(() => go.packets.length === 3, "the request")
        const request = parsed(go)[2]
        expect(request).toMatchObject({
          header: { sync: true, type: "unixpacket" },
          route: { source: "cli", destination: "srv" }
        })
        go.write(goResponse("r-1", request, "pong"))
        expect((yield* Fiber.join(call)).content).toBe("pong")
        yield* side.beehive.sendToGroup("sinkgroup", msg("g-1", "all", { route: { resource: "res" } }))
        yield* waitFor(() => go.packets.length === 4, "the group copy")
        expect(parsed(go)[3].route).toMatchObject({ source: "cli", destination: "sink" })
        const group = yield* Effect.forkChild(
          side.beehive.sendToGroupSync("sinkgroup", msg("gs-1", "all", { route: { resource: "res" } }), 5000)
        )
        yield* waitFor(() => go.packets.length === 5, "the group request")
        go.write(goResponse("r-2", parsed(go)[4], "ok"))
        yield* Fiber.join(group)
      })
    ))

  it("takes Go's Send and SendSync to the client module, and answers from it to the requester", () =>
    run(
      Effect.gen(function* () {
        const { side, go } = yield* connected
        go.write(goSend("m-1", "cli", "hello").replace('"source":"cli"', '"source":"srv"'))
        expect((yield* side.beehive.receive("cli")).content).toBe("hello")
        go.write(goSend("s-1", "cli", "ping", true).replace('"source":"cli"', '"source":"srv"'))
        yield* answerOne(side, "cli", "pong")
        yield* waitFor(() => go.packets.length === 2, "the answer")
        // Go's server takes it only from an enabled module (the client's) and sends it on to its
        // destination: the requester.
        expect(parsed(go)[1]).toMatchObject({
          header: { parent_msg_id: "s-1", type: "unixpacket" },
          route: { source: "cli", destination: "srv", operation: "response" },
          content: "pong"
        })
      })
    ))
})

describe("unixpacket in Go's configuration (R-SOCK-16, R-SOCK-30)", () => {
  it("is a SOCK_SEQPACKET address", () => {
    const config = parseSocketConfig(
      "- module: srv\n  server: true\n  address: /run/go.sock\n  sockettype: unixpacket\n"
    )
    expect(config._tag === "Success" && config.success[0]?.address).toEqual({
      _tag: "UnixPacket",
      path: "/run/go.sock"
    })
  })
})
