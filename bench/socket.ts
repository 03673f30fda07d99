/**
 * Benchmarks of the socket context across processes, next to the channel context in the same run.
 * Run with `npm run bench:socket` (a build, then `node --expose-gc dist/bench/socket.js`). This process is the
 * client; it starts itself again as the server process (`--serve`) for each transport.
 *
 * - one-way: N `send`s of distinct small messages (built one by one, as a module builds them) to a
 *   module in the other process, timed until a `sendSync` sent after them to the same module returns
 *   (the server delivers per destination in order, so every message was received by then);
 * - sendSync: round trips to a module that answers every request, with 1 caller and with 16;
 * - the same with both ends in this process over the memory transport: the socket context's own cost
 *   (framing, JSON, its fibers), without system calls or the wake-up of another process, which on an
 *   idle virtual machine are most of a round trip;
 * - next to them, one-byte round trips against a bare node:net echo server in another process: the
 *   machine's floor for a round trip at the time of the run (all figures move with the machine's load);
 *   and one-way messages of the same shape through a bare node:net messenger (JSON.stringify, a length
 *   prefix, JSON.parse at the other end), the floor for one-way messages; and request/response round
 *   trips of the same shape through a bare node:net JSON echo (each side builds, stringifies, frames and
 *   parses what it sends and gets), the floor for a sync round trip that carries JSON;
 * - issue 13's targets over a unix socket: >= 300 k one-way msgs/s, >= 50 k sendSync/s with 1 caller,
 *   each next to its bare baseline.
 *
 * Each figure is the median of 5 measured runs after one warm-up run.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import * as net from "node:net"
import os, { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Fiber, Layer, References } from "effect"
import { Beehive, type BeehiveService, makeHost } from "../src/contexts/Beehive.ts"
import { ContextHost } from "../src/contexts/ContextHost.ts"
import { MemoryNetwork } from "../src/contexts/socket/MemoryTransport.ts"
import { nodeTransport } from "../src/contexts/socket/NodeTransport.ts"
import { type SocketAddress, tcp, unix } from "../src/contexts/socket/SocketAddress.ts"
import { makeSocketContext, SocketContext } from "../src/contexts/socket/SocketContext.ts"
import { Transport, type TransportShape } from "../src/contexts/socket/Transport.ts"
import * as Message from "../src/model/Message.ts"

const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const ONE_WAY = Number(process.env.BENCH_ONE_WAY ?? 500_000)
const ROUND_TRIPS = Number(process.env.BENCH_ROUND_TRIPS ?? 50_000)
const CALLERS = 16

/** BENCH_BATCH overrides the write batch size (bytes) on both sides, to compare. */
// BENCH_RECEIPTS=0 measures without receipts (R-SOCK-21), as with a Go peer.
const socketOptions = {
  batchBytes: Number(process.env.BENCH_BATCH) || undefined,
  receipts: process.env.BENCH_RECEIPTS !== "0"
}

const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : `${(x / 1e3).toFixed(1)} k/s`)

/** Modules every side has: "sink" counts and answers a count; "echo" answers everything. */
const serveModules = (b: BeehiveService) =>
  Effect.gen(function* () {
    yield* b.addModule("sink", { capacity: 4096 })
    yield* b.addModule("echo")
    let received = 0
    // Receive loops as beehive modules are written (Effect.forever would yield after every message).
    yield* Effect.forkChild(
      Effect.gen(function* () {
        while (true) {
          const m = yield* b.receive("sink")
          received++
          if (m.header.sync) yield* b.sendResp(yield* Message.newResponse(m, received), "sink")
        }
      })
    )
    yield* Effect.forkChild(
      Effect.gen(function* () {
        while (true) {
          const m = yield* b.receive("echo")
          yield* b.sendResp(yield* Message.newResponse(m, "ok"), "echo")
        }
      })
    )
  })

// Messages are built as a module builds them, one by one, so the run does not hold them all.
const oneWay = (b: BeehiveService, run: number) =>
  Effect.gen(function* () {
    const prefix = `o${run}-`
    const start = performance.now()
    for (let i = 0; i < ONE_WAY; i++) {
      yield* b.send("sink", Message.make({ header: { id: `${prefix}${i}`, timestamp: 1 }, content: "payload" }))
    }
    yield* b.sendSync("sink", Message.make({ header: { id: `${prefix}end`, timestamp: 1 } }), 60_000)
    return (ONE_WAY / (performance.now() - start)) * 1000
  })

