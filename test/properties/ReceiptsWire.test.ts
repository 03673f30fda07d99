/**
 * Receipts on the wire (R-SOCK-21) as properties, against a raw peer written here from SPEC.md's wire
 * description (NDJSON lines, Go's JSON keys) that offers receipts in its handshake:
 *
 * - the server writes at most `maxUnreceipted` one-way messages ahead of the peer's receipts, numbered
 *   1, 2, 3… in the order sent, and each receipt lets exactly as many more through as it covers (one
 *   whose content is no number, a numeral say, covers nothing);
 * - what the server says it handled (its receipts, and `read` in its next handshake answer to the same
 *   peer) is the highest number among the messages it handled, in whatever order they came;
 * - within one read of many messages the server receipts every `receiptEvery` of them at once, not
 *   only after the read, so a sender whose window is full does not wait for the whole read;
 * - a control operation names a control message only without a destination: a message to a module is
 *   delivered whatever its operation, even the receipt's or the heartbeat's (R-SOCK-8);
 * - from the handshake that gives a peer its count on, what an earlier connection of that peer still
 *   reads is dropped, so the count stays true: played by a raw server that a client process connects
 *   its module to twice, and that writes on the first connection while the second handshakes and after.
 */
import { Effect, References } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { receiptEvery } from "../../src/contexts/socket/LinkReceipts.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { HeartbeatOperation, ReceiptOperation } from "../../src/model/Constants.ts"
import { makeSide, waitFor } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { msg, settle } from "../support/messages.ts"
import { acceptRaw, connectRaw, handshakeLine, type RawPeer } from "../support/rawPeer.ts"

const address = unix("/receipts/wire.sock")

/** A one-way message's number as R-SOCK-21 counts it: a whole number from 1 to 2^53 − 1. */
const isNumber = (seq: unknown): seq is number => Number.isSafeInteger(seq) && (seq as number) > 0

const receiptLine = (seq: number) => ({
  header: { msg_id: `receipt-${seq}`, timestamp: 0 },
  route: { operation: ReceiptOperation },
  content: seq
})

/** A receipt whose content is no number (a numeral, say, covering `all`): not a receipt of anything. */
const junkReceipt = (kind: string, all: number) => {
  const contents: Record<string, unknown> = {
    numeral: String(all),
    null: null,
    object: { seq: all },
    array: [all],
    boolean: true
  }
  const line = { header: { msg_id: `junk-${kind}`, timestamp: 0 }, route: { operation: ReceiptOperation } }
  return kind === "missing" ? line : { ...line, content: contents[kind] }
}

/** A server process with module A accepting client module X, and a raw peer X handshaken with it. */
const serverAndRawPeer = (maxUnreceipted?: number) =>
  Effect.gen(function* () {
    const network = new MemoryNetwork()
    const s = yield* makeSide(network.transport, { maxUnreceipted })
    yield* s.beehive.addModule("A")
    yield* s.socket.serve({ address, accept: ["X"] })
    const handshake = (id: string, receipts: unknown) =>
      Effect.gen(function* () {
        const raw = yield* connectRaw(network.transport, address)
        yield* raw.send(handshakeLine(id, "X", receipts))
        yield* waitFor(() => raw.received.length > 0, "the handshake answer")
        const answer = raw.received[0]
        expect(answer.header.parent_msg_id).toBe(id)
        return { raw, exchange: answer.content }
      })
    return { s, handshake }
  })

/** Lets every fiber run and real time pass (the writer's "later" wake-ups are scheduler tasks). */
const quiesce = Effect.gen(function* () {
  for (let i = 0; i < 3; i++) {
    yield* settle
    yield* Effect.sleep("2 millis")
  }
})

const written = (raw: RawPeer) => raw.received.filter((line) => String(line.header?.msg_id).startsWith("w-"))

const run = (body: Effect.Effect<void, unknown, never>): Promise<void> =>
  Effect.runPromise(body.pipe(Effect.provideService(References.MinimumLogLevel, "None")) as Effect.Effect<void>)

