/**
 * R-SOCK-9 with peers that reuse request ids: two raw clients, X and Y, send sync requests to modules
 * A and B with ids drawn from a small pool, so that one id comes again on one connection, or on both;
 * A and B answer, and the clients' connections close and open again. SPEC's verdict: every copy owed
 * counts against `maxPendingRequests`, another copy of a request owed already too, and its id's length
 * against `maxPendingRequestBytes`; past either, requests are forgotten from the connection owed the
 * most (copies, or past the bytes budget, bytes), its oldest, the copies of it that connection brought
 * (`RequestForgotten`), among connections owed as much the oldest request of them all; an answer goes
 * to the connection of the oldest copy its responder owes, and only there; the copies a closed
 * connection brought are forgotten with it. Until this property, copies of one id on one connection
 * were never counted (a peer sending one id again and again grew the table without end), and one id on
 * a second connection took the first one's place, so the answer owed to the first was written to the
 * second; ids as long as a frame were kept, `maxPendingRequests` of them; and the oldest requests were
 * forgotten whoever sent them, so a peer flooding the table made every other peer's answers go nowhere.
 */
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import * as Message from "../../src/model/Message.ts"
import { makeSide, run, waitForEffect } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { handshakeLine, type RawPeer, rawPeer } from "../support/rawPeer.ts"

type Module = "A" | "B"
/** A module, one that is none here ("Z"), or none at all (""): those two are refused at once. */
type Destination = Module | "Z" | ""
type Step =
  | { readonly kind: "request"; readonly from: 0 | 1; readonly id: number; readonly to: Destination }
  | { readonly kind: "answer"; readonly id: number; readonly by: Module }
  /** The client's connection closes, and it connects again. */
  | { readonly kind: "reconnect"; readonly from: 0 | 1 }

const client = fc.constantFrom(0 as const, 1 as const)
const module = fc.constantFrom("A" as const, "B" as const)
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("request" as const),
      from: client,
      id: fc.nat(1),
      to: fc.oneof({ weight: 4, arbitrary: module }, fc.constantFrom("Z" as const, "" as const))
    })
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("answer" as const), id: fc.nat(1), by: module }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reconnect" as const), from: client }) }
)

/** A request line as a raw client writes it: Go's JSON keys. */
const requestLine = (id: string, seq: number, to: Destination) => ({
  header: { msg_id: id, timestamp: seq, sync: true },
  route: { destination: to },
  content: `q${seq}`
})

/** One connection of a client: the server's name for it, and the answers it must get. */
interface Connection {
  readonly raw: RawPeer
  readonly peer: string
  /** Lines it had read before any answer (the handshake's). */
  readonly before: number
  readonly expected: Array<string>
}

/** A copy owed in the model: the connection it came on (its index) and the module it went to. */
interface Copy {
  readonly at: number
  readonly to: Module
}

