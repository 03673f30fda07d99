/**
 * R-SOCK-21 by example, over the in-memory network: one-way messages written just before a connection
 * drops, never read by the peer, are reported `Unsent` (with the message, to `onUndeliverable`) when
 * the client connects again and the server says what it handled; written to a server that was
 * restarted meanwhile, they are reported `InDoubt`. A Go peer (no receipts offered) gets no numbers.
 */
import { Effect, Exit, Scope } from "effect"
import { describe, expect, it } from "vitest"
import { encodeFrame } from "../../src/contexts/socket/FrameCodec.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import type { Message } from "../../src/model/Message.ts"
import { msg } from "../support/messages.ts"
import { makePair, makeSide, run, serverOn, waitFor } from "./support.ts"

const address = unix("/receipts/server.sock")

const clientOn = (network: MemoryNetwork, undeliverable: Array<string>) =>
  Effect.gen(function* () {
    const side = yield* makeSide(
      network.transport,
      {},
      { onUndeliverable: (module: string, m: Message) => undeliverable.push(`${module}:${m.header.id}`) }
    )
    yield* side.beehive.addModule("X")
    const client = yield* side.socket.connect({ module: "X", address, backoff: { initial: 5, max: 5, jitter: 0 } })
    yield* client.connected
    return side
  })

const connectedTwice = (events: ReadonlyArray<{ _tag: string }>) =>
  events.filter((e) => e._tag === "Connected").length >= 2

