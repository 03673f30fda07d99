/**
 * The transport contract as properties (R-SOCK-22, R-SOCK-14, R-SOCK-15), over real sockets (node:net
 * on unix paths and TCP loopback, node:tls) and over the in-memory network the proofs use: every byte
 * written arrives once and in order whatever the write sizes, read pace and backpressure; a close
 * hands the peer what came before it, then the end; a listener hands connections over in order of
 * arrival and closes the ones it never handed over; an existing unix path is replaced only when it is
 * a stale socket (not when its server is stopped and cannot take a connection), and a failure names
 * the path; the names of a verified client certificate are its CN and its DNS names.
 *
 * The oracle is the bytes themselves (a pattern that any reordering, loss or duplication breaks) and
 * SPEC.md's wording, never the transport's code.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Fiber, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it, vi } from "vitest"
import { MemoryNetwork, MemoryTransport } from "../../src/contexts/socket/MemoryTransport.ts"
import { keepAliveDelayMs, nodeTransport, readHighWaterMark } from "../../src/contexts/socket/NodeTransport.ts"
import {
  formatAddress,
  type SocketAddress,
  type TlsOptions,
  tcp,
  unix,
  unixPacket
} from "../../src/contexts/socket/SocketAddress.ts"
import { type Connection, Transport, type TransportShape } from "../../src/contexts/socket/Transport.ts"
import type { ConnectionClosed, ListenFailed } from "../../src/model/SocketErrors.ts"
import { run } from "../socket/support.ts"
import { pattern, patternByte } from "../support/bytePattern.ts"
import { certificates } from "../support/certificates.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"

const directory = mkdtempSync(join(tmpdir(), "bh-transport-property-"))
let paths = 0
const freshPath = () => join(directory, `s${++paths}.sock`)

const firstMismatch = (direction: number, received: Uint8Array): number => {
  for (let i = 0; i < received.length; i++) if (received[i] !== patternByte(direction, i)) return i
  return -1
}

/** Writes `sizes` bytes of the pattern in that many writes. */
const writeAll = (connection: Connection, direction: number, sizes: ReadonlyArray<number>, from = 0) =>
  Effect.gen(function* () {
    let offset = from
    for (const size of sizes) {
      yield* connection.write(pattern(direction, offset, size))
      offset += size
    }
  })

/**
 * Reads until `total` bytes came (or, with `untilEnd`, until the end), checking that no read hands
 * out nothing: a read waits while nothing came (R-SOCK-22).
 */
const readBytes = (connection: Connection, total: number, untilEnd: boolean) =>
  Effect.gen(function* () {
    const chunks: Array<Uint8Array> = []
    let got = 0
    let end: ConnectionClosed | undefined
    while (untilEnd || got < total) {
      const read = yield* Effect.result(connection.read)
      if (read._tag === "Failure") {
        end = read.failure
        break
      }
      const bytes = read.success.reduce((n, c) => n + c.length, 0)
      if (read.success.length === 0 || bytes === 0) throw new Error("a read handed out no bytes")
      chunks.push(...read.success)
      got += bytes
    }
    return { bytes: Buffer.concat(chunks), end }
  })

type Kind = "unix" | "tcp" | "memory"

/** The kinds, and unix sockets of packets (R-SOCK-30) where a property holds for them too. */
type AnyKind = Kind | "packets"

/** The in-memory network as a user gets it: the public `MemoryTransport` layer, a fresh network each build. */
const fromLayer = (): TransportShape => Effect.runSync(Effect.provide(Effect.service(Transport), MemoryTransport))

const transportOf = (kind: AnyKind | "memory layer", memory: { capacity: number; maxRead: number | undefined }) =>
  kind === "memory layer"
    ? { transport: fromLayer(), address: unix("memory-layer") }
    : kind === "memory"
      ? {
          transport: new MemoryNetwork(memory.capacity, { maxReadBytes: memory.maxRead }).transport as TransportShape,
          address: unix(`memory-${++paths}`)
        }
      : {
          transport: nodeTransport,
          address:
            kind === "unix" ? unix(freshPath()) : kind === "packets" ? unixPacket(freshPath()) : tcp("127.0.0.1", 0)
        }

