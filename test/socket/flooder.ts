/**
 * A peer that floods a SOCK_SEQPACKET connection (R-SOCK-30, R-SOCK-11): a child process (its own
 * write queue is not this process's memory) writing packets with node-unix-socket as fast as the
 * system takes them, and printing how many bytes it got written.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { listenSeqpacket } from "../../src/contexts/socket/SeqpacketTransport.ts"
import type { Connection } from "../../src/contexts/socket/Transport.ts"

const root = join(import.meta.dirname, "../..")

// Packet `i` is `size` bytes: its number, then filler. Packets are handed to the package in bursts of
// `burst` (it queues them and writes as many as the system takes at each chance, faster than a reader
// handles them one by one); the next burst once the system took the last one, in the next task (the
// package refuses a write from inside its write callback). Only packets the system took are counted.
const flooder = `
const { SeqpacketSocket } = require("node-unix-socket")
const [path, count, size, burst] = process.argv.slice(1).map((a, i) => (i === 0 ? a : Number(a)))
const socket = new SeqpacketSocket()
let written = 0
let i = 0
// Reported in the next task: a write's callback due in this one still counts it.
const done = () => setImmediate(() => { process.stdout.write(String(written)); process.exit(0) })
socket.on("error", (e) => { console.error(e); done() })
socket.on("close", done)
socket.on("end", done)
const next = () => {
  if (i === count) { socket.end(done); return }
  const last = Math.min(count, i + burst)
  try {
    while (i < last) {
      const packet = Buffer.alloc(size, 120)
      packet.write(String(i++).padStart(8, "0"))
      const isLast = i === last
      socket.write(packet, 0, size, () => { written += size; if (isLast) setImmediate(next) })
    }
  } catch (e) { console.error(e); done() }
}
socket.connect(path, next)
`

/** Starts the flooder on `path`; resolves with the bytes it got written, once it exits. */
const flood = (
  path: string,
  count: number,
  size: number,
  burst: number
): { child: ChildProcess; written: Promise<number> } => {
  const child = spawn(process.execPath, ["-e", flooder, path, String(count), String(size), String(burst)], {
    cwd: root
  })
  let out = ""
  child.stdout.on("data", (chunk) => {
    out += chunk
  })
  const written = new Promise<number>((resolve) => child.on("exit", () => resolve(Number(out))))
  return { child, written }
}

// The most packets the system holds between a writer and a reader that stopped reading: the writer's
// socket buffer (net.core.wmem_default) counts each packet's whole buffer, well over 256 bytes.
export const systemBufferedPackets =
  Math.ceil(Number(readFileSync("/proc/sys/net/core/wmem_default", "utf8")) / 256) + 2

const socketPath = () => join(mkdtempSync(join(tmpdir(), "beehive-flood-")), "flood.sock")

/** Accepts the flooder's connection on a new listener, and never reads from it while the flood runs. */
export const floodUnread = (count: number, size: number, burst: number) =>
  Effect.gen(function* () {
    const path = socketPath()
    const listener = yield* listenSeqpacket(path)
    const peer = flood(path, count, size, burst)
    yield* Effect.addFinalizer(() => Effect.sync(() => peer.child.kill("SIGKILL")))
    const connection: Connection = yield* listener.accept
    yield* Effect.addFinalizer(() => connection.close)
    return { connection, written: peer.written }
  })
