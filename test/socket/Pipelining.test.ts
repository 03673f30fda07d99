/**
 * R-SOCK-17 against a real process (issue 11, item 1): a peer that pipelines 300,000 sync requests and
 * never reads the answers must not make the serving process grow without limit, and a healthy client
 * next to it keeps getting its answers. The server is the child process of test/socket/fixtures; its
 * `memory` module reports the memory it uses after a collection.
 */
import { mkdtempSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { nodeTransport } from "../../src/contexts/socket/NodeTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { msg } from "../support/messages.ts"
import { ensureBuilt, kill, startServer } from "./child.ts"
import { makeSide, run, waitFor } from "./support.ts"

const pipelined = 300_000
const allowedGrowthBytes = 20 * 1024 * 1024

beforeAll(() => ensureBuilt(), 120_000)

describe("a peer that pipelines requests and never reads", () => {
  it(
    "R-SOCK-17 300,000 pipelined requests grow the server by less than 20 MB; a healthy client keeps its answers",
    () =>
      run(
        Effect.gen(function* () {
          const path = join(mkdtempSync(join(tmpdir(), "bh-pipeline-")), "beehive.sock")
          const server = yield* Effect.promise(() => startServer({ type: "unix", address: path }))
          yield* Effect.addFinalizer(() => Effect.promise(() => kill(server)))
          const side = yield* makeSide(nodeTransport)
          yield* side.beehive.addModule("X")
          const client = yield* side.socket.connect({ module: "X", address: unix(path) })
          yield* client.connected
          let calls = 0
          const memory = Effect.suspend(() =>
            Effect.map(side.beehive.sendSync("memory", msg(`mem-${calls++}`, "?"), 10_000), (m) => {
              const { heapUsed, arrayBuffers, external } = m.content as {
                heapUsed: number
                arrayBuffers: number
                external: number
              }
              return heapUsed + arrayBuffers + external
            })
          )
          const healthyCalls = (label: string) =>
            Effect.forEach(
              Array.from({ length: 100 }, (_, i) => `${label}-${i}`),
              (id) =>
                Effect.gen(function* () {
                  const started = performance.now()
                  const answer = yield* side.beehive.sendSync("A", msg(id, id), 10_000)
                  expect(answer.content).toEqual({ echo: id, by: "A" })
                  return performance.now() - started
                })
            )
          const warm = yield* healthyCalls("warm")
          const before = yield* memory

          // A Go-like peer (NDJSON): the handshake, then requests it never reads the answers to.
          const attacker = net.connect({ path })
          attacker.on("error", () => {})
          let answered = ""
          attacker.on("data", (d) => {
            answered += d.toString("latin1")
          })
          attacker.write(
            '{"header":{"msg_id":"hs","timestamp":1,"sync":true,"type":"unixpacket"},"route":{"source":"Y","operation":"add","resource":"module"},"content":""}\n'
          )
          yield* waitFor(() => answered.includes("\n"), "the handshake answer", 10_000)
          attacker.pause()
          for (let start = 0; start < pipelined; start += 10_000) {
            const lines: Array<string> = []
            for (let i = start; i < start + 10_000; i++)
              lines.push(
                `{"header":{"msg_id":"p${i}","timestamp":1,"sync":true},"route":{"source":"Y","destination":"A"},"content":"pipelined ${i}"}\n`
              )
            attacker.write(lines.join(""))
          }

          const during = yield* healthyCalls("during")
          let most = 0
          for (let i = 0; i < 8; i++) {
            most = Math.max(most, (yield* memory) - before)
            yield* Effect.sleep("250 millis")
          }
          const median = (ms: ReadonlyArray<number>) =>
            [...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)] as number
          const sorted = [...during].sort((a, b) => a - b)
          console.log(
            `pipelining peer: server grew ${(most / 1024 / 1024).toFixed(1)} MB; healthy sendSync median ` +
              `${(sorted[50] as number).toFixed(2)} ms, max ${(sorted[99] as number).toFixed(2)} ms during the attack`
          )
          expect(most).toBeLessThan(allowedGrowthBytes)
          // Its answers come as they did before the attack (a server busy with the attacker's requests
          // answered in a median of 31 ms here, against 0.6 ms).
          expect(median(during)).toBeLessThan(Math.max(10, 10 * median(warm)))
          attacker.destroy()
        })
      ),
    120_000
  )
})