const writeSizes = (big: boolean) =>
  fc.array(
    fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 1, max: 300 }) },
      { weight: 2, arbitrary: fc.integer({ min: 301, max: 70_000 }) },
      // Past both high-water marks (1 MiB): the reader's pause and the writer's wait for `drain`.
      { weight: big ? 1 : 0, arbitrary: fc.integer({ min: 1 << 20, max: (1 << 20) + 600_000 }) }
    ),
    { minLength: 1, maxLength: 8 }
  )

const total = (sizes: ReadonlyArray<number>) => sizes.reduce((n, s) => n + s, 0)

describe("R-SOCK-22 the transport contract over real sockets and the in-memory network", () => {
  it(
    "R-SOCK-22 every byte arrives once and in order in both directions; a close hands the peer what came before it, then the end, which says the peer closed the connection and stays so",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom<Kind | "memory layer">("unix", "tcp", "memory", "memory layer"),
          fc.record({
            toServer: writeSizes(true),
            toClient: writeSizes(true),
            tail: fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 3 }),
            readerDelayMs: fc.integer({ min: 0, max: 20 }),
            closer: fc.constantFrom("client", "server"),
            closeTwice: fc.boolean(),
            memory: fc.record({
              capacity: fc.integer({ min: 1, max: 1 << 17 }),
              maxRead: fc.option(fc.integer({ min: 1, max: 9000 }), { nil: undefined })
            })
          }),
          (kind, script) =>
            run(
              Effect.gen(function* () {
                const { transport, address } = transportOf(kind, script.memory)
                const listener = yield* transport.listen(address)
                const client = yield* transport.connect(listener.address)
                const server = yield* listener.accept
                // Phase 1: both directions at once; a reader that starts late lets bytes pile up.
                const lateRead = (connection: Connection, bytes: number) =>
                  Effect.sleep(script.readerDelayMs).pipe(Effect.andThen(readBytes(connection, bytes, false)))
                const [atServer, atClient] = yield* Effect.all(
                  [
                    lateRead(server, total(script.toServer)),
                    lateRead(client, total(script.toClient)),
                    writeAll(client, 0, script.toServer),
                    writeAll(server, 1, script.toClient)
                  ],
                  { concurrency: "unbounded" }
                )
                expect(atServer.bytes.length).toBe(total(script.toServer))
                expect(firstMismatch(0, atServer.bytes)).toBe(-1)
                expect(atClient.bytes.length).toBe(total(script.toClient))
                expect(firstMismatch(1, atClient.bytes)).toBe(-1)
                // Phase 2: the closer writes a tail and closes; its peer reads the tail, then the end.
                const [closing, peer, direction] =
                  script.closer === "client" ? [client, server, 0] : ([server, client, 1] as const)
                const from = direction === 0 ? total(script.toServer) : total(script.toClient)
                const peerReads = yield* Effect.forkChild(readBytes(peer, 0, true))
                yield* writeAll(closing, direction, script.tail, from)
                yield* closing.close
                if (script.closeTwice) yield* closing.close
                const rest = yield* Fiber.join(peerReads)
                expect(rest.bytes.length).toBe(total(script.tail))
                const tail = pattern(direction, from, total(script.tail))
                expect(Buffer.from(rest.bytes).equals(Buffer.from(tail))).toBe(true)
                expect(rest.end?._tag).toBe("ConnectionClosed")
                // The end says why, and stays what it first was, whatever the socket reports after it.
                expect(rest.end?.detail).toBe("the peer closed the connection")
                yield* Effect.sleep(20)
                expect(errorOf(yield* Effect.exit(peer.read))).toEqual(rest.end)
                // After its close, the closed end's reads and writes fail.
                expect(errorOf(yield* Effect.exit(closing.read))).toMatchObject({ _tag: "ConnectionClosed" })
                expect(errorOf(yield* Effect.exit(closing.write(Uint8Array.of(1))))).toMatchObject({
                  _tag: "ConnectionClosed"
                })
                yield* peer.close
                yield* listener.close
              })
            )
        ),
        fcParams(30)
      ),
    120_000
  )

  it(
    "R-SOCK-22 a listener hands connections over in order of arrival, whatever accepts were given up before, each naming its peer; closing it closes the ones not handed over and fails a waiting accept",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom<Kind>("unix", "tcp", "memory"),
          fc
            .integer({ min: 1, max: 4 })
            .chain((clients) =>
              fc.record({ clients: fc.constant(clients), accepted: fc.integer({ min: 0, max: clients }) })
            ),
          fc.boolean(),
          fc.integer({ min: 0, max: 2 }),
          (kind, { clients, accepted }, closeTwice, givenUp) =>
            run(
              Effect.gen(function* () {
                const { transport, address } = transportOf(kind, { capacity: 1 << 16, maxRead: undefined })
                const listener = yield* transport.listen(address)
                // Accepts given up before anyone connected take nothing with them.
                for (let i = 0; i < givenUp; i++) {
                  const accepting = yield* Effect.forkChild(listener.accept)
                  yield* Effect.yieldNow
                  yield* Fiber.interrupt(accepting)
                }
                const ends: Array<Connection> = []
                for (let i = 0; i < clients; i++) {
                  const client = yield* transport.connect(listener.address)
                  yield* client.write(Uint8Array.of(i))
                  ends.push(client)
                }
                const peers: Array<string> = []
                for (let i = 0; i < accepted; i++) {
                  // A bound for failures, not a speed target: the connection arrived already.
                  const server = yield* listener.accept.pipe(
                    Effect.timeoutOrElse({
                      duration: 5000,
                      orElse: () => Effect.die(new Error(`accept ${i} waited for a connection that had arrived`))
                    })
                  )
                  const first = yield* readBytes(server, 1, false)
                  expect(first.bytes[0]).toBe(i)
                  peers.push(server.peer)
                }
                // Each accepted connection names its peer: over TCP its own address and port, over a
                // unix path the listener's path as a client's, in memory its connection's number.
                if (kind === "tcp") {
                  for (const peer of peers) expect(peer).toMatch(/^127\.0\.0\.1:\d+$/)
                  expect(new Set(peers).size).toBe(peers.length)
                }
                if (kind === "unix") for (const peer of peers) expect(peer).toBe(`${formatAddress(address)} (client)`)
                // In memory, each by its number among the network's connections.
                if (kind === "memory") {
                  for (const peer of peers) expect(peer).toMatch(/^memory client #[1-9]\d*$/)
                  expect(new Set(peers).size).toBe(peers.length)
                }
                const waiting = accepted === clients ? yield* Effect.forkChild(Effect.exit(listener.accept)) : undefined
                yield* listener.close
                if (closeTwice) yield* listener.close
                if (waiting !== undefined) {
                  expect(errorOf(yield* Fiber.join(waiting))).toMatchObject({ _tag: "ConnectionClosed" })
                }
                expect(errorOf(yield* Effect.exit(listener.accept))).toMatchObject({ _tag: "ConnectionClosed" })
                // The clients never handed over see their connection end, with nothing read.
                for (const client of ends.slice(accepted)) {
                  const rest = yield* readBytes(client, 0, true)
                  expect(rest.bytes.length).toBe(0)
                  expect(rest.end?._tag).toBe("ConnectionClosed")
                }
                // The listener's address is the one it was given, with the port the system chose for port 0.
                if (address._tag === "Unix") expect(listener.address).toEqual(address)
                else expect((listener.address as { port: number }).port).toBeGreaterThan(0)
                for (const client of ends) yield* client.close
              })
            )
        ),
        fcParams(30)
      ),
    60_000
  )

  it(
    "R-SOCK-22 accepts waiting at once are served in the order they began, one connection each, those given up taking nothing; closing fails every one still waiting",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom<Kind>("unix", "tcp", "memory"),
          fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
          fc.integer({ min: 0, max: 4 }),
          (kind, givenUp, clients) =>
            run(
              Effect.gen(function* () {
                const { transport, address } = transportOf(kind, { capacity: 1 << 16, maxRead: undefined })
                const listener = yield* transport.listen(address)
                const accepts = []
                for (const _ of givenUp) {
                  accepts.push(yield* Effect.forkChild(Effect.exit(listener.accept), { startImmediately: true }))
                }
                for (const [i, gone] of givenUp.entries())
                  if (gone) yield* Fiber.interrupt(accepts[i] as Fiber.Fiber<unknown>)
                const waiting = accepts.filter((_, i) => !givenUp[i])
                const ends: Array<Connection> = []
                for (let i = 0; i < clients; i++) {
                  const client = yield* transport.connect(listener.address)
                  yield* client.write(Uint8Array.of(i))
                  ends.push(client)
                }
                // The first `clients` accepts still waiting get the connections, in order.
                for (const [i, accepting] of waiting.slice(0, clients).entries()) {
                  // A bound for failures, not a speed target: the connection arrived already.
                  const exit = yield* Fiber.join(accepting).pipe(
                    Effect.timeoutOrElse({
                      duration: 5000,
                      orElse: () => Effect.die(new Error(`accept ${i} waited for a connection that had arrived`))
                    })
                  )
                  if (exit._tag !== "Success") throw new Error(`accept ${i} failed: ${String(exit.cause)}`)
                  const first = yield* readBytes(exit.value, 1, false)
                  expect(first.bytes[0], `accept ${i} of those waiting gets connection ${i}`).toBe(i)
                }
                yield* listener.close
                for (const accepting of waiting.slice(clients)) {
                  const exit = yield* Fiber.join(accepting).pipe(
                    Effect.timeoutOrElse({
                      duration: 5000,
                      orElse: () => Effect.die(new Error("an accept still waits after the listener closed"))
                    })
                  )
                  expect(errorOf(exit)).toMatchObject({ _tag: "ConnectionClosed" })
                }
                for (const client of ends) yield* client.close
              })
            )
        ),
        fcParams(30)
      ),
    60_000
  )

  it(
    "R-SOCK-22 R-SOCK-30 a read given up (interrupted) takes nothing: what it had not handed out goes to the next read, in order, over bytes and packets",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom<AnyKind>("unix", "tcp", "memory", "packets"),
          fc.array(
            fc.oneof(
              fc.record({ giveUpAfterMs: fc.integer({ min: 0, max: 3 }) }),
              // Bytes may arrive while no read waits, right after one was given up.
              fc.record({ write: fc.integer({ min: 1, max: 5000 }), thenWaitMs: fc.integer({ min: 0, max: 3 }) })
            ),
            { minLength: 1, maxLength: 10 }
          ),
          (kind, steps) =>
            run(
              Effect.gen(function* () {
                const { transport, address } = transportOf(kind, { capacity: 1 << 16, maxRead: undefined })
                const listener = yield* transport.listen(address)
                const client = yield* transport.connect(listener.address)
                const server = yield* listener.accept
                const received: Array<Uint8Array> = []
                let written = 0
                for (const step of steps) {
                  if ("write" in step) {
                    yield* client.write(pattern(0, written, step.write))
                    written += step.write
                    yield* Effect.sleep(step.thenWaitMs)
                    continue
                  }
                  const reading = yield* Effect.forkChild(server.read, { startImmediately: true })
                  yield* Effect.sleep(step.giveUpAfterMs)
                  // A read that finished before it was given up keeps what it handed out.
                  yield* Fiber.interrupt(reading)
                  const exit = yield* Fiber.await(reading)
                  if (exit._tag === "Success") received.push(...exit.value)
                }
                const got = received.reduce((n, c) => n + c.length, 0)
                // A bound for failures, not a speed target: every byte was written already.
                const rest = yield* readBytes(server, written - got, false).pipe(
                  Effect.timeoutOrElse({
                    duration: 5000,
                    orElse: () => Effect.die(new Error("bytes written never reached a read: a given-up read took them"))
                  })
                )
                const all = Buffer.concat([...received, rest.bytes])
                expect(all.length).toBe(written)
                expect(firstMismatch(0, all)).toBe(-1)
                yield* client.close
                yield* server.close
                yield* listener.close
              })
            )
        ),
        fcParams(30)
      ),
    60_000
  )

  it("R-SOCK-22 an in-memory pipe makes a writer wait exactly while it holds its capacity or more; a cut read hands out one chunk of at most the cut, an uncut one the writes as written", () =>
    fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 12 }),
        fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
        (capacity, sizes, maxRead) =>
          run(
            Effect.gen(function* () {
              const network = new MemoryNetwork(capacity, { maxReadBytes: maxRead })
              const listener = yield* network.transport.listen(unix("memory"))
              const client = yield* network.transport.connect(listener.address)
              const server = yield* listener.accept
              let held = 0
              // The sizes of the writes since the last read: an uncut read hands them out as written.
              let unread: Array<number> = []
              for (const [i, size] of sizes.entries()) {
                const write = yield* Effect.forkChild(client.write(pattern(0, held, size)))
                for (let turn = 0; turn < 5; turn++) yield* Effect.yieldNow
                held += size
                unread.push(size)
                const waits = held >= capacity
                expect({ write: i, waits: write.pollUnsafe() === undefined }).toEqual({ write: i, waits })
                if (!waits) continue
                // A read takes what the pipe holds (or a cut of it) and lets the writer go once below capacity.
                let received = 0
                while (held >= capacity) {
                  const chunks = yield* server.read
                  const bytes = chunks.reduce((n, c) => n + c.length, 0)
                  if (maxRead !== undefined) {
                    expect(chunks.length).toBe(1)
                    expect(bytes).toBeLessThanOrEqual(maxRead)
                  } else {
                    expect(chunks.map((chunk) => chunk.length)).toEqual(unread)
                  }
                  unread = []
                  received += bytes
                  held -= bytes
                  if (held < capacity) continue
                  // A cut read that leaves the pipe at its capacity or more lets no writer go.
                  for (let turn = 0; turn < 5; turn++) yield* Effect.yieldNow
                  expect({ write: i, waitsAfterCut: write.pollUnsafe() === undefined }).toEqual({
                    write: i,
                    waitsAfterCut: true
                  })
                }
                yield* Fiber.join(write)
                expect(received).toBeGreaterThan(0)
              }
              yield* client.close
              const rest = yield* readBytes(server, 0, true)
              expect(rest.bytes.length).toBe(held)
              yield* listener.close
            })
          )
      ),
      fcParams(60)
    ))
})

