/**
 * The transport over SOCK_SEQPACKET unix sockets (R-SOCK-30, R-SOCK-22, R-SOCK-14) as properties,
 * over real sockets of the optional package: each write arrives as one packet of its own, intact and
 * in order, both ways, whatever the sizes (up to `MaxPacketBytes`) and the read pace; a close hands
 * the peer the packets written before it, then the end, and completes once the peer has taken it; the closed end's reads and writes fail. A
 * unix path where a server of either socket type answers is `InUse` for a listener of either type,
 * naming the path, and that server goes on serving; a stale file of either type is replaced; a bind
 * the system refuses fails naming the path and the system's reason.
 *
 * The oracle is the packets themselves (sizes and a byte pattern that any reordering, loss, merging or
 * cutting breaks) and SPEC.md's wording, never the transport's code.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Clock, Effect, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { nodeTransport } from "../../src/contexts/socket/NodeTransport.ts"
import {
  connectSeqpacket,
  listenSeqpacket,
  MaxPacketBytes,
  SeqpacketPackage
} from "../../src/contexts/socket/SeqpacketTransport.ts"
import { MaxUnixPathBytes, unix } from "../../src/contexts/socket/SocketAddress.ts"
import type { Connection } from "../../src/contexts/socket/Transport.ts"
import { VirtualClock } from "../../src/effects/VirtualClock.ts"
import type { ConnectFailed, ConnectionClosed, ListenFailed } from "../../src/model/SocketErrors.ts"
import { run } from "../socket/support.ts"
import { pattern } from "../support/bytePattern.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"
import { openSockets } from "../support/openSockets.ts"

const root = join(import.meta.dirname, "../..")
const directory = mkdtempSync(join(tmpdir(), "bh-packets-"))
let paths = 0
const freshPath = () => join(directory, `p${++paths}.sock`)

/** Writes one packet per size, the pattern going on from `from`; returns where it stopped. */
const writePackets = (connection: Connection, direction: number, sizes: ReadonlyArray<number>, from = 0) =>
  Effect.gen(function* () {
    let offset = from
    for (const size of sizes) {
      yield* connection.write(pattern(direction, offset, size))
      offset += size
    }
    return offset
  })

/** Reads until `count` packets came (or, with `untilEnd`, until the end); no read hands out nothing. */
const readPackets = (connection: Connection, count: number, untilEnd: boolean) =>
  Effect.gen(function* () {
    const packets: Array<Uint8Array> = []
    let end: ConnectionClosed | undefined
    while (untilEnd || packets.length < count) {
      const read = yield* Effect.result(connection.read)
      if (read._tag === "Failure") {
        end = read.failure
        break
      }
      if (read.success.length === 0) throw new Error("a read handed out no packet")
      packets.push(...read.success)
    }
    return { packets, end }
  })

/** Checks that `packets` are the ones of `sizes`, whole and in order, the pattern going on from `from`. */
const expectPackets = (
  packets: ReadonlyArray<Uint8Array>,
  direction: number,
  sizes: ReadonlyArray<number>,
  from = 0
) => {
  expect(packets.map((p) => p.length)).toEqual(sizes)
  let offset = from
  for (const packet of packets) {
    expect(Buffer.from(packet).equals(Buffer.from(pattern(direction, offset, packet.length)))).toBe(true)
    offset += packet.length
  }
}

const packetSizes = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 300 }) },
    { weight: 2, arbitrary: fc.integer({ min: 301, max: 70_000 }) },
    { weight: 1, arbitrary: fc.integer({ min: MaxPacketBytes - 16, max: MaxPacketBytes }) }
  ),
  { minLength: 1, maxLength: 8 }
)

