/**
 * A SOCK_SEQPACKET peer that vanishes while this process writes to it (R-SOCK-30, R-SOCK-11): its
 * process is killed, stopped first (so that what this process wrote waits unread in its socket, and
 * more waits to be written here) or not. The package reports the system's error on the connection (an
 * `error` event); the connection ends with it, every write in flight fails with it, and nothing is left
 * for the process to crash on.
 */
import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { listenSeqpacket } from "../../src/contexts/socket/SeqpacketTransport.ts"
import { ConnectionClosed } from "../../src/model/SocketErrors.ts"
import { fcParams } from "../support/fc.ts"

const root = join(import.meta.dirname, "../..")

// Connects and reads (the package reads whatever arrives) until it is killed.
const peer = `
const { SeqpacketSocket } = require("node-unix-socket")
const socket = new SeqpacketSocket()
socket.on("error", () => {})
socket.connect(process.argv[1], () => process.stdout.write("connected"))
setInterval(() => {}, 1000)
`

const PeerClosed = "the peer closed the connection"

describe("a packet peer killed while this process writes to it (R-SOCK-30, R-SOCK-11)", () => {
  it(
    "R-SOCK-30 R-SOCK-11 the connection ends with ConnectionClosed, each write in flight settled (written, or failed with that same reason), a later write refused with it; a peer killed with packets it never read ends it with the system's error, not as a close",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 64, max: 16 * 1024 }),
          fc.integer({ min: 1, max: 600 }),
          fc.boolean(),
          (size, writes, stopped) =>
            Effect.runPromise(
              Effect.scoped(
                Effect.gen(function* () {
                  const path = join(mkdtempSync(join(tmpdir(), "beehive-gone-")), "gone.sock")
                  const listener = yield* listenSeqpacket(path)
                  const child = spawn(process.execPath, ["-e", peer, path], { cwd: root })
                  yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
                  const connection = yield* listener.accept
                  yield* Effect.addFinalizer(() => connection.close)
                  if (stopped) child.kill("SIGSTOP")
                  let written = 0
                  const inFlight = yield* Effect.forEach(Array.from({ length: writes }), () =>
                    Effect.forkChild(
                      Effect.tap(connection.write(new Uint8Array(size)), () => Effect.sync(() => written++))
                    )
                  )
                  // Killed once the writes stall (the system took what it buffers) or all went out.
                  let seen = -1
                  while (seen !== written && written < writes) {
                    seen = written
                    yield* Effect.sleep("30 millis")
                  }
                  // Stalled writes to a stopped peer: its socket is full of packets it never read.
                  const unread = stopped && written < writes
                  child.kill("SIGKILL")
                  const ended = yield* Effect.flip(Effect.forever(connection.read)).pipe(
                    Effect.timeoutOrElse({
                      duration: "5 seconds",
                      orElse: () => Effect.die(new Error("the connection did not end with its peer"))
                    })
                  )
                  expect(ended).toBeInstanceOf(ConnectionClosed)
                  if (unread) expect(ended.detail, "the system's error, not a close").not.toBe(PeerClosed)
                  for (const fiber of inFlight) {
                    const exit = yield* Fiber.await(fiber)
                    if (Exit.isFailure(exit)) expect(yield* Effect.flip(exit)).toBe(ended)
                  }
                  expect(yield* Effect.flip(connection.write(new Uint8Array(1)))).toBe(ended)
                })
              )
            )
        ),
        { ...fcParams(6), examples: [[1024, 600, true]] }
      ),
    60_000
  )
})