/** What a unix path holds before a server listens on it. */
type PathState =
  | "absent"
  | "stale socket"
  | "live server"
  | "stopped server"
  | "regular file"
  | "directory"
  | "under a regular file"

/** A unix socket file nobody listens on: a server process killed without cleaning up. */
const makeStaleSocket = (path: string) => {
  spawnSync(process.execPath, [
    "-e",
    `require("net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`
  ])
  if (!statSync(path).isSocket()) throw new Error("no stale socket was made")
}

const isStopped = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("T") === true
  } catch {
    return false
  }
}

const connectRaw = (path: string) =>
  new Promise<net.Socket | string>((resolve) => {
    const socket = net.connect({ path })
    socket.once("connect", () => resolve(socket))
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "EUNKNOWN"))
  })

/**
 * A server that listens and then stops (a hung process, SIGSTOP) with its backlog full: a connection
 * to it fails at once with EAGAIN, neither answered nor refused. Its file must be left alone all the
 * same: a server listens on it. Killed when the scope closes, whatever happened.
 */
const stoppedServer = (path: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const child = spawn(
        process.execPath,
        [
          "-e",
          `require("net").createServer().listen({ path: ${JSON.stringify(path)}, backlog: 1 }, () => process.kill(process.pid, "SIGSTOP"))`
        ],
        { stdio: "ignore" }
      )
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
      const server = { child, exited, queued: [] as Array<net.Socket> }
      const pid = child.pid
      // A bound for failures, not a delay: the child stops itself as soon as it listens.
      const deadline = Date.now() + 20_000
      while (pid !== undefined && !isStopped(pid) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      if (pid === undefined || !isStopped(pid)) return { ...server, ready: "the server process never stopped" }
      for (;;) {
        const outcome = await connectRaw(path)
        if (typeof outcome !== "string") server.queued.push(outcome)
        else if (outcome === "EAGAIN") return { ...server, ready: undefined }
        else return { ...server, ready: `filling the backlog failed with ${outcome}` }
        if (server.queued.length > 64) return { ...server, ready: "the backlog never filled" }
      }
    }),
    (server) =>
      Effect.promise(async () => {
        for (const socket of server.queued) socket.destroy()
        if (server.child.exitCode === null && server.child.signalCode === null) {
          server.child.kill("SIGKILL")
          await server.exited
        }
        rmSync(path, { force: true })
      })
  ).pipe(
    Effect.tap((server) =>
      server.ready === undefined ? Effect.void : Effect.die(new Error(`no stopped server: ${server.ready}`))
    )
  )