describe("R-SOCK-30 the transport over packets", () => {
  it(
    "R-SOCK-30 R-SOCK-22 each write arrives as one packet of its own, whole and in order, both ways; a close hands the peer the packets before it, then the end; the closed end's reads and writes fail",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.record({
            toServer: packetSizes,
            toClient: packetSizes,
            tail: fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 3 }),
            readerDelayMs: fc.integer({ min: 0, max: 20 }),
            closer: fc.constantFrom("client", "server"),
            closeTwice: fc.boolean()
          }),
          (script) =>
            run(
              Effect.gen(function* () {
                const listener = yield* listenSeqpacket(freshPath())
                const client = yield* connectSeqpacket((listener.address as { path: string }).path)
                const server = yield* listener.accept
                const lateRead = (connection: Connection, count: number) =>
                  Effect.sleep(script.readerDelayMs).pipe(Effect.andThen(readPackets(connection, count, false)))
                const [atServer, atClient, toServerEnd, toClientEnd] = yield* Effect.all(
                  [
                    lateRead(server, script.toServer.length),
                    lateRead(client, script.toClient.length),
                    writePackets(client, 0, script.toServer),
                    writePackets(server, 1, script.toClient)
                  ],
                  { concurrency: "unbounded" }
                )
                expectPackets(atServer.packets, 0, script.toServer)
                expectPackets(atClient.packets, 1, script.toClient)
                const [closing, peer, direction, from] =
                  script.closer === "client"
                    ? [client, server, 0, toServerEnd]
                    : ([server, client, 1, toClientEnd] as const)
                const peerReads = yield* Effect.forkChild(readPackets(peer, 0, true))
                yield* writePackets(closing, direction, script.tail, from)
                // The close completes once the peer has taken the end, not at its flush bound: on a clock
                // that never moves, a close waiting for that bound would never complete.
                yield* Effect.provideService(closing.close, Clock.Clock, new VirtualClock(() => {})).pipe(
                  // A bound for failures, not a speed target (on the live clock).
                  Effect.timeoutOrElse({
                    duration: 10_000,
                    orElse: () => Effect.die(new Error("the close waited for its flush bound"))
                  })
                )
                if (script.closeTwice) yield* closing.close
                const rest = yield* Fiber.join(peerReads)
                expectPackets(rest.packets, direction, script.tail, from)
                expect(rest.end?._tag).toBe("ConnectionClosed")
                expect(errorOf(yield* Effect.exit(closing.read))).toMatchObject({ _tag: "ConnectionClosed" })
                expect(errorOf(yield* Effect.exit(closing.write(Uint8Array.of(1))))).toMatchObject({
                  _tag: "ConnectionClosed"
                })
                yield* peer.close
                yield* listener.close
              })
            )
        ),
        fcParams(20)
      ),
    120_000
  )
})

