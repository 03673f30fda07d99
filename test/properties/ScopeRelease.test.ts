/**
 * What a socket context opened is released when its scope ends (R-SOCK-33), as a property over real
 * sockets: servers on unix paths, TCP and unix packet sockets, clients connected, a client that keeps
 * retrying an address nobody listens on, a peer that connected and never said who it is, calls and
 * messages in flight both ways, heartbeats and frame deadlines on or off; the processes' scopes end in
 * any order. Afterwards no socket descriptor, socket file, lock file or timer of theirs is left, and
 * every call that waited has ended with a typed error.
 *
 * The oracle is the process itself (its descriptors in /proc/self/fd, Node's active timers, the file
 * system), never the context's own bookkeeping.
 */
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Duration, Effect, Exit, Fiber, References, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { nodeTransport } from "../../src/contexts/socket/NodeTransport.ts"
import { type SocketAddress, tcp, unix, unixPacket } from "../../src/contexts/socket/SocketAddress.ts"
import * as Message from "../../src/model/Message.ts"
import { makeSide, type Side } from "../socket/support.ts"
import { callEndedErrors, errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"
import { processResources, resourcesBackTo } from "../support/processResources.ts"

const directory = mkdtempSync(join(tmpdir(), "bh-scope-release-"))
let paths = 0
const freshPath = () => join(directory, `r${++paths}.sock`)

type Kind = "unix" | "tcp" | "packets"

describe("R-SOCK-33 a socket context's scope releases what it opened", () => {
  it(
    "R-SOCK-33 R-SOCK-11 R-SOCK-14 when the processes' scopes end, in any order and whatever was in flight, no socket, socket file, lock file or timer is left, and every waiting call has ended with a typed error",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.record({
            kind: fc.constantFrom<Kind>("unix", "tcp", "packets"),
            clients: fc.integer({ min: 1, max: 2 }),
            heartbeatMs: fc.constantFrom(0, 40, 200),
            frameTimeoutMs: fc.constantFrom(0, 300),
            receipts: fc.boolean(),
            retrying: fc.boolean(),
            unidentified: fc.boolean(),
            callsToServer: fc.integer({ min: 0, max: 2 }),
            callsToClients: fc.integer({ min: 0, max: 2 }),
            oneWay: fc.integer({ min: 0, max: 3 }),
            groupCall: fc.boolean(),
            // The rank of each process's scope in the order they end: the server, the clients, the retrying one.
            order: fc.array(fc.nat(), { minLength: 4, maxLength: 4 })
          }),
          (script) =>
            Effect.runPromise(
              Effect.gen(function* () {
                const before = yield* processResources
                const path = freshPath()
                const requested: SocketAddress =
                  script.kind === "tcp" ? tcp("127.0.0.1", 0) : script.kind === "unix" ? unix(path) : unixPacket(path)
                const options = {
                  heartbeatMs: script.heartbeatMs,
                  frameTimeoutMs: script.frameTimeoutMs,
                  receipts: script.receipts
                }
                const scopes: Array<Scope.Closeable> = []
                const inScope = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
                  Effect.gen(function* () {
                    const scope = yield* Scope.make()
                    scopes.push(scope)
                    return yield* Effect.provideService(effect, Scope.Scope, scope)
                  })
                const clientNames = Array.from({ length: script.clients }, (_, i) => `X${i}`)
                // The server's process: modules A and B in group g.
                const { s, address } = yield* inScope(
                  Effect.gen(function* () {
                    const s = yield* makeSide(nodeTransport, options)
                    yield* s.beehive.addModule("A")
                    yield* s.beehive.addModule("B")
                    yield* s.beehive.addModuleGroup("A", "g")
                    yield* s.beehive.addModuleGroup("B", "g")
                    const server = yield* s.socket.serve({ address: requested, accept: clientNames })
                    return { s, address: server.address }
                  })
                )
                const clients: Array<{ readonly name: string; readonly side: Side }> = []
                for (const name of clientNames) {
                  const c = yield* inScope(
                    Effect.gen(function* () {
                      const c = yield* makeSide(nodeTransport, options)
                      yield* c.beehive.addModule(name)
                      const client = yield* c.socket.connect({ module: name, address })
                      yield* client.connected
                      return c
                    })
                  )
                  clients.push({ name, side: c })
                }
                // A client that keeps retrying: nothing listens on its address (R-SOCK-12).
                if (script.retrying) {
                  yield* inScope(
                    Effect.gen(function* () {
                      const c = yield* makeSide(nodeTransport, options)
                      yield* c.beehive.addModule("Y")
                      const nowhere =
                        script.kind === "tcp" ? tcp("127.0.0.1", 1) : unix(join(directory, `nobody${++paths}.sock`))
                      yield* c.socket.connect({ module: "Y", address: nowhere })
                    })
                  )
                }
                // A peer that connected and never identifies: the server holds it for its handshake deadline.
                const unidentified = script.unidentified ? yield* nodeTransport.connect(address) : undefined
                const drainer =
                  unidentified === undefined
                    ? undefined
                    : Effect.runFork(
                        Effect.forever(unidentified.read).pipe(Effect.ensuring(unidentified.close), Effect.ignore)
                      )
                // Calls and messages in flight both ways; nobody answers or receives. The calls run outside
                // the scopes, as a caller elsewhere in the program would.
                const calls: Array<Fiber.Fiber<unknown, unknown>> = []
                const call = (effect: Effect.Effect<unknown, unknown>) => {
                  calls.push(Effect.runFork(effect))
                }
                for (const [i, { name, side: c }] of clients.entries()) {
                  for (let k = 0; k < script.callsToServer; k++) {
                    call(c.beehive.sendSync("A", Message.make({ header: { id: `c${i}-${k}` }, content: k }), 30_000))
                  }
                  for (let k = 0; k < script.callsToClients; k++) {
                    const request = Message.make({ header: { id: `s${i}-${k}` }, content: k })
                    call(s.beehive.sendSync(name, request, 30_000))
                  }
                  for (let k = 0; k < script.oneWay; k++) {
                    yield* c.beehive.send("A", Message.make({ content: k }))
                    yield* s.beehive.send(name, Message.make({ content: k }))
                  }
                  if (script.groupCall) call(c.beehive.sendToGroupSync("g", Message.make({ content: "all" }), 30_000))
                }
                // What was sent reaches the wire before the ends.
                yield* Effect.sleep(Duration.millis(20))
                const order = scopes.map((scope, i) => ({ scope, rank: script.order[i] ?? 0, i }))
                order.sort((a, b) => a.rank - b.rank || a.i - b.i)
                for (const { scope } of order) yield* Scope.close(scope, Exit.void)
                for (const fiber of calls) {
                  const exit = yield* Fiber.await(fiber).pipe(Effect.timeout(Duration.seconds(5)))
                  const error = errorOf(exit) as { readonly _tag?: string } | undefined
                  expect(callEndedErrors, `a waiting call ended with ${String(exit)}`).toContain(error?._tag)
                }
                if (drainer !== undefined) yield* Fiber.await(drainer).pipe(Effect.timeout(Duration.seconds(5)))
                // A close waits for its flush (2 s at most) within the scope's end: what is left after is left.
                const after = yield* resourcesBackTo(before, 1000)
                expect(after.sockets, "socket descriptors left").toBeLessThanOrEqual(before.sockets)
                expect(after.timers, "timers left").toBeLessThanOrEqual(before.timers)
                if (script.kind !== "tcp") {
                  expect(existsSync(path), "the socket file").toBe(false)
                  expect(existsSync(`${path}.lock`), "the lock file").toBe(false)
                }
              }).pipe(Effect.provideService(References.MinimumLogLevel, "Error"))
            )
        ),
        fcParams(20)
      ),
    180_000
  )
})
