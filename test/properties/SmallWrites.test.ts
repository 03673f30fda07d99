/**
 * Small writes go out at once (R-SOCK-28), as a property over real TCP and unix sockets: the two
 * ends of a Node transport connection play ping-pong with messages written in several small writes
 * (generated pieces), each end waiting for the whole message before it answers: the pattern of a
 * frame's pieces, or of pipelined messages, waiting for an answer. With Nagle's algorithm a piece
 * written while an earlier one is unacknowledged waits for the peer's delayed acknowledgement (40 ms
 * at least on Linux, 200 ms elsewhere) on every exchange; without it an exchange takes a fraction
 * of a millisecond on loopback.
 *
 * The bound is for failures, not a speed target: the median exchange must take less than 25 ms, far
 * above a loaded machine's loopback round trip and below one delayed acknowledgement; the median
 * keeps a pause of the machine (another process, a collection) from failing the property.
 */

import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { nodeTransport } from "../../src/contexts/socket/NodeTransport.ts"
import { type SocketAddress, tcp, unix } from "../../src/contexts/socket/SocketAddress.ts"
import type { Connection } from "../../src/contexts/socket/Transport.ts"
import { run } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"

const directory = mkdtempSync(join(tmpdir(), "bh-small-writes-"))
let paths = 0

/** Well below one delayed acknowledgement (40 ms at least), far above a loopback round trip. */
const medianBoundMs = 25

/** Reads until `bytes` bytes came. */
const readExactly = (connection: Connection, bytes: number) =>
  Effect.gen(function* () {
    let got = 0
    while (got < bytes) for (const chunk of yield* connection.read) got += chunk.length
    if (got !== bytes) throw new Error(`read ${got} bytes, expected ${bytes}`)
  })

const writePieces = (connection: Connection, pieces: ReadonlyArray<number>) =>
  Effect.forEach(pieces, (size) => connection.write(new Uint8Array(size).fill(size & 255)), { discard: true })

const total = (pieces: ReadonlyArray<number>) => pieces.reduce((n, s) => n + s, 0)

describe("R-SOCK-28 small writes go out at once", () => {
  it(
    "R-SOCK-28 an exchange of messages written in several small writes takes a loopback round trip, not a delayed acknowledgement",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom("tcp", "unix"),
          fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 2, maxLength: 4 }),
          fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 2, maxLength: 4 }),
          (kind, request, answer) =>
            run(
              Effect.gen(function* () {
                const address: SocketAddress =
                  kind === "tcp" ? tcp("127.0.0.1", 0) : unix(join(directory, `s${++paths}.sock`))
                const listener = yield* nodeTransport.listen(address)
                const client = yield* nodeTransport.connect(listener.address)
                const server = yield* listener.accept
                const exchanges: Array<number> = []
                for (let i = 0; i < 15; i++) {
                  const started = performance.now()
                  yield* writePieces(client, request)
                  yield* readExactly(server, total(request))
                  yield* writePieces(server, answer)
                  yield* readExactly(client, total(answer))
                  exchanges.push(performance.now() - started)
                }
                const sorted = [...exchanges].sort((a, b) => a - b)
                const median = sorted[Math.floor(sorted.length / 2)] as number
                expect(median, `exchanges (ms): ${exchanges.map((ms) => ms.toFixed(1)).join(", ")}`).toBeLessThan(
                  medianBoundMs
                )
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