/**
 * A raw server listening at `address` on a fresh in-memory network, and a client process with
 * module X whose every delivered message id is recorded, in order.
 */
const clientOfRawServer = Effect.gen(function* () {
  const network = new MemoryNetwork()
  const listener = yield* network.transport.listen(address)
  const c = yield* makeSide(network.transport)
  yield* c.beehive.addModule("X")
  const delivered: Array<string> = []
  yield* Effect.forkScoped(Effect.forever(Effect.map(c.beehive.receive("X"), (m) => delivered.push(m.header.id))))
  return { listener, c, delivered }
})

describe("R-SOCK-21 receipts on the wire", () => {
  it(
    "R-SOCK-21 R-SOCK-17 a connection writes at most maxUnreceipted one-way messages ahead of the peer's receipts, and each receipt lets as many more through; one whose content is no number, none",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 5 }),
          fc.integer({ min: 1, max: 16 }),
          // How far each receipt goes, as a share of what is written and not yet receipted.
          fc.array(fc.nat(), { maxLength: 20 }),
          // Receipts whose content is no number, sent before each real one: they let nothing through.
          fc.array(fc.constantFrom("numeral", "null", "object", "array", "boolean", "missing"), { maxLength: 3 }),
          (maxUnreceipted, count, steps, junk) =>
            run(
              Effect.scoped(
                Effect.gen(function* () {
                  const { s, handshake } = yield* serverAndRawPeer(maxUnreceipted)
                  const { raw, exchange } = yield* handshake("hs", { incarnation: "raw-peer" })
                  expect(typeof exchange.receipts?.incarnation).toBe("string")
                  const ids = Array.from({ length: count }, (_, i) => `w-${i}`)
                  // Forked: past the outbox's capacity its senders wait for the writer (R-SOCK-17).
                  yield* Effect.forkScoped(Effect.forEach(ids, (id) => s.beehive.send("X", msg(id))))
                  let receipted = 0
                  for (let round = 0; ; round++) {
                    const allowed = Math.min(count, receipted + maxUnreceipted)
                    yield* waitFor(
                      () => written(raw).length >= allowed,
                      `message ${allowed} after receipt ${receipted}`,
                      2000
                    )
                    // Nothing past the window, once every fiber has had its turns and the writer its wake-ups.
                    yield* quiesce
                    const lines = written(raw)
                    expect(lines.length).toBe(allowed)
                    expect(lines.map((line) => line.header.msg_id)).toEqual(ids.slice(0, allowed))
                    expect(lines.map((line) => line.seq)).toEqual(ids.slice(0, allowed).map((_, i) => i + 1))
                    if (allowed === count) break
                    // A receipt up to any number written and not yet receipted.
                    const step = steps[round]
                    receipted = step === undefined ? allowed : receipted + 1 + (step % (allowed - receipted))
                    for (const kind of junk) yield* raw.send(junkReceipt(kind, count))
                    yield* raw.send(receiptLine(receipted))
                  }
                })
              )
            )
        ),
        fcParams(25)
      ),
    60_000
  )

  it(
    "R-SOCK-21 what a connection wrote and never had receipted is settled at the peer's next handshake: by its word when it names this run (the rest Unsent), else all InDoubt at once; never kept for a later one, however often the peer connects without its word",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 5 }),
          // Per connection: how many one-way messages the server writes to it, and what the next
          // handshake says of what it handled (no word, another run's, or this run's, up to a share).
          fc.array(
            fc.record({
              count: fc.integer({ min: 0, max: 5 }),
              word: fc.oneof(
                fc.constantFrom("none" as const, "another run" as const),
                fc.double({ min: 0, max: 1, noNaN: true })
              )
            }),
            { minLength: 1, maxLength: 6 }
          ),
          (maxUnreceipted, connections) =>
            run(
              Effect.scoped(
                Effect.gen(function* () {
                  const { s, handshake } = yield* serverAndRawPeer(maxUnreceipted)
                  // The model: what the server wrote and was never receipted, with its number.
                  let parked: Array<{ readonly id: string; readonly seq: number }> = []
                  const unsent: Array<string> = []
                  const inDoubt: Array<string> = []
                  let seq = 0
                  let serverRun = ""
                  for (const [c, { count, word }] of connections.entries()) {
                    const read = typeof word === "number" ? Math.floor(word * seq) : undefined
                    const receipts =
                      c === 0 || word === "none"
                        ? { incarnation: "raw-peer" }
                        : word === "another run"
                          ? { incarnation: "raw-peer", peer: "an earlier run", read: seq }
                          : { incarnation: "raw-peer", peer: serverRun, read }
                    if (c > 0 && read !== undefined) unsent.push(...parked.filter((w) => w.seq > read).map((w) => w.id))
                    else inDoubt.push(...parked.map((w) => w.id))
                    parked = []
                    const { raw, exchange } = yield* handshake(`hs-${c}`, receipts)
                    serverRun = exchange.receipts?.incarnation
                    // Within the window: all of it written, none receipted.
                    const ids = Array.from({ length: Math.min(count, maxUnreceipted) }, (_, i) => `w-${c}-${i}`)
                    for (const id of ids) yield* s.beehive.send("X", msg(id))
                    yield* waitFor(() => written(raw).length >= ids.length, `connection ${c}'s messages written`, 2000)
                    parked.push(...ids.map((id) => ({ id, seq: ++seq })))
                    const reported = (tag: string) =>
                      s.events.flatMap((e) => (e._tag === tag ? [(e as { msgId: string }).msgId] : []))
                    yield* quiesce
                    expect([reported("Unsent"), reported("InDoubt")], `after handshake ${c}`).toEqual([unsent, inDoubt])
                    const ended = s.events.filter((e) => e._tag === "Disconnected").length
                    yield* raw.connection.close
                    yield* waitFor(
                      () => s.events.filter((e) => e._tag === "Disconnected").length > ended,
                      `connection ${c} ended`,
                      2000
                    )
                  }
                })
              )
            )
        ),
        fcParams(40)
      ),
    60_000
  )

  it(
    "R-SOCK-21 within one read the server receipts every receiptEvery messages at once, then the rest after the read",
    () =>
      fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 4 * receiptEvery + 10 }), (count) =>
          run(
            Effect.scoped(
              Effect.gen(function* () {
                const { s, handshake } = yield* serverAndRawPeer()
                const { raw } = yield* handshake("hs-1", { incarnation: "raw-peer" })
                const lines = Array.from({ length: count }, (_, i) =>
                  JSON.stringify({
                    header: { msg_id: `w-${i + 1}`, timestamp: 1 },
                    route: { source: "X", destination: "A", operation: "update", resource: "r" },
                    content: i + 1,
                    seq: i + 1
                  })
                )
                // One write, so one read on the server's side.
                yield* raw.connection.write(new TextEncoder().encode(`${lines.join("\n")}\n`))
                const receipts = () =>
                  raw.received.filter((line) => line.route?.operation === ReceiptOperation).map((l) => l.content)
                yield* waitFor(() => receipts().includes(count), `a receipt of ${count}`, 5000)
                const everyFull = Array.from(
                  { length: Math.floor((count - 1) / receiptEvery) },
                  (_, k) => (k + 1) * receiptEvery
                )
                expect(receipts()).toEqual([...everyFull, count])
                for (let i = 1; i <= count; i++) expect((yield* s.beehive.receive("A")).content).toBe(i)
              })
            )
          )
        ),
        fcParams(20)
      ),
    60_000
  )

  it(
    "R-SOCK-21 R-SOCK-8 what a server says it handled is the highest number it handled, in any order, a seq that is no whole number from 1 to 2^53 - 1 counting for none; a message to a module is delivered whatever its operation",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc
            .array(
              fc.record({
                seq: fc.oneof(
                  { weight: 4, arbitrary: fc.integer({ min: 1, max: 50 }) },
                  // No number: handled, and covered by no receipt.
                  fc.constantFrom<unknown>(0, -3, 1.5, 2 ** 53, 1e300, "7", null, true, [2], undefined)
                ),
                operation: fc.constantFrom(ReceiptOperation, HeartbeatOperation, "update", "insert")
              }),
              { minLength: 1, maxLength: 10 }
            )
            .filter((messages) => messages.some((m) => isNumber(m.seq))),
          (messages) =>
            run(
              Effect.scoped(
                Effect.gen(function* () {
                  const { s, handshake } = yield* serverAndRawPeer()
                  const first = yield* handshake("hs-1", { incarnation: "raw-peer" })
                  const server = first.exchange.receipts.incarnation as string
                  for (const [i, m] of messages.entries()) {
                    yield* first.raw.send({
                      header: { msg_id: `w-${i}`, timestamp: 1 },
                      route: { source: "X", destination: "A", operation: m.operation, resource: "r" },
                      content: i,
                      seq: m.seq
                    })
                  }
                  // Every one reaches A, in order, as sent.
                  for (const [i, m] of messages.entries()) {
                    const got = yield* Effect.timeout(s.beehive.receive("A"), "2 seconds")
                    expect([got.header.id, got.route.operation, got.content]).toEqual([`w-${i}`, m.operation, i])
                  }
                  const highest = Math.max(...messages.flatMap((m) => (isNumber(m.seq) ? [m.seq] : [])))
                  // Its receipts never go back and end at the highest number.
                  const receipts = () =>
                    first.raw.received
                      .filter((line) => line.route?.operation === ReceiptOperation)
                      .map((l) => l.content)
                  yield* waitFor(() => receipts().includes(highest), `a receipt of ${highest}`, 2000)
                  expect(receipts()).toEqual([...receipts()].sort((a, b) => a - b))
                  expect(Math.max(...receipts())).toBe(highest)
                  // The same peer again: the handshake answer says the same.
                  yield* first.raw.connection.close
                  const second = yield* handshake("hs-2", { incarnation: "raw-peer", peer: server, read: 0 })
                  expect(second.exchange.receipts).toEqual({ incarnation: server, read: highest })
                })
              )
            )
        ),
        fcParams(40)
      ),
    60_000
  )

  it(
    "R-SOCK-21 from a newer connection's handshake offer on, what an earlier connection of the same peer still reads is dropped: it reaches no mailbox and no receipt",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 3 }),
          fc.integer({ min: 0, max: 2 }),
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 0, max: 3 }),
          (before, between, stale, fresh) =>
            run(
              Effect.scoped(
                Effect.gen(function* () {
                  // A raw server of incarnation "S"; the client process connects its module X to it twice
                  // (two clients of one module), so the first connection lives on after the second's handshake.
                  const { listener, c, delivered } = yield* clientOfRawServer
                  // `meanwhile` runs when the handshake has come and is not yet answered.
                  const connectX = (meanwhile: Effect.Effect<void, unknown> = Effect.void) =>
                    Effect.gen(function* () {
                      const client = yield* c.socket.connect({
                        module: "X",
                        address,
                        framing: "ndjson",
                        maxAttempts: 1
                      })
                      const raw = yield* acceptRaw(listener)
                      yield* waitFor(() => raw.received.length > 0, "the handshake")
                      const handshake = raw.received[0]
                      yield* meanwhile
                      yield* raw.send({
                        header: {
                          msg_id: `answer-${handshake.header.msg_id}`,
                          parent_msg_id: handshake.header.msg_id,
                          timestamp: 1
                        },
                        route: { source: "server", destination: "X", operation: "response", resource: "module" },
                        content: { modules: [], receipts: { incarnation: "S", read: 0 } }
                      })
                      yield* client.connected
                      return { raw, offer: handshake.content.receipts }
                    })
                  const line = (seq: number) => ({
                    header: { msg_id: `w-${seq}`, timestamp: 1 },
                    route: { source: "server", destination: "X", operation: "update", resource: "r" },
                    content: seq,
                    seq
                  })
                  const receipts = (raw: RawPeer) =>
                    raw.received.filter((l) => l.route?.operation === ReceiptOperation).map((l) => l.content as number)
                  const first = yield* connectX()
                  for (let seq = 1; seq <= before; seq++) yield* first.raw.send(line(seq))
                  yield* waitFor(() => delivered.length === before, "the first connection's messages")
                  // The peer writes on the first connection while the second's handshake waits for its
                  // answer (`between`), and after it (`stale`): all of it after the count the handshake gave.
                  const second = yield* connectX(
                    Effect.gen(function* () {
                      for (let seq = before + 1; seq <= before + between; seq++) yield* first.raw.send(line(seq))
                      yield* quiesce
                    })
                  )
                  // The same process, and it says what it handled from S for X.
                  expect(second.offer).toEqual({ incarnation: first.offer.incarnation, peer: "S", read: before })
                  for (let seq = before + between + 1; seq <= before + between + stale; seq++) {
                    yield* first.raw.send(line(seq))
                  }
                  const freshSeqs = Array.from({ length: fresh }, (_, i) => before + between + stale + 1 + i)
                  for (const seq of freshSeqs) yield* second.raw.send(line(seq))
                  yield* waitFor(() => delivered.length >= before + fresh, "the second connection's messages")
                  yield* quiesce
                  expect(delivered).toEqual([
                    ...Array.from({ length: before }, (_, i) => `w-${i + 1}`),
                    ...freshSeqs.map((seq) => `w-${seq}`)
                  ])
                  // Receipted: on the first, never past what it handled before the second's handshake.
                  expect(Math.max(0, ...receipts(first.raw))).toBe(before)
                  if (fresh > 0) expect(Math.max(...receipts(second.raw))).toBe(before + between + stale + fresh)
                })
              )
            )
        ),
        fcParams(30)
      ),
    60_000
  )

  it(
    "R-SOCK-21 a second connection whose handshake fails speaks for nobody: the earlier connection of the same peer goes on delivering and receipting what it reads",
    () =>
      fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3 }), (before, after) =>
          run(
            Effect.scoped(
              Effect.gen(function* () {
                const { listener, c, delivered } = yield* clientOfRawServer
                const line = (seq: number) => ({
                  header: { msg_id: `w-${seq}`, timestamp: 1 },
                  route: { source: "server", destination: "X", operation: "update", resource: "r" },
                  content: seq,
                  seq
                })
                const first = yield* c.socket.connect({ module: "X", address, framing: "ndjson", maxAttempts: 1 })
                const raw = yield* acceptRaw(listener)
                yield* waitFor(() => raw.received.length > 0, "the first handshake")
                const handshake = raw.received[0]
                yield* raw.send({
                  header: { msg_id: "answer", parent_msg_id: handshake.header.msg_id, timestamp: 1 },
                  route: { source: "server", destination: "X", operation: "response", resource: "module" },
                  content: { modules: [], receipts: { incarnation: "S", read: 0 } }
                })
                yield* first.connected
                for (let seq = 1; seq <= before; seq++) yield* raw.send(line(seq))
                yield* waitFor(() => delivered.length === before, "the first connection's messages")
                // A second client of X offers its count, and the server hangs up instead of answering.
                yield* Effect.forkScoped(
                  Effect.ignore(
                    Effect.flatMap(
                      c.socket.connect({ module: "X", address, framing: "ndjson", maxAttempts: 1 }),
                      (second) => second.connected
                    )
                  )
                )
                const refused = yield* acceptRaw(listener)
                yield* waitFor(() => refused.received.length > 0, "the second handshake")
                yield* refused.connection.close
                yield* quiesce
                for (let seq = before + 1; seq <= before + after; seq++) yield* raw.send(line(seq))
                yield* waitFor(() => delivered.length === before + after, "the first connection's later messages")
                yield* quiesce
                expect(delivered).toEqual(Array.from({ length: before + after }, (_, i) => `w-${i + 1}`))
                const receipts = raw.received
                  .filter((l) => l.route?.operation === ReceiptOperation)
                  .map((l) => l.content as number)
                expect(Math.max(0, ...receipts)).toBe(before + after)
              })
            )
          )
        ),
        fcParams(15)
      ),
    60_000
  )
})
