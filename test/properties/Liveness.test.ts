/**
 * R-SOCK-20 as a property, on the virtual clock: two processes that agreed on a heartbeat go through
 * random phases of calls, idleness, backpressure (small queues, a receiver that pauses) and network
 * partitions (neither end reads). A partition of five intervals or more ends the connection with
 * `PeerUnresponsive`, within three and a half intervals of its start, and fails the calls waiting
 * across it at once; a connection never ends while
 * both peers are alive, however long it idles or waits for room; and every call made while the
 * connection is up is answered. And a peer that stops inside a frame is cut off by the frame timeout
 * (with a heartbeat and no frame timeout, by its silence).
 */
import { Effect, Exit, type Fiber, References, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { makeHost } from "../../src/contexts/Beehive.ts"
import { ContextHost } from "../../src/contexts/ContextHost.ts"
import { encodeBatch, type Framing } from "../../src/contexts/socket/Framing.ts"
import { makeHandshake } from "../../src/contexts/socket/Handshake.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { DefaultFrameTimeoutMs, makeSocketContext, withNodeDefaults } from "../../src/contexts/socket/SocketContext.ts"
import type { SocketEvent } from "../../src/contexts/socket/SocketEvents.ts"
import { Transport } from "../../src/contexts/socket/Transport.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import * as Message from "../../src/model/Message.ts"
import { encodeJson } from "../../src/model/MessageJson.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"

type Phase =
  | { readonly kind: "calls"; readonly count: number }
  | { readonly kind: "idle"; readonly ms: number }
  | { readonly kind: "partition"; readonly intervals: number }

const arbPhase: fc.Arbitrary<Phase> = fc.oneof(
  fc.record({ kind: fc.constant("calls" as const), count: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constant("idle" as const), ms: fc.integer({ min: 0, max: 5_000 }) }),
  // In heartbeat intervals: one is too short to be noticed, from five on it must be.
  fc.record({ kind: fc.constant("partition" as const), intervals: fc.constantFrom(1, 5, 8) })
)

const address = unix("/liveness/server.sock")

describe("R-SOCK-20 liveness on the virtual clock", () => {
  it(
    "R-SOCK-20 R-SOCK-11 R-SOCK-17 a partition of five heartbeats ends the connection with PeerUnresponsive; idleness and backpressure never do",
    () =>
      fc.assert(
        fc.property(
          fc.record({
            heartbeatMs: fc.constantFrom(50, 100, 1_000),
            frameTimeoutMs: fc.constantFrom(0, 300, 30_000),
            capacity: fc.integer({ min: 1, max: 3 }),
            maxInboundBacklog: fc.constantFrom(1, 4096),
            receiverPauseMs: fc.constantFrom(0, 10, 400),
            phases: fc.array(arbPhase, { minLength: 1, maxLength: 8 })
          }),
          (input) => {
            const { heartbeatMs, frameTimeoutMs, capacity, maxInboundBacklog, receiverPauseMs, phases } = input
            const sim = new SimRuntime()
            const network = new MemoryNetwork(2048)
            const scope = sim.run(Scope.make())
            const quiet = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
              Effect.provideService(effect, References.MinimumLogLevel, "None")
            // When each event came, on the virtual clock.
            const when = new WeakMap<SocketEvent, number>()
            const side = (events: Array<SocketEvent>) =>
              sim.run(
                quiet(
                  Effect.gen(function* () {
                    const host = yield* makeHost({ capacity })
                    const socket = yield* makeSocketContext({
                      heartbeatMs,
                      frameTimeoutMs,
                      maxInboundBacklog,
                      onEvent: (e) => {
                        when.set(e, sim.now)
                        events.push(e)
                      }
                    }).pipe(
                      Effect.provideService(Transport, network.transport),
                      Effect.provideService(ContextHost, host)
                    )
                    const beehive = host.beehive
                    return { socket, beehive }
                  }).pipe(Scope.provide(scope))
                )
              )
            const serverEvents: Array<SocketEvent> = []
            const clientEvents: Array<SocketEvent> = []
            const server = side(serverEvents)
            sim.run(server.beehive.addModule("A"))
            // B never answers: a call to it waits until the connection ends.
            sim.run(server.beehive.addModule("B"))
            sim.run(quiet(server.socket.serve({ address, accept: ["X"] }).pipe(Scope.provide(scope))))
            // A answers every request, pausing first when asked to (a slow module: backpressure).
            sim.fork(
              quiet(
                Effect.forever(
                  Effect.gen(function* () {
                    const m = yield* server.beehive.receive("A")
                    if (receiverPauseMs > 0) yield* Effect.sleep(`${receiverPauseMs} millis`)
                    yield* server.beehive.sendResp(yield* Message.newResponse(m, `re ${m.header.id}`), "A")
                  })
                )
              )
            )
            const client = side(clientEvents)
            sim.run(client.beehive.addModule("X"))
            const connection = sim.run(
              quiet(
                client.socket
                  .connect({ module: "X", address, backoff: { initial: 10 * 60_000, max: 10 * 60_000, jitter: 0 } })
                  .pipe(Scope.provide(scope))
              )
            )
            expect(sim.run(connection.connected).heartbeat).toBe(heartbeatMs)
            const unresponsive = () =>
              [...serverEvents, ...clientEvents].some(
                (e) => e._tag === "Disconnected" && e.cause === "PeerUnresponsive"
              )
            const disconnected = () => clientEvents.some((e) => e._tag === "Disconnected")

            let n = 0
            for (const phase of phases) {
              if (disconnected()) break
              if (phase.kind === "calls") {
                const calls: Array<[string, Fiber.Fiber<Message.Message, unknown>]> = []
                for (let i = 0; i < phase.count; i++) {
                  const id = `q${n++}`
                  calls.push([id, sim.fork(quiet(client.beehive.sendSync("A", msg(id, id), 10 * 60_000)))])
                }
                // Long enough for every answer, however slow A is: the connection must stay up meanwhile.
                sim.advanceBy(phase.count * (receiverPauseMs + 1) + 10 * heartbeatMs)
                expect(unresponsive(), "cut off while both peers were alive").toBe(false)
                for (const [id, call] of calls) {
                  const exit = call.pollUnsafe()
                  expect(exit !== undefined && Exit.isSuccess(exit) ? exit.value.content : String(exit), id).toBe(
                    `re ${id}`
                  )
                }
              } else if (phase.kind === "idle") {
                sim.advanceBy(phase.ms)
                expect(unresponsive(), "cut off while idle").toBe(false)
              } else {
                const waiting = sim.fork(quiet(client.beehive.sendSync("B", msg(`p${n++}`, "across"), 10 * 60_000)))
                sim.settle()
                network.setStalled("server", true)
                network.setStalled("client", true)
                const started = sim.now
                sim.advanceBy(phase.intervals * heartbeatMs)
                if (phase.intervals <= 1) {
                  expect(unresponsive(), `cut off by a partition of ${phase.intervals} intervals`).toBe(false)
                } else {
                  expect(unresponsive(), `a partition of ${phase.intervals} intervals went unnoticed`).toBe(true)
                  // Three intervals of silence, measured every half interval from the first check after
                  // the last byte heard (at most half an interval before the partition): noticed within
                  // three and a half intervals of its start.
                  const cutOffs = [...serverEvents, ...clientEvents].filter(
                    (e) => e._tag === "Disconnected" && e.cause === "PeerUnresponsive"
                  )
                  // The event's reason says what ended it, and why (R-SOCK-23).
                  for (const e of cutOffs) {
                    if (e._tag === "Disconnected") expect(e.reason).toMatch(/is unresponsive: nothing came for \d+ ms/)
                  }
                  const noticed = cutOffs.map((e) => (when.get(e) ?? Number.POSITIVE_INFINITY) - started)
                  expect(Math.min(...noticed), "noticed within 3.5 intervals").toBeLessThanOrEqual(3.5 * heartbeatMs)
                  // The call waiting across it failed when the connection ended, not at its deadline.
                  const exit = waiting.pollUnsafe()
                  expect(exit !== undefined && Exit.isFailure(exit) && String(exit.cause)).toContain("RequestDropped")
                  expect(sim.now - started).toBeLessThan(10 * 60_000)
                }
                network.setStalled("server", false)
                network.setStalled("client", false)
                sim.advanceBy(heartbeatMs)
              }
            }
            // Heartbeats are read as signs of life, never delivered (nor refused) as messages.
            expect([...serverEvents, ...clientEvents].filter((e) => e._tag === "Undeliverable")).toEqual([])
            sim.run(Scope.close(scope, Exit.void))
          }
        ),
        fcParams(100)
      ),
    120_000
  )

  it(
    "R-SOCK-20 a peer that stops inside a frame after its handshake is cut off once the frame stays unfinished for the frame timeout, in either framing, wherever it stops; a whole frame followed by silence never is; with a heartbeat and no frame timeout, silence is what cuts it off, never the unfinished frame; SocketContext.layerNode's frame timeout is 30 s unless one is given, whatever heartbeat is",
    () =>
      fc.assert(
        fc.property(
          fc.record({
            // The limit the peer meets: the frame timeout, or (frame timeout 0) the heartbeat it offered.
            limit: fc.constantFrom(100, 300, 2_000),
            heartbeatOnly: fc.boolean(),
            framing: fc.constantFrom<Framing>("frame", "ndjson"),
            // Where the peer stops, as a share of the frame (1: it sends the whole frame).
            stopAt: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constant(1)),
            // The bytes it sends come in pieces, each less than a quarter of the timeout after the last.
            gaps: fc.array(fc.double({ min: 0, max: 0.25, noNaN: true }), { minLength: 0, maxLength: 4 }),
            // Or the server's options are what `SocketContext.layerNode` makes of these, which name no
            // frame timeout: its default is the limit (the peer offers no heartbeat).
            asLayerNode: fc.constantFrom(undefined, undefined, {}, { heartbeatMs: 0 }, { heartbeatMs: 500 })
          }),
          ({ limit: given, heartbeatOnly, framing, stopAt, gaps, asLayerNode }) => {
            const nodeDefaults = !heartbeatOnly && asLayerNode !== undefined
            const limit = nodeDefaults ? DefaultFrameTimeoutMs : given
            const frameTimeoutMs = heartbeatOnly ? 0 : limit
            const heartbeatMs = heartbeatOnly ? limit : 0
            const sim = new SimRuntime()
            const network = new MemoryNetwork()
            const scope = sim.run(Scope.make())
            const quiet = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
              Effect.provideService(effect, References.MinimumLogLevel, "None")
            const events: Array<{ readonly event: SocketEvent; readonly at: number }> = []
            const server = sim.run(
              quiet(
                Effect.gen(function* () {
                  const host = yield* makeHost()
                  const onEvent = (event: SocketEvent) => events.push({ event, at: sim.now })
                  const socket = yield* makeSocketContext(
                    nodeDefaults
                      ? withNodeDefaults({ ...asLayerNode, onEvent })
                      : { frameTimeoutMs, heartbeatMs, onEvent }
                  ).pipe(Effect.provideService(Transport, network.transport), Effect.provideService(ContextHost, host))
                  const beehive = host.beehive
                  yield* beehive.addModule("A")
                  yield* socket.serve({ address, accept: ["Y"] })
                  return beehive
                }).pipe(Scope.provide(scope))
              )
            )
            // A raw peer: Go's handshake for module Y, then one message to A, of which it sends a part.
            const connection = sim.run(network.transport.connect(address))
            const handshake = sim.run(Effect.flatMap(makeHandshake("Y", "unix", { heartbeatMs }), encodeJson))
            sim.run(connection.write(encodeBatch(framing, [handshake])))
            sim.settle()
            expect(events.map((e) => e.event._tag)).toContain("Connected")
            const message = msg("t1", "slowly", { route: { source: "Y", destination: "A" } })
            const bytes = encodeBatch(framing, [sim.run(encodeJson(message))])
            const sent = Math.max(1, Math.round(stopAt * bytes.length))
            const cuts = gaps.map((_, i) => Math.floor(((i + 1) * sent) / (gaps.length + 1)))
            let from = 0
            const handshaken = sim.now
            for (const [i, to] of [...cuts, sent].entries()) {
              if (i > 0) sim.advanceBy(Math.floor((gaps[i - 1] as number) * limit))
              sim.run(connection.write(bytes.subarray(from, to)))
              from = to
            }
            sim.settle()
            const lastByte = sim.now
            sim.advanceBy(10 * limit)
            const cutOff = events.find((e) => e.event._tag === "Disconnected")
            if (heartbeatOnly) {
              // The raw peer writes no heartbeat: three silent intervals after the last whole payload
              // it wrote cut it off, whether a frame is unfinished or not (R-SOCK-20).
              expect(cutOff?.event, "silence ends the connection").toMatchObject({ cause: "PeerUnresponsive" })
              const reason = cutOff?.event._tag === "Disconnected" ? cutOff.event.reason : ""
              expect(reason).toMatch(/is unresponsive: nothing came for \d+ ms \(heartbeat every \d+ ms\)/)
              const lastPayload = sent < bytes.length ? handshaken : lastByte
              expect((cutOff?.at ?? 0) - lastPayload).toBeGreaterThanOrEqual(3 * limit)
            } else if (sent < bytes.length) {
              expect(cutOff?.event, "an unfinished frame ends the connection").toMatchObject({
                cause: "PeerUnresponsive"
              })
              // The event's reason says what ended it, and why (R-SOCK-23).
              const reason = cutOff?.event._tag === "Disconnected" ? cutOff.event.reason : ""
              expect(reason).toMatch(/is unresponsive: a frame stayed unfinished for \d+ ms \(limit \d+ ms\)/)
              const after = (cutOff?.at ?? 0) - lastByte
              // Not before the frame stayed unfinished for the timeout, and at the first check (every half
              // timeout) that finds it unfinished that long: the first check after the last byte sees it.
              expect(after).toBeGreaterThanOrEqual(frameTimeoutMs)
              expect(after).toBeLessThanOrEqual(frameTimeoutMs + frameTimeoutMs / 2)
            } else {
              expect(cutOff, "a whole frame followed by silence keeps the connection").toBeUndefined()
              expect(sim.run(server.receive("A")).content).toBe("slowly")
            }
            sim.run(Scope.close(scope, Exit.void))
          }
        ),
        fcParams(100)
      ),
    60_000
  )
  it(
    "R-SOCK-20 an end writes a heartbeat when it has written nothing for the agreed interval, checked every half interval: never sooner, never more than half an interval later",
    () =>
      fc.assert(
        fc.property(
          fc.record({
            serverMs: fc.constantFrom(40, 100, 250),
            clientMs: fc.constantFrom(40, 100, 250),
            intervals: fc.integer({ min: 2, max: 10 }),
            // How often the peer writes its own heartbeats, as a share of the agreed interval.
            peerEvery: fc.constantFrom(0.3, 0.9, 2)
          }),
          ({ serverMs, clientMs, intervals, peerEvery }) => {
            const sim = new SimRuntime()
            const network = new MemoryNetwork()
            const scope = sim.run(Scope.make())
            const quiet = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
              Effect.provideService(effect, References.MinimumLogLevel, "None")
            sim.run(
              quiet(
                Effect.gen(function* () {
                  const host = yield* makeHost()
                  const socket = yield* makeSocketContext({ heartbeatMs: serverMs }).pipe(
                    Effect.provideService(Transport, network.transport),
                    Effect.provideService(ContextHost, host)
                  )
                  const beehive = host.beehive
                  yield* beehive.addModule("A")
                  yield* socket.serve({ address, accept: ["Y"] })
                }).pipe(Scope.provide(scope))
              )
            )
            // A raw peer offering a heartbeat, in NDJSON; it notes when each line of the server's came.
            const connection = sim.run(network.transport.connect(address))
            const handshake = sim.run(Effect.flatMap(makeHandshake("Y", "unix", { heartbeatMs: clientMs }), encodeJson))
            sim.run(connection.write(encodeBatch("ndjson", [handshake])))
            const lines: Array<{ readonly at: number; readonly operation: string }> = []
            let pending = ""
            sim.fork(
              Effect.forever(
                Effect.map(connection.read, (chunks) => {
                  for (const chunk of chunks) pending += new TextDecoder().decode(chunk)
                  const parts = pending.split("\n")
                  pending = parts.pop() as string
                  for (const part of parts) lines.push({ at: sim.now, operation: JSON.parse(part).route.operation })
                })
              ).pipe(Effect.ignore)
            )
            sim.settle()
            const agreed = Math.max(serverMs, clientMs)
            const started = sim.now
            expect(lines.map((l) => l.operation)).toEqual(["response"])
            const heartbeat = sim.run(
              encodeJson(Message.make({ header: { id: "beat" }, route: { operation: "beehive-effect/heartbeat" } }))
            )
            const step = Math.max(1, Math.round(peerEvery * agreed))
            for (let at = step; at <= intervals * agreed; at += step) {
              sim.advanceBy(step)
              sim.run(connection.write(encodeBatch("ndjson", [heartbeat])))
            }
            sim.advanceBy(intervals * agreed - Math.floor((intervals * agreed) / step) * step)
            const beats = lines.slice(1)
            expect(beats.every((l) => l.operation === "beehive-effect/heartbeat")).toBe(true)
            // Each heartbeat came an interval (and at most half an interval more) after the last write.
            const times = [started, ...beats.map((l) => l.at)]
            for (let i = 1; i < times.length; i++) {
              const gap = (times[i] as number) - (times[i - 1] as number)
              expect(gap, `heartbeat ${i}`).toBeGreaterThanOrEqual(agreed)
              expect(gap, `heartbeat ${i}`).toBeLessThanOrEqual(1.5 * agreed)
            }
            // And none is missing: nothing was written for more than an interval and a half.
            expect(sim.now - (times[times.length - 1] as number)).toBeLessThanOrEqual(1.5 * agreed)
            sim.run(Scope.close(scope, Exit.void))
          }
        ),
        fcParams(60)
      ),
    60_000
  )
})