/** Whether the stopped server, let go on, still serves its path. */
const stillServes = (server: { child: ChildProcess }, path: string) =>
  Effect.promise(async () => {
    server.child.kill("SIGCONT")
    // Until it has taken its backlog, a connection may still find it full (EAGAIN); a bound for
    // failures, not a delay.
    const deadline = Date.now() + 10_000
    for (;;) {
      const again = await connectRaw(path)
      if (typeof again !== "string") {
        again.destroy()
        return true
      }
      if (again !== "EAGAIN" || Date.now() > deadline) return again
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })

/** What a unix socket's system buffers may hold beyond the transport's own, with room to spare. */
const systemBufferSlack = 4 << 20

/** Far past what a reader that pushes back can take: reaching it means nothing pushed back. */
const unboundedMark = 24 << 20

describe("R-SOCK-20 keepalive on stream sockets", () => {
  it("R-SOCK-20 every TCP connection of the node transport, connected or accepted, has keepalive on, after keepAliveDelayMs of silence", () =>
    fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), async (count) => {
        const keepAlive = vi.spyOn(net.Socket.prototype, "setKeepAlive")
        try {
          await run(
            Effect.gen(function* () {
              const { transport, address } = transportOf("tcp", { capacity: 1, maxRead: undefined })
              const listener = yield* transport.listen(address)
              for (let i = 0; i < count; i++) {
                const client = yield* transport.connect(listener.address)
                const server = yield* listener.accept
                yield* client.close
                yield* server.close
              }
            })
          )
          const asked = keepAlive.mock.calls.filter(([on, delay]) => on === true && delay === keepAliveDelayMs)
          expect(asked.length, "one per end of each connection").toBe(2 * count)
        } finally {
          keepAlive.mockRestore()
        }
      }),
      fcParams(6)
    ))
})