const roundTrips = (b: BeehiveService, run: number, callers: number) =>
  Effect.gen(function* () {
    const per = Math.floor(ROUND_TRIPS / callers)
    const start = performance.now()
    const fibers = yield* Effect.forEach(
      Array.from({ length: callers }, (_, c) => c),
      (c) =>
        Effect.forkChild(
          Effect.gen(function* () {
            for (let i = 0; i < per; i++) {
              yield* b.sendSync("echo", Message.make({ header: { id: `r${run}-${c}-${i}`, timestamp: 1 } }), 60_000)
            }
          })
        )
    )
    yield* Effect.forEach(fibers, Fiber.join)
    return ((per * callers) / (performance.now() - start)) * 1000
  })

/** Collects garbage when the process runs with --expose-gc, so one phase's garbage is not the next one's cost. */
const collectGarbage = Effect.sync(() => (globalThis as { gc?: () => void }).gc?.())

/** One warm-up run, then RUNS measured runs; the median. */
const phase = (run: (i: number) => Effect.Effect<number, unknown>) =>
  Effect.gen(function* () {
    yield* collectGarbage
    const results: Array<number> = []
    for (let i = 0; i <= RUNS; i++) {
      const r = yield* run(i)
      if (i > 0) results.push(r)
    }
    return median(results)
  })

const measure = (b: BeehiveService) =>
  Effect.gen(function* () {
    const sync1 = yield* phase((i) => roundTrips(b, i, 1))
    const syncN = yield* phase((i) => roundTrips(b, i + 100, CALLERS))
    const oneWayRate = yield* phase((i) => oneWay(b, i))
    return { oneWay: oneWayRate, sync1, syncN }
  })

/** The server process: serves "sink" and "echo" to the client module "bench". */
const serve = (address: SocketAddress) =>
  Effect.gen(function* () {
    const socket = yield* SocketContext
    const beehive = yield* Beehive
    yield* serveModules(beehive)
    const server = yield* socket.serve({ address, accept: ["bench"] })
    console.log(`READY ${JSON.stringify(server.address)}`)
    return yield* Effect.never
  }).pipe(Effect.scoped, Effect.provide(SocketContext.layerNode(socketOptions).pipe(Layer.provideMerge(Beehive.layer))))

/** A bare node:net echo server: the machine's floor for a round trip between two processes. */
const echo = (address: SocketAddress) => {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true)
    socket.on("data", (d) => socket.write(d))
    socket.on("error", () => {})
  })
  const ready = () => {
    const bound = server.address()
    const actual =
      address._tag === "Tcp" && typeof bound === "object" && bound !== null ? tcp(address.host, bound.port) : address
    console.log(`READY ${JSON.stringify(actual)}`)
  }
  if (address._tag !== "Tcp") server.listen(address.path, ready)
  else server.listen(address.port, address.host, ready)
}

/** `value` as JSON behind a 4-byte length: the bare messengers' frame. */
const jsonFrame = (value: unknown): Buffer => {
  const json = JSON.stringify(value)
  const bytes = Buffer.allocUnsafe(4 + Buffer.byteLength(json))
  bytes.writeUInt32BE(bytes.length - 4, 0)
  bytes.write(json, 4, "utf8")
  return bytes
}

/** A `data` listener that cuts a stream into `jsonFrame`s and hands each on, `JSON.parse`d. */
const jsonFrames = (onValue: (value: unknown) => void) => {
  let pending: Buffer = Buffer.alloc(0)
  return (chunk: Buffer) => {
    let buffer = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    let offset = 0
    while (buffer.length - offset >= 4) {
      const length = buffer.readUInt32BE(offset)
      if (buffer.length - offset - 4 < length) break
      const value: unknown = JSON.parse(buffer.toString("utf8", offset + 4, offset + 4 + length))
      offset += 4 + length
      onValue(value)
    }
    buffer = buffer.subarray(offset)
    pending = buffer.length === 0 ? Buffer.alloc(0) : Buffer.from(buffer)
  }
}

/** A bare node:net server over `address` whose connections get `onConnection`. */
const bareServer = (address: SocketAddress, onConnection: (socket: net.Socket) => void) => {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true)
    socket.on("error", () => {})
    onConnection(socket)
  })
  server.listen((address as { path: string }).path, () => console.log(`READY ${JSON.stringify(address)}`))
}

