/**
 * R-SOCK-20 against real processes (issue 11, item 6): a peer that stops (SIGSTOP) is noticed by the
 * heartbeat both sides agreed on, and its pending calls fail at once; a peer that trickles a frame a
 * byte at a time is cut off by the frame timeout; an idle connection with heartbeats stays up; a peer
 * that offers no heartbeat (Go's) sends Go's handshake and gets none.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Fiber } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { nodeTransport } from "../../src/contexts/socket/NodeTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { msg } from "../support/messages.ts"
import { ensureBuilt, kill, startServer } from "./child.ts"
import { makeSide, rawSocket, run, waitFor } from "./support.ts"

const socketPath = () => join(mkdtempSync(join(tmpdir(), "bh-live-")), "beehive.sock")
const heartbeatMs = 100

/** A raw NDJSON peer (as Go writes) that has done its handshake as `module`; `data` is what it read. */
const rawPeer = (path: string, module: string, content: string) =>
  Effect.gen(function* () {
    const { socket, state } = rawSocket(unix(path))
    socket.write(
      `{"header":{"msg_id":"hs","timestamp":1,"sync":true,"type":"unixpacket"},"route":{"source":"${module}","operation":"add","resource":"module"},"content":${content}}\n`
    )
    yield* waitFor(() => state.data.includes("\n"), "the handshake answer", 10_000)
    return { socket, state }
  })

beforeAll(() => ensureBuilt(), 120_000)

describe("peers that stop, trickle or idle", () => {
  it(
    "R-SOCK-20 R-SOCK-11 a stopped peer is unresponsive after three heartbeats: its pending calls fail at once",
    () =>
      run(
        Effect.gen(function* () {
          const path = socketPath()
          const server = yield* Effect.promise(() => startServer({ type: "unix", address: path, heartbeatMs }))
          yield* Effect.addFinalizer(() =>
            Effect.promise(() => {
              server.child.kill("SIGCONT")
              return kill(server)
            })
          )
          const side = yield* makeSide(nodeTransport, { heartbeatMs })
          yield* side.beehive.addModule("X")
          const client = yield* side.socket.connect({ module: "X", address: unix(path), backoff: { initial: 60_000 } })
          expect((yield* client.connected).heartbeat).toBe(heartbeatMs)
          // Idle for ten heartbeats: both ends keep the connection alive.
          yield* Effect.sleep(`${10 * heartbeatMs} millis`)
          expect(side.events.filter((e) => e._tag === "Disconnected")).toEqual([])
          const answer = yield* side.beehive.sendSync("A", msg("alive", "alive"), 5_000)
          expect(answer.content).toEqual({ echo: "alive", by: "A" })

          const pending = yield* Effect.forkChild(side.beehive.sendSync("slow", msg("q", "never answered"), 60_000))
          yield* Effect.sleep("50 millis")
          const stopped = performance.now()
          server.child.kill("SIGSTOP")
          const exit = yield* Fiber.await(pending)
          const failedAfter = performance.now() - stopped
          expect(Exit.isFailure(exit) && String(exit.cause)).toContain("RequestDropped")
          const disconnected = side.events.find((e) => e._tag === "Disconnected")
          expect(disconnected).toMatchObject({ cause: "PeerUnresponsive" })
          console.log(
            `stopped peer: the pending call failed ${failedAfter.toFixed(0)} ms after SIGSTOP (heartbeat ${heartbeatMs} ms)`
          )
          // Three intervals of silence and at most one of measuring, not the call's 60 s.
          expect(failedAfter).toBeLessThan(5_000)
        })
      ),
    60_000
  )

  it(
    "R-SOCK-20 a peer that trickles a frame a byte at a time is cut off by the frame timeout",
    () =>
      run(
        Effect.gen(function* () {
          const path = socketPath()
          const server = yield* Effect.promise(() => startServer({ type: "unix", address: path, frameTimeoutMs: 300 }))
          yield* Effect.addFinalizer(() => Effect.promise(() => kill(server)))
          const peer = yield* rawPeer(path, "Y", '""')
          const request =
            '{"header":{"msg_id":"t1","timestamp":1,"sync":true},"route":{"source":"Y","destination":"A"},"content":"slowly"}\n'
          const started = performance.now()
          for (let i = 0; i < request.length && !peer.state.closed; i++) {
            peer.socket.write(request[i] as string)
            yield* Effect.sleep("50 millis")
          }
          const cutAfter = performance.now() - started
          expect(peer.state.closed).toBe(true)
          // 300 ms of an unfinished frame, checked every 150 ms: well before the line's 5 s at this pace.
          expect(cutAfter).toBeLessThan(3_000)
          yield* waitFor(() => server.log().includes("unresponsive"), "the server's event", 5_000)
          expect(server.log()).toMatch(/module "Y" disconnected: peer .* is unresponsive: a frame stayed unfinished/)
          peer.socket.destroy()
        })
      ),
    60_000
  )

  it(
    "R-SOCK-20 R-SOCK-5 a peer that offers no heartbeat gets Go's handshake answer and no heartbeat, and stays connected",
    () =>
      run(
        Effect.gen(function* () {
          const path = socketPath()
          const server = yield* Effect.promise(() => startServer({ type: "unix", address: path, heartbeatMs }))
          yield* Effect.addFinalizer(() => Effect.promise(() => kill(server)))
          const goPeer = yield* rawPeer(path, "Y", '""')
          const ours = yield* rawPeer(path, "X", `{"heartbeat":${heartbeatMs}}`)
          const [answerToGo] = goPeer.state.data.split("\n")
          expect(JSON.parse(answerToGo as string).content.heartbeat).toBeUndefined()
          const [answerToOurs] = ours.state.data.split("\n")
          expect(JSON.parse(answerToOurs as string).content.heartbeat).toBe(heartbeatMs)
          yield* Effect.sleep(`${6 * heartbeatMs} millis`)
          // The Go peer got nothing more and is still connected; ours got heartbeats (and sent none:
          // a peer that agreed and then went silent is cut off after three intervals).
          expect(goPeer.state.data.split("\n").filter((l) => l !== "").length).toBe(1)
          expect(goPeer.state.closed).toBe(false)
          expect(ours.state.data).toContain('"operation":"beehive-effect/heartbeat"')
          expect(ours.state.closed).toBe(true)
          goPeer.socket.destroy()
          ours.socket.destroy()
        })
      ),
    60_000
  )
})