describe("R-SOCK-22 closing an in-memory listener twice is closing it once", () => {
  it("R-SOCK-22 a listener closed, its address listened on anew, then closed again (by hand, or by the end of its scope) leaves the new listener taking connections", () =>
    fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 3 }), fc.boolean(), (again, byScope) =>
        run(
          Effect.gen(function* () {
            const network = new MemoryNetwork()
            const address = unix("memory")
            const scope = yield* Scope.make()
            const first = yield* Scope.provide(network.transport.listen(address), scope)
            yield* first.close
            const second = yield* network.transport.listen(address)
            for (let i = 0; i < again; i++) yield* first.close
            if (byScope) yield* Scope.close(scope, Exit.void)
            const client = yield* network.transport.connect(address)
            const server = yield* second.accept
            yield* client.write(new Uint8Array([7]))
            expect((yield* server.read).map((chunk) => [...chunk])).toEqual([[7]])
          })
        )
      ),
      fcParams(20)
    ))
})

describe("R-SOCK-22 a reader that does not read pushes back on the writer", () => {
  it(
    "R-SOCK-22 a connection nobody reads takes at most its buffer's limit (1 MiB) and what the system holds before its writer waits; once read, every byte arrives once and in order",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 1024, max: 256 * 1024 }), { minLength: 1, maxLength: 8 }),
          (sizes) =>
            run(
              Effect.gen(function* () {
                const listener = yield* nodeTransport.listen(unix(freshPath()))
                const client = yield* nodeTransport.connect(listener.address)
                const server = yield* listener.accept
                let offset = 0
                let completed = 0
                let waited = false
                for (let i = 0; offset < unboundedMark; i++) {
                  const size = sizes[i % sizes.length] as number
                  const bytes = pattern(0, offset, size)
                  offset += size
                  // A write still waiting after a quarter second is taken as pushed back; a write that
                  // is only slow ends the loop early, which the bound below allows as well.
                  const wrote = yield* client.write(bytes).pipe(Effect.timeoutOption(250))
                  if (wrote._tag === "None") {
                    waited = true
                    break
                  }
                  completed = offset
                }
                expect(waited, `${completed} bytes were taken and nobody read them`).toBe(true)
                expect(completed).toBeLessThanOrEqual(readHighWaterMark + systemBufferSlack)
                // The write given up had handed its bytes over: they arrive with the rest.
                const received = yield* readBytes(server, offset, false)
                expect(received.bytes.length).toBe(offset)
                expect(firstMismatch(0, received.bytes)).toBe(-1)
                yield* client.close
                yield* server.close
                yield* listener.close
              })
            )
        ),
        fcParams(8)
      ),
    60_000
  )
})