describe("receipts", () => {
  it("R-SOCK-21 R-SOCK-11 messages written and never handled are reported Unsent when the client is back", () =>
    run(
      Effect.gen(function* () {
        const network = new MemoryNetwork()
        const server = yield* serverOn(network, address)
        const undeliverable: Array<string> = []
        const c = yield* clientOn(network, undeliverable)
        yield* c.beehive.send("A", msg("before", "handled"))
        expect((yield* server.side.beehive.receive("A")).header.id).toBe("before")
        // Written into the pipe while the server does not read, then lost with the connection.
        network.setStalled("server", true)
        for (const id of ["w1", "w2", "w3"]) yield* c.beehive.send("A", msg(id, "lost on the wire"))
        yield* Effect.sleep("5 millis")
        network.drop()
        network.setStalled("server", false)
        yield* waitFor(() => connectedTwice(c.events), "the reconnection", 5_000)
        yield* waitFor(() => undeliverable.length === 3, "the reports", 5_000)
        expect(undeliverable).toEqual(["A:w1", "A:w2", "A:w3"])
        expect(c.events.filter((e) => e._tag === "Unsent").map((e) => (e as { msgId: string }).msgId)).toEqual([
          "w1",
          "w2",
          "w3"
        ])
        // And none of them arrives: the old connection's bytes were dropped with it.
        yield* c.beehive.send("A", msg("after", "handled"))
        expect((yield* server.side.beehive.receive("A")).header.id).toBe("after")
      })
    ))

  it("R-SOCK-21 messages written to a server that restarted before it could say are reported InDoubt", () =>
    run(
      Effect.gen(function* () {
        const network = new MemoryNetwork()
        const first = yield* serverOn(network, address)
        const undeliverable: Array<string> = []
        const c = yield* clientOn(network, undeliverable)
        network.setStalled("server", true)
        yield* c.beehive.send("A", msg("w1", "in flight when the server stopped"))
        yield* Effect.sleep("5 millis")
        yield* Scope.close(first.scope, Exit.void)
        network.setStalled("server", false)
        yield* serverOn(network, address)
        yield* waitFor(() => connectedTwice(c.events), "the reconnection", 5_000)
        yield* waitFor(() => c.events.some((e) => e._tag === "InDoubt"), "the report", 5_000)
        expect(c.events.filter((e) => e._tag === "InDoubt")).toMatchObject([{ destination: "A", msgId: "w1" }])
        // In doubt is not undeliverable: it may have arrived.
        expect(undeliverable).toEqual([])
      })
    ))

  it("R-SOCK-6 R-SOCK-11 R-SOCK-21 a connection taken over ends as its own end would: what it never wrote is Unsent, what it wrote is settled by the new handshake", () =>
    run(
      Effect.gen(function* () {
        // The client does not read: the server's writer waits on a full pipe, and X's outbox holds the rest.
        const { network, address, s } = yield* makePair({
          pipeCapacityBytes: 200,
          capacity: 4,
          socket: { batchBytes: 1 }
        })
        network.setStalled("client", true)
        const ids = ["t1", "t2", "t3", "t4", "t5"]
        for (const id of ids) yield* s.beehive.send("X", msg(id, "x".repeat(150)))
        // Another run of X claims the name (Go's handshake: no receipts): the old connection is taken over.
        const raw = yield* network.transport.connect(address)
        yield* raw.write(
          encodeFrame(
            '{"header":{"msg_id":"hs-1","timestamp":1,"sync":true,"type":"unixpacket"},"route":{"source":"X","operation":"add","resource":"module"},"content":""}'
          )
        )
        const reported = () =>
          s.events.flatMap((e) => (e._tag === "Unsent" || e._tag === "InDoubt" ? [`${e._tag} ${e.msgId}`] : []))
        // Every message is reported at the takeover, not when the process ends: those the old connection
        // never wrote as Unsent (they were silently dropped with the module), those it wrote and the old
        // run of X never receipted as InDoubt (the new handshake is another run: it cannot say).
        yield* waitFor(() => reported().length === ids.length, "a report of every message", 5_000)
        expect(
          reported()
            .map((r) => r.split(" ")[1])
            .sort()
        ).toEqual(ids)
        expect(reported().filter((r) => r.startsWith("Unsent")).length).toBeGreaterThan(0)
        expect(reported().filter((r) => r.startsWith("InDoubt")).length).toBeGreaterThan(0)
        network.setStalled("client", false)
        yield* raw.close
      })
    ))

  it("R-SOCK-21 R-SOCK-5 a peer that offers no receipts (Go) gets Go's messages: no numbers, no receipts", () =>
    run(
      Effect.gen(function* () {
        const network = new MemoryNetwork()
        const server = yield* serverOn(network, address)
        // A client that offers none, as Go's does: the server adds nothing to what it writes.
        const plain = yield* makeSide(network.transport, { receipts: false })
        yield* plain.beehive.addModule("X")
        const client = yield* plain.socket.connect({ module: "X", address })
        const exchange = yield* client.connected
        expect(exchange.receipts).toBeUndefined()
        yield* server.side.beehive.send("X", msg("to-go", "plain"))
        const got = yield* plain.beehive.receive("X")
        expect(got.header.id).toBe("to-go")
      })
    ))

  it("R-SOCK-21 R-SOCK-17 a peer that agrees to receipts and sends none holds at most maxUnreceipted messages: then senders wait", () =>
    run(
      Effect.gen(function* () {
        const network = new MemoryNetwork()
        const s = yield* makeSide(network.transport, { maxUnreceipted: 5 }, { capacity: 2 })
        yield* s.socket.serve({ address, accept: ["X"] })
        const peer = yield* network.transport.connect(address)
        const decoder = new TextDecoder()
        let received = ""
        const readFor = (ms: number) =>
          Effect.gen(function* () {
            const chunks = yield* Effect.timeoutOption(peer.read, ms)
            if (chunks._tag === "Some") for (const chunk of chunks.value) received += decoder.decode(chunk)
          })
        const line = (json: string) => new TextEncoder().encode(`${json}\n`)
        yield* peer.write(
          line(
            '{"header":{"msg_id":"hs","timestamp":1,"sync":true,"type":"unix"},"route":{"source":"X","operation":"add","resource":"module"},"content":{"receipts":{"incarnation":"raw"}}}'
          )
        )
        yield* readFor(1_000)
        expect(JSON.parse(received.split("\n")[0] as string).content.receipts.incarnation).toBeTypeOf("string")
        received = ""
        const sender = yield* Effect.forkChild(
          Effect.forEach(
            Array.from({ length: 20 }, (_, i) => `m${i}`),
            (id) => s.beehive.send("X", msg(id, id))
          )
        )
        for (let i = 0; i < 5; i++) yield* readFor(20)
        const seqs = () =>
          received
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => JSON.parse(l).seq as number)
        // Five written and numbered; the rest wait in X's outbox (2), and the sender waits for room.
        expect(seqs()).toEqual([1, 2, 3, 4, 5])
        expect(sender.pollUnsafe()).toBeUndefined()
        // A receipt for them lets five more through.
        yield* peer.write(
          line('{"header":{"msg_id":"r","timestamp":0},"route":{"operation":"beehive-effect/receipt"},"content":5}')
        )
        for (let i = 0; i < 5; i++) yield* readFor(20)
        expect(seqs()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        yield* peer.close
      })
    ))

  it("R-SOCK-21 by default a connection writes 4,096 one-way messages ahead of the peer's receipts, then its senders wait", () =>
    run(
      Effect.gen(function* () {
        const network = new MemoryNetwork()
        const s = yield* makeSide(network.transport)
        yield* s.socket.serve({ address, accept: ["X"] })
        const peer = yield* network.transport.connect(address)
        const decoder = new TextDecoder()
        let received = ""
        const lines = () => received.split("\n").filter((l) => l !== "")
        const readChunk = (ms: number) =>
          Effect.map(Effect.timeoutOption(peer.read, ms), (chunks) => {
            if (chunks._tag === "Some") for (const chunk of chunks.value) received += decoder.decode(chunk)
            return chunks._tag === "Some"
          })
        yield* peer.write(
          new TextEncoder().encode(
            '{"header":{"msg_id":"hs","timestamp":1,"sync":true,"type":"unix"},"route":{"source":"X","operation":"add","resource":"module"},"content":{"receipts":{"incarnation":"raw"}}}\n'
          )
        )
        while (lines().length === 0) yield* readChunk(1_000)
        expect(JSON.parse(lines()[0] as string).content.receipts.incarnation).toBeTypeOf("string")
        received = ""
        const sender = yield* Effect.forkChild(
          Effect.forEach(
            Array.from({ length: 4096 + 2000 }, (_, i) => `m${i}`),
            (id) => s.beehive.send("X", msg(id, id))
          )
        )
        while (lines().length < 4096 && (yield* readChunk(1_000))) {}
        // Then nothing more comes, however long the peer reads.
        while (yield* readChunk(200)) {}
        expect(lines().map((l) => JSON.parse(l).seq)).toEqual(Array.from({ length: 4096 }, (_, i) => i + 1))
        expect(sender.pollUnsafe()).toBeUndefined()
        yield* peer.close
      })
    ))
})