/**
 * A bare node:net messenger's receiving end: `JSON.parse`s each frame, and answers one byte once it
 * has parsed as many as the first frame says.
 */
const jsonSink = (address: SocketAddress) =>
  bareServer(address, (socket) => {
    let expected = -1
    let parsed = 0
    socket.on(
      "data",
      jsonFrames((value) => {
        if (expected < 0) expected = (value as { n?: number }).n ?? 0
        else if (++parsed === expected) {
          socket.write("x")
          expected = -1
          parsed = 0
        }
      })
    )
  })

/** The bench's message of `id`, in Go beehive's JSON shape: what the bare messengers carry. */
const wireMessage = (id: string, parentId: string, sync: boolean, content: string) => ({
  header: { msg_id: id, parent_msg_id: parentId, timestamp: 1, sync },
  route: { source: "bench", group: "", operation: "", resource: "" },
  content
})

/** A bare node:net JSON echo: answers each request it parses with a response it builds and frames. */
const jsonEcho = (address: SocketAddress) =>
  bareServer(address, (socket) => {
    socket.on(
      "data",
      jsonFrames((value) => {
        const id = (value as { header: { msg_id: string } }).header.msg_id
        socket.write(jsonFrame(wireMessage(`${id}-r`, id, false, "ok")))
      })
    )
  })

/**
 * One-way messages per second through a bare node:net messenger in another process: `n` messages of
 * the benchmark's shape, each built, `JSON.stringify`d and framed one by one, written in 256 KiB
 * batches that wait for `drain`, parsed one by one at the other end; timed until it says it has all.
 */
const rawOneWay = (address: SocketAddress, n: number, run: number): Promise<number> =>
  new Promise((resolve) => {
    const socket = net.connect((address as { path: string }).path)
    socket.setNoDelay(true)
    let start = 0
    let i = 0
    const writeSome = () => {
      while (i < n) {
        const batch: Array<Buffer> = []
        let bytes = 0
        for (; i < n && bytes < 256 * 1024; i++) {
          const m = jsonFrame(wireMessage(`o${run}-${i}`, "", false, "payload"))
          batch.push(m)
          bytes += m.length
        }
        if (!socket.write(Buffer.concat(batch, bytes))) {
          socket.once("drain", writeSome)
          return
        }
      }
    }
    socket.on("connect", () => {
      start = performance.now()
      socket.write(jsonFrame({ n }))
      writeSome()
    })
    socket.on("data", () => {
      socket.destroy()
      resolve((n / (performance.now() - start)) * 1000)
    })
  })

/**
 * Request/response round trips per second against a bare JSON echo in another process: each request
 * built and framed, each response parsed and checked to answer it, one at a time.
 */
const rawJsonPingPong = (address: SocketAddress, n: number, run: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const socket = net.connect((address as { path: string }).path)
    socket.setNoDelay(true)
    let count = 0
    let start = 0
    const request = () => socket.write(jsonFrame(wireMessage(`j${run}-${count}`, "", true, "payload")))
    socket.on("connect", () => {
      start = performance.now()
      request()
    })
    socket.on(
      "data",
      jsonFrames((value) => {
        if ((value as { header: { parent_msg_id: string } }).header.parent_msg_id !== `j${run}-${count}`)
          return reject(new Error("the bare JSON echo answered another request"))
        if (++count < n) request()
        else {
          socket.destroy()
          resolve((n / (performance.now() - start)) * 1000)
        }
      })
    )
  })

/** Round trips per second of one byte against a bare echo server in another process. */
const rawPingPong = (address: SocketAddress, n: number): Promise<number> =>
  new Promise((resolve) => {
    const socket = address._tag !== "Tcp" ? net.connect(address.path) : net.connect(address.port, address.host)
    socket.setNoDelay(true)
    let count = 0
    let start = 0
    socket.on("connect", () => {
      start = performance.now()
      socket.write("x")
    })
    socket.on("data", () => {
      if (++count < n) socket.write("x")
      else {
        socket.destroy()
        resolve((n / (performance.now() - start)) * 1000)
      }
    })
  })

const startServer = (
  address: SocketAddress,
  mode: "--serve" | "--echo" | "--json-sink" | "--json-echo" = "--serve"
): Promise<{ child: ChildProcess; address: SocketAddress }> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...process.execArgv, process.argv[1] as string, mode, JSON.stringify(address)],
      {
        stdio: ["ignore", "pipe", "inherit"]
      }
    )
    let out = ""
    child.stdout?.on("data", (d) => {
      out += d
      const match = /READY (.*)\n/.exec(out)
      if (match !== null) resolve({ child, address: JSON.parse(match[1] as string) })
    })
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)))
  })