describe("R-SOCK-14 listening on a unix path, whatever it held", () => {
  it(
    "R-SOCK-14 an existing path is replaced only when it is a stale socket: a live server's gives InUse naming the path, a stopped server's stays, anything else NotSocket and stays, a path that cannot be looked at Failed; a lock left by a dead start is taken over, one held by a start under way is waited for and left alone",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom<PathState>(
            "absent",
            "stale socket",
            "live server",
            "stopped server",
            "regular file",
            "directory",
            "under a regular file"
          ),
          fc.constantFrom("none", "left by a dead start", "held by a start under way"),
          (state, lock) =>
            run(
              Effect.gen(function* () {
                const parent = freshPath()
                // A path whose folder is a regular file cannot even be looked at: listening fails, naming why.
                if (state === "under a regular file") writeFileSync(parent, "not a folder")
                const path = state === "under a regular file" ? join(parent, "s.sock") : parent
                if (state === "stale socket") makeStaleSocket(path)
                if (state === "regular file") writeFileSync(path, "precious")
                if (state === "directory") mkdirSync(path)
                const live = state === "live server" ? yield* nodeTransport.listen(unix(path)) : undefined
                const stopped = state === "stopped server" ? yield* stoppedServer(path) : undefined
                const locked = lock !== "none" && state !== "under a regular file"
                if (locked) writeFileSync(`${path}.lock`, "")
                if (locked && lock === "left by a dead start") {
                  const old = (Date.now() - 60_000) / 1000
                  utimesSync(`${path}.lock`, old, old)
                }
                const listening = Effect.exit(Effect.scoped(nodeTransport.listen(unix(path))))
                let exit: Exit.Exit<unknown, ListenFailed>
                if (locked && lock === "held by a start under way") {
                  const waiting = yield* Effect.forkChild(listening)
                  yield* Effect.sleep(40)
                  // Another start holds the lock: this one waits for it, and leaves it alone.
                  expect(waiting.pollUnsafe()).toBeUndefined()
                  expect(existsSync(`${path}.lock`)).toBe(true)
                  // The other start ends, releasing its lock.
                  rmSync(`${path}.lock`)
                  exit = yield* Fiber.join(waiting)
                } else exit = yield* listening
                const expected: "InUse" | "NotSocket" | "Failed" | "InUse or Failed" | undefined =
                  state === "absent" || state === "stale socket"
                    ? undefined
                    : state === "live server"
                      ? "InUse"
                      : state === "under a regular file"
                        ? "Failed"
                        : // A stopped server neither answers nor refuses: which failure it is, SPEC leaves open.
                          state === "stopped server"
                          ? "InUse or Failed"
                          : "NotSocket"
                const failure = errorOf(exit)
                if (expected === "InUse or Failed") expect(["InUse", "Failed"]).toContain(failure?.reason)
                else expect(failure?.reason).toBe(expected)
                // What the user reads says where, and for a path in use, that a server answers there.
                if (failure !== undefined) expect(failure.message).toContain(path)
                if (expected === "InUse") expect(failure?.detail).toMatch(/server/)
                if (stopped !== undefined) expect(yield* stillServes(stopped, path)).toBe(true)
                if (state === "regular file") expect(readFileSync(path, "utf8")).toBe("precious")
                if (state === "directory") expect(statSync(path).isDirectory()).toBe(true)
                // A server that listened removed its file when its scope closed; the live one still answers.
                if (expected === undefined || expected === "Failed") expect(existsSync(path)).toBe(false)
                if (live !== undefined) {
                  // The failed start's probe was a connection that ended at once.
                  const probed = yield* readBytes(yield* live.accept, 0, true)
                  expect(probed.bytes.length).toBe(0)
                  const probe = yield* nodeTransport.connect(unix(path))
                  const accepted = yield* live.accept
                  yield* probe.write(Uint8Array.of(7))
                  expect((yield* readBytes(accepted, 1, false)).bytes[0]).toBe(7)
                  yield* probe.close
                  yield* live.close
                }
                expect(existsSync(`${path}.lock`)).toBe(false)
              })
            )
        ),
        fcParams(36)
      ),
    60_000
  )
})