describe("R-SOCK-9 requests whose ids peers reuse", () => {
  it(
    "R-SOCK-9 every copy owed counts against maxPendingRequests, a second copy of one id too, and its id's length against maxPendingRequestBytes; past either, requests are forgotten from the connection owed the most (copies, or bytes), the new copy counted for its own, its oldest (the new copy itself when its connection owes nothing else), among connections owed as much the oldest of all, so a connection owed no more than another loses nothing to it, nor to an id longer than the budget; an answer goes to the connection of the oldest copy its responder owes, and only there; a closed connection's copies are forgotten with it; a request refused at once (no destination, or no such module) is answered over its own connection, its own copy taken",
    () =>
      fc.assert(
        fc.asyncProperty(
          // The bound of copies, or one so high that only the bytes budget binds.
          fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(64)),
          fc.array(step, { minLength: 1, maxLength: 20 }),
          // The budget of the ids' lengths (the default, or a few ids' worth), and each id's padding.
          fc.option(fc.integer({ min: 2, max: 30 }), { nil: undefined }),
          fc.tuple(fc.nat(10), fc.nat(10)),
          (max, steps, maxBytes, padding) =>
            run(
              Effect.gen(function* () {
                const network = new MemoryNetwork()
                const address = unix("/owed-copies")
                const server = yield* makeSide(network.transport, {
                  maxPendingRequests: max,
                  maxPendingRequestBytes: maxBytes
                })
                yield* server.beehive.addModule("A", { capacity: 64 })
                yield* server.beehive.addModule("B", { capacity: 64 })
                yield* server.socket.serve({ address, accept: ["X", "Y"] })
                const names = ["X", "Y"] as const
                const connections: Array<Connection> = []
                const connectAs = (c: 0 | 1) =>
                  Effect.gen(function* () {
                    const raw = yield* rawPeer(yield* network.transport.connect(address))
                    yield* raw.send(handshakeLine(`hs-${names[c]}`, names[c], undefined))
                    yield* waitForEffect(
                      Effect.sync(() => raw.received.length),
                      (n) => n > 0,
                      `${names[c]}'s handshake answer`
                    )
                    const connected = yield* waitForEffect(
                      Effect.sync(() => server.events.flatMap((e) => (e._tag === "Connected" ? [e.peer] : []))),
                      (peers) => peers.length === connections.length + 1,
                      `${names[c]} connected`
                    )
                    return (
                      connections.push({
                        raw,
                        peer: connected[connections.length] as string,
                        before: raw.received.length,
                        expected: []
                      }) - 1
                    )
                  })
                const answersArrived = (c: Connection) =>
                  waitForEffect(
                    Effect.sync(() => c.raw.received.length - c.before),
                    (n) => n >= c.expected.length,
                    `the answers to ${c.peer}`
                  )
                const current = [yield* connectAs(0), yield* connectAs(1)]
                const at = (i: number) => connections[i] as Connection
                const idOf = (n: number) => `r${n}${"x".repeat(padding[n] ?? 0)}`
                // The model: the copies owed, by id; and for each connection, the ids it is owed copies of,
                // each with when it came to be owed them (the order a full table forgets them in).
                const owed = new Map<string, Array<Copy>>()
                const since = new Map<number, Map<string, number>>()
                let owedAt = 0
                let copies = 0
                const forgotten: Array<readonly [string, string]> = []
                let seq = 0
                for (const s of steps) {
                  if (s.kind === "reconnect") {
                    const closing = current[s.from] as number
                    for (const [id, list] of [...owed]) {
                      const kept = list.filter((c) => c.at !== closing)
                      copies -= list.length - kept.length
                      if (kept.length === 0) owed.delete(id)
                      else owed.set(id, kept)
                    }
                    since.delete(closing)
                    // The answers written to it have arrived before it closes (the writer writes after sendResp).
                    yield* answersArrived(at(closing))
                    yield* at(closing).raw.connection.close
                    yield* waitForEffect(
                      Effect.sync(() => server.events.filter((e) => e._tag === "Disconnected").length),
                      (n) => n === connections.length - 1,
                      `${at(closing).peer} gone`
                    )
                    current[s.from] = yield* connectAs(s.from)
                  } else if (s.kind === "request") {
                    const id = idOf(s.id)
                    const from = current[s.from] as number
                    // Room made for a copy of `id` to be remembered: requests forgotten from the connection
                    // owed the most copies (past the bytes budget, bytes of ids), this copy counted for
                    // its own, its oldest (this copy, the newest of all, when it owes nothing else: then
                    // it is not remembered); among connections owed as much, the oldest request of all.
                    const owedTo = (i: number, byCopies: boolean) =>
                      [...owed].reduce(
                        (n, [key, list]) => n + list.filter((c) => c.at === i).length * (byCopies ? 1 : key.length),
                        0
                      ) + (i === from ? (byCopies ? 1 : id.length) : 0)
                    const owedBytes = () => [...owed].reduce((n, [key, list]) => n + key.length * list.length, 0)
                    let remembered = s.to !== ""
                    while (remembered) {
                      const byCopies = copies >= max
                      if (!byCopies && owedBytes() + id.length <= (maxBytes ?? 8 * 1024 * 1024)) break
                      // Each connection's oldest request; this one's own is this copy when it owes nothing.
                      const oldestOf = (i: number): readonly [string, number] => {
                        const ids = since.get(i)
                        if (ids === undefined || ids.size === 0) return [id, owedAt]
                        return [...ids].sort((x, y) => x[1] - y[1])[0] as [string, number]
                      }
                      const candidates = [...since.keys()].filter((i) => i !== from && (since.get(i)?.size ?? 0) > 0)
                      const [loser, [oldest]] = [...candidates, from]
                        .map((i) => [i, oldestOf(i)] as const)
                        .sort(
                          ([i, [, x]], [j, [, y]]) => owedTo(j, byCopies) - owedTo(i, byCopies) || x - y
                        )[0] as readonly [number, readonly [string, number]]
                      if (loser === from && (since.get(from)?.size ?? 0) === 0) {
                        remembered = false
                        forgotten.push([id, at(from).peer])
                        break
                      }
                      const list = owed.get(oldest) as Array<Copy>
                      const kept = list.filter((c) => c.at !== loser)
                      copies -= list.length - kept.length
                      if (kept.length === 0) owed.delete(oldest)
                      else owed.set(oldest, kept)
                      since.get(loser)?.delete(oldest)
                      forgotten.push([oldest, at(loser).peer])
                    }
                    if (s.to === "Z" || s.to === "") {
                      // Refused at once, with an error response to its own connection: one with no
                      // destination never owed; one to no module owed (counted) until it is refused.
                      at(from).expected.push(id)
                      const refusals = server.events.filter((e) => e._tag === "Undeliverable").length
                      yield* at(from).raw.send(requestLine(id, ++seq, s.to))
                      yield* waitForEffect(
                        Effect.sync(() => server.events.filter((e) => e._tag === "Undeliverable").length),
                        (n) => n > refusals,
                        `request ${id} to "${s.to}" refused`
                      )
                      yield* answersArrived(at(from))
                    } else {
                      const to = s.to
                      if (remembered) {
                        owed.set(id, [...(owed.get(id) ?? []), { at: from, to }])
                        copies++
                        const ids = since.get(from) ?? new Map<string, number>()
                        if (!ids.has(id)) ids.set(id, owedAt++)
                        since.set(from, ids)
                      }
                      yield* at(from).raw.send(requestLine(id, ++seq, to))
                      // Received by its module, so remembered: the next step finds it owed.
                      const request = yield* server.beehive.receive(to).pipe(Effect.timeout("3 seconds"))
                      expect(request.header.id).toBe(id)
                    }
                  } else {
                    const id = idOf(s.id)
                    const list = owed.get(id)
                    const i = list === undefined ? -1 : list.findIndex((c) => c.to === s.by)
                    // A responder owed no copy: its answer goes where the oldest copy came from, uncounted.
                    const goes = list?.[Math.max(i, 0)]
                    if (list !== undefined && i >= 0) {
                      const [answered] = list.splice(i, 1) as [Copy]
                      copies--
                      if (list.length === 0) owed.delete(id)
                      if (!list.some((c) => c.at === answered.at)) since.get(answered.at)?.delete(id)
                    }
                    if (goes !== undefined) at(goes.at).expected.push(id)
                    const response = yield* Message.newResponse(Message.make({ header: { id } }), "answer")
                    expect(yield* server.beehive.sendResp(response, s.by), `answer to ${id} taken`).toBe(
                      goes !== undefined
                    )
                  }
                  expect(
                    server.events.flatMap((e) => (e._tag === "RequestForgotten" ? [[e.msgId, e.peer]] : []))
                  ).toEqual(forgotten)
                  // R-SOCK-29: what the server says it owes is the copies the bound counts.
                  expect(yield* server.socket.pendingRequests, "pendingRequests").toBe(copies)
                }
                // Each connection gets the answers owed to it, and only those.
                for (const c of connections) {
                  yield* answersArrived(c)
                  // None past those is on its way: an answer is queued for writing before sendResp returns.
                  yield* Effect.yieldNow
                  expect(
                    c.raw.received
                      .slice(c.before)
                      .map((line: { header: { parent_msg_id: string } }) => line.header.parent_msg_id),
                    `${c.peer}'s answers`
                  ).toEqual(c.expected)
                }
              })
            )
        ),
        fcParams(1500)
      ),
    300_000
  )
})