/**
 * A bare baseline: a server process started in `mode`, then the median of RUNS runs of `measure`
 * against it, after one warm-up run.
 */
const bareMedian = (
  address: SocketAddress,
  mode: "--echo" | "--json-echo" | "--json-sink",
  measure: (address: SocketAddress, run: number) => Promise<number>
) =>
  Effect.gen(function* () {
    const server = yield* Effect.promise(() => startServer(address, mode))
    yield* Effect.addFinalizer(() => Effect.sync(() => server.child.kill("SIGTERM")))
    const results: Array<number> = []
    for (let run = 0; run <= RUNS; run++) {
      const r = yield* Effect.promise(() => measure(server.address, run))
      if (run > 0) results.push(r)
    }
    return median(results)
  }).pipe(Effect.scoped)

/** Bare round trips of one byte: ROUND_TRIPS / 2 pings a run. */
const rawRoundTrips = (address: SocketAddress) =>
  bareMedian(address, "--echo", (at) => rawPingPong(at, Math.floor(ROUND_TRIPS / 2)))

/** Bare JSON round trips over a unix socket: ROUND_TRIPS / 2 a run. */
const rawJsonRoundTrips = (address: SocketAddress) =>
  bareMedian(address, "--json-echo", (at, run) => rawJsonPingPong(at, Math.floor(ROUND_TRIPS / 2), run))

/** Bare one-way messages over a unix socket: ONE_WAY messages a run. */
const rawOneWays = (address: SocketAddress) =>
  bareMedian(address, "--json-sink", (at, run) => rawOneWay(at, ONE_WAY, run))

/** A global context with a socket context over `transport`. */
const socketSide = (transport: TransportShape) =>
  Effect.gen(function* () {
    const host = yield* makeHost()
    const socket = yield* makeSocketContext(socketOptions).pipe(
      Effect.provideService(Transport, transport),
      Effect.provideService(ContextHost, host)
    )
    return { beehive: host.beehive, socket }
  })

/** The client side, module "bench", connected to `address`, measured. */
const measureClient = (transport: TransportShape, address: SocketAddress) =>
  Effect.gen(function* () {
    const { beehive, socket } = yield* socketSide(transport)
    yield* beehive.addModule("bench")
    const client = yield* socket.connect({ module: "bench", address })
    yield* client.connected
    return yield* measure(beehive)
  })

/** The client side over a transport to a server process. */
const overSocket = (address: SocketAddress) =>
  Effect.gen(function* () {
    const server = yield* Effect.promise(() => startServer(address))
    yield* Effect.addFinalizer(() =>
      Effect.callback<void>((resume) => {
        server.child.once("exit", () => resume(Effect.void))
        server.child.kill("SIGTERM")
      })
    )
    return yield* measureClient(nodeTransport, server.address)
  }).pipe(Effect.scoped)

/** Both sides in this process over the memory transport: the socket context's own cost. */
const overMemory = Effect.gen(function* () {
  const network = new MemoryNetwork()
  const server = yield* socketSide(network.transport)
  yield* serveModules(server.beehive)
  const { address } = yield* server.socket.serve({ address: unix("/memory/bench.sock"), accept: ["bench"] })
  return yield* measureClient(network.transport, address)
}).pipe(Effect.scoped)

const inProcess = Effect.gen(function* () {
  const beehive = yield* Beehive.make()
  yield* serveModules(beehive)
  return yield* measure(beehive)
}).pipe(Effect.scoped)