/** A subjectAltName entry: the DNS ones are names, the others are not. */
const altName = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/).map((name) => ({ entry: `DNS:${name}`, name })),
  fc.integer({ min: 1, max: 254 }).map((n) => ({ entry: `IP:127.0.0.${n}`, name: undefined })),
  fc.stringMatching(/^[a-z]{1,6}$/).map((user) => ({ entry: `email:${user}@example.org`, name: undefined }))
)

describe("R-SOCK-15 the names of a verified client certificate", () => {
  it(
    "R-SOCK-15 R-SOCK-6 a client certificate's names are its CNs and its subjectAltName's DNS names, once each (none of the subject's when it has no CN); a connection without TLS has none",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.array(altName, { maxLength: 4 }),
          // A subject may carry several CNs: each is a name; or none.
          fc.option(fc.array(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), { maxLength: 2 }), { nil: undefined }),
          fc.constantFrom<Kind>("unix", "tcp"),
          (alternatives, moreCommon, kind) =>
            run(
              Effect.gen(function* () {
                const alt = alternatives.map((a) => a.entry).join(",")
                const dir = certificates(
                  { server: "IP:127.0.0.1,DNS:localhost", client: alt },
                  { client: moreCommon ?? [] },
                  new Set(moreCommon === undefined ? ["client"] : [])
                )
                const pem = (name: string) => join(dir, name)
                const serverTls: TlsOptions = { ca: pem("ca.pem"), cert: pem("server.pem"), key: pem("server.key") }
                const clientTls: TlsOptions = { ca: pem("ca.pem"), cert: pem("client.pem"), key: pem("client.key") }
                const address: SocketAddress = kind === "unix" ? unix(freshPath()) : tcp("127.0.0.1", 0)
                const secure = yield* nodeTransport.listen(address, serverTls)
                const client = yield* nodeTransport.connect(secure.address, clientTls)
                const server = yield* secure.accept
                const dns = alternatives.flatMap((a) => (a.name === undefined ? [] : [a.name]))
                const common = moreCommon === undefined ? [] : ["client", ...moreCommon]
                expect([...(server.certificateNames ?? [])].sort()).toEqual([...new Set([...common, ...dns])].sort())
                yield* client.write(Uint8Array.of(42))
                expect((yield* readBytes(server, 1, false)).bytes[0]).toBe(42)
                yield* client.close
                yield* secure.close
                const plain = yield* nodeTransport.listen(tcp("127.0.0.1", 0))
                const bare = yield* nodeTransport.connect(plain.address)
                expect((yield* plain.accept).certificateNames).toBeUndefined()
                yield* bare.close
              })
            )
        ),
        // A certificate with no CN, whose only name is its DNS name, always.
        { ...fcParams(8), examples: [[[{ entry: "DNS:only", name: "only" }], undefined, "tcp" as Kind]] }
      ),
    60_000
  )
})