describe("R-SOCK-30 R-SOCK-22 connections over packets", () => {
  it("R-SOCK-30 R-SOCK-22 connections closed from either end, or from both at once, never disturb another: each new connection, and one open throughout, carry packets both ways", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ closer: fc.constantFrom("client", "server", "both"), reply: fc.boolean() }), {
          minLength: 1,
          maxLength: 12
        }),
        fc.boolean(),
        (steps, withSteady) =>
          run(
            Effect.gen(function* () {
              const listener = yield* listenSeqpacket(freshPath())
              const path = (listener.address as { path: string }).path
              const exchange = (a: Connection, b: Connection, i: number, reply = true) =>
                Effect.gen(function* () {
                  yield* a.write(Uint8Array.of(i, 1))
                  expect((yield* readPackets(b, 1, false)).packets.map((p) => [...p])).toEqual([[i, 1]])
                  if (!reply) return
                  yield* b.write(Uint8Array.of(i, 2))
                  expect((yield* readPackets(a, 1, false)).packets.map((p) => [...p])).toEqual([[i, 2]])
                })
              // A connection open throughout, in some runs: it also changes which descriptors are reused.
              const steady = withSteady ? [yield* connectSeqpacket(path), yield* listener.accept] : []
              for (const [i, { closer, reply }] of steps.entries()) {
                const client = yield* connectSeqpacket(path)
                const server = yield* listener.accept
                yield* exchange(client, server, i, reply)
                if (closer === "both") yield* Effect.all([client.close, server.close], { concurrency: "unbounded" })
                else if (closer === "client") yield* Effect.andThen(client.close, server.close)
                else yield* Effect.andThen(server.close, client.close)
                if (steady.length === 2) yield* exchange(steady[0] as Connection, steady[1] as Connection, i)
              }
              for (const connection of steady) yield* connection.close
              yield* listener.close
            })
          )
      ),
      fcParams(20)
    ))

  it(
    "R-SOCK-30 R-SOCK-22 a packet listener hands connections over in order of arrival; closing it closes the ones never handed over and fails waiting and later accepts; a read given up takes no packet with it; connecting where no packet server listens fails with ConnectFailed",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc
            .integer({ min: 1, max: 4 })
            .chain((clients) =>
              fc.record({ clients: fc.constant(clients), accepted: fc.integer({ min: 0, max: clients }) })
            ),
          fc.integer({ min: 0, max: 2 }),
          fc.constantFrom("nothing", "a stale file", "a stream server"),
          ({ clients, accepted }, readsGivenUp, elsewhere) =>
            run(
              Effect.gen(function* () {
                const path = freshPath()
                const listener = yield* listenSeqpacket(path)
                const ends: Array<Connection> = []
                const servers: Array<Connection> = []
                for (let i = 0; i < clients; i++) ends.push(yield* connectSeqpacket(path))
                for (let i = 0; i < accepted; i++) {
                  const server = yield* listener.accept
                  servers.push(server)
                  // Reads given up while nothing came take nothing with them.
                  for (let r = 0; r < readsGivenUp; r++) {
                    const reading = yield* Effect.forkChild(server.read, { startImmediately: true })
                    yield* Fiber.interrupt(reading)
                  }
                  // The i-th accept hands over the i-th client.
                  yield* (ends[i] as Connection).write(Uint8Array.of(i, i))
                  const { packets } = yield* readPackets(server, 1, false)
                  expect(packets.map((p) => [...p])).toEqual([[i, i]])
                }
                for (const [i, client] of ends.entries()) if (i >= accepted) yield* client.write(Uint8Array.of(i, i))
                const waiting = accepted === clients ? yield* Effect.forkChild(Effect.exit(listener.accept)) : undefined
                yield* listener.close
                if (waiting !== undefined) {
                  expect(errorOf(yield* Fiber.join(waiting))).toMatchObject({ _tag: "ConnectionClosed" })
                }
                expect(errorOf(yield* Effect.exit(listener.accept))).toMatchObject({ _tag: "ConnectionClosed" })
                // The clients never handed over see their connection end, with nothing read.
                for (const client of ends.slice(accepted)) {
                  const rest = yield* readPackets(client, 0, true)
                  expect(rest.packets).toEqual([])
                  expect(rest.end?._tag).toBe("ConnectionClosed")
                }
                // Every connection is closed: a packet socket left open keeps a native handle alive, and a
                // worker thread that exits with one aborts the process.
                for (const connection of [...ends, ...servers]) yield* connection.close
                // Where no packet server listens, connecting fails at once, naming the path.
                const other = freshPath()
                if (elsewhere === "a stale file") makeStaleSocket(other, "packet")
                const stream = elsewhere === "a stream server" ? yield* nodeTransport.listen(unix(other)) : undefined
                const refused = errorOf(yield* Effect.exit(connectSeqpacket(other))) as ConnectFailed | undefined
                expect(refused?._tag).toBe("ConnectFailed")
                expect(refused?.code).toBe("ECONNREFUSED")
                expect(refused?.message).toContain(other)
                if (stream !== undefined) yield* stream.close
              })
            )
        ),
        fcParams(20)
      ),
    60_000
  )
})

type SocketType = "stream" | "packet"
type PathState = "absent" | "stale stream socket" | "stale packet socket" | "live stream server" | "live packet server"

/** A socket file of `type` nobody listens on: a server process killed without cleaning up. */
const makeStaleSocket = (path: string, type: SocketType) => {
  const listen =
    type === "stream"
      ? `require("net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`
      : `const s = new (require(${JSON.stringify(SeqpacketPackage)}).SeqpacketServer)(); s.listen(${JSON.stringify(path)}); process.kill(process.pid, "SIGKILL")`
  spawnSync(process.execPath, ["-e", listen], { cwd: root })
  if (!statSync(path).isSocket()) throw new Error(`no stale ${type} socket was made`)
}