const main = Effect.gen(function* () {
  console.log(`socket context benchmarks — Node ${process.version}, ${os.cpus().length} cores, ${os.cpus()[0]?.model}`)
  console.log(`one-way: ${ONE_WAY} sends per run; sendSync: ${ROUND_TRIPS} round trips per run; median of ${RUNS}\n`)
  // Its socket files go with it, whatever happens to the run.
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "bh-bench-"))),
    (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
  )
  const step = (label: string) => Effect.sync(() => process.stderr.write(`measuring: ${label}…\n`))
  yield* step("channel context, same process")
  const channel = yield* inProcess
  yield* step("socket context over a unix socket, 2 processes")
  const overUnix = yield* overSocket(unix(join(dir, "b.sock")))
  yield* step("socket context over TCP loopback, 2 processes")
  const overTcp = yield* overSocket(tcp("127.0.0.1", 0))
  yield* step("socket context over the memory transport, same process")
  const memory = yield* overMemory
  const rows: Array<[string, { oneWay: number; sync1: number; syncN: number }]> = [
    ["channel context (same process)", channel],
    ["socket, unix domain (2 processes)", overUnix],
    ["socket, TCP loopback (2 processes)", overTcp],
    ["socket, memory transport (1 process)", memory]
  ]
  console.log(
    `${"".padEnd(38)}${"send one-way".padStart(16)}${"sendSync 1 caller".padStart(20)}${`sendSync ${CALLERS} callers`.padStart(22)}`
  )
  for (const [name, r] of rows) {
    console.log(
      `${name.padEnd(38)}${fmt(r.oneWay).padStart(16)}${fmt(r.sync1).padStart(20)}${fmt(r.syncN).padStart(22)}`
    )
  }
  yield* step("bare node:net echo, unix and TCP")
  const raw = {
    unix: yield* rawRoundTrips(unix(join(dir, "echo.sock"))),
    tcp: yield* rawRoundTrips(tcp("127.0.0.1", 0))
  }
  console.log(
    `${"bare node:net echo, 1 byte (unix / TCP)".padEnd(38)}${"".padStart(16)}${`${fmt(raw.unix)} / ${fmt(raw.tcp)}`.padStart(20)}`
  )
  yield* step("bare node:net JSON echo, unix")
  const rawJson = yield* rawJsonRoundTrips(unix(join(dir, "json-echo.sock")))
  console.log(`${"bare node:net JSON echo (unix)".padEnd(38)}${"".padStart(16)}${fmt(rawJson).padStart(20)}`)
  yield* step("bare node:net JSON messages one-way, unix")
  const rawOneWayRate = yield* rawOneWays(unix(join(dir, "sink.sock")))
  console.log(`${"bare node:net JSON one-way (unix)".padEnd(38)}${fmt(rawOneWayRate).padStart(16)}`)
  // Issue 13's targets, each next to its bare node:net baselines of this run.
  const targets: ReadonlyArray<readonly [string, string, number, number, ReadonlyArray<readonly [string, number]>]> = [
    ["one-way over a unix socket", ">= 300 k msgs/s", overUnix.oneWay, 300_000, [["bare JSON one-way", rawOneWayRate]]],
    [
      "sendSync, 1 caller, over a unix socket",
      ">= 50 k/s",
      overUnix.sync1,
      50_000,
      [
        ["bare echo", raw.unix],
        ["bare JSON echo", rawJson]
      ]
    ]
  ]
  console.log("")
  let met = true
  for (const [name, target, value, bound, baselines] of targets) {
    met &&= value >= bound
    const next = baselines.map(([baseline, rate]) => `${baseline} ${fmt(rate)}, ratio ${(value / rate).toFixed(2)}`)
    console.log(`target: ${target} ${name}: ${fmt(value)} (${next.join("; ")}): ${value >= bound ? "met" : "MISSED"}`)
  }
  return met
}).pipe(Effect.scoped)

const quiet = <A, E>(effect: Effect.Effect<A, E>) =>
  effect.pipe(Effect.provideService(References.MinimumLogLevel, "Error"))

if (process.argv[2] === "--echo") {
  process.once("SIGTERM", () => process.exit(0))
  echo(JSON.parse(process.argv[3] as string))
} else if (process.argv[2] === "--json-echo") {
  process.once("SIGTERM", () => process.exit(0))
  jsonEcho(JSON.parse(process.argv[3] as string))
} else if (process.argv[2] === "--json-sink") {
  process.once("SIGTERM", () => process.exit(0))
  jsonSink(JSON.parse(process.argv[3] as string))
} else if (process.argv[2] === "--serve") {
  // A clean exit, so that profilers (--cpu-prof) write their output.
  process.once("SIGTERM", () => process.exit(0))
  Effect.runPromise(quiet(serve(JSON.parse(process.argv[3] as string)))).catch((e) => {
    console.error(e)
    process.exit(1)
  })
} else {
  // With --check, a missed target is a failure (exit 1), for CI.
  Effect.runPromise(quiet(main)).then(
    (met) => process.exit(met || !process.argv.includes("--check") ? 0 : 1),
    (e) => {
      console.error(e)
      process.exit(1)
    }
  )
}