const listenOn = (type: SocketType, path: string) =>
  type === "stream" ? nodeTransport.listen(unix(path)) : listenSeqpacket(path)

const connectTo = (type: SocketType, path: string) =>
  type === "stream" ? nodeTransport.connect(unix(path)) : connectSeqpacket(path)

/** Whether a listener of `type` on `path` serves: a client connects and what it writes arrives. */
const serves = (type: SocketType, path: string, listener: { accept: Effect.Effect<Connection, unknown> }) =>
  Effect.gen(function* () {
    const client = yield* connectTo(type, path)
    const accepted = yield* listener.accept
    yield* client.write(Uint8Array.of(7))
    const [first] = yield* accepted.read
    expect(first?.[0]).toBe(7)
    yield* client.close
    yield* accepted.close
  })

describe("R-SOCK-30 R-SOCK-14 a unix path for either socket type", () => {
  it(
    "R-SOCK-30 R-SOCK-14 a path where a server of either socket type answers is InUse for a listener of either type, naming the path, and that server goes on serving; a stale file of either type is replaced",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom<SocketType>("stream", "packet"),
          fc.constantFrom<PathState>(
            "absent",
            "stale stream socket",
            "stale packet socket",
            "live stream server",
            "live packet server"
          ),
          (type, state) =>
            run(
              Effect.gen(function* () {
                const path = freshPath()
                if (state === "stale stream socket") makeStaleSocket(path, "stream")
                if (state === "stale packet socket") makeStaleSocket(path, "packet")
                const liveType: SocketType | undefined =
                  state === "live stream server" ? "stream" : state === "live packet server" ? "packet" : undefined
                const live = liveType === undefined ? undefined : yield* listenOn(liveType, path)
                const exit = yield* Effect.exit(
                  Effect.scoped(listenOn(type, path).pipe(Effect.tap((l) => serves(type, path, l))))
                )
                const failure = errorOf(exit) as ListenFailed | undefined
                if (live === undefined) {
                  expect(failure, `${type} on ${state}`).toBeUndefined()
                  // The listener removed its file when its scope closed.
                  expect(existsSync(path)).toBe(false)
                } else {
                  expect(failure?._tag, `${type} on ${state}`).toBe("ListenFailed")
                  expect(failure?.reason, `${type} on ${state}`).toBe("InUse")
                  expect(failure?.message).toContain(path)
                  expect(failure?.detail).toMatch(/server/)
                  if (liveType === "stream") {
                    // The failed start's probe (a stream connection) reached the live server and ended at once.
                    const probed = yield* readPackets(yield* live.accept, 0, true)
                    expect(probed.packets).toEqual([])
                  }
                  yield* serves(liveType as SocketType, path, live)
                  yield* live.close
                }
                expect(existsSync(`${path}.lock`)).toBe(false)
              })
            )
        ),
        fcParams(30)
      ),
    60_000
  )

  it("R-SOCK-30 R-SOCK-26 a bind the system refuses fails with ListenFailed Failed naming the path and the system's reason, leaving nothing behind, not even a descriptor", () =>
    fc.assert(
      fc.asyncProperty(fc.integer({ min: MaxUnixPathBytes + 1, max: 200 }), (length) =>
        run(
          Effect.gen(function* () {
            const prefix = `${directory}/long-`
            const path = prefix + "x".repeat(Math.max(1, length - prefix.length))
            const sockets = openSockets()
            const failure = errorOf(yield* Effect.exit(Effect.scoped(listenSeqpacket(path)))) as
              | ListenFailed
              | undefined
            expect(failure?._tag).toBe("ListenFailed")
            expect(failure?.reason).toBe("Failed")
            expect(failure?.message).toContain(path)
            expect(failure?.detail).toMatch(/too long/)
            expect(existsSync(path)).toBe(false)
            expect(existsSync(`${path}.lock`)).toBe(false)
            expect(openSockets(), "socket descriptors left open").toBe(sockets)
          })
        )
      ),
      fcParams(10)
    ))
})
