/**
 * What the socket context writes to the log about its events, as properties (R-SOCK-19, R-SOCK-23).
 *
 * - R-SOCK-23: every event is one line that says what the event holds (its peer or address, module,
 *   remote modules, message id, destination, parent id, attempt, delay, attempts, reason); refusals,
 *   losses, skipped modules, retries and give-ups are warnings, the rest debug lines.
 * - R-SOCK-19: bursts of warnings from peers on a few hosts (each connection from its own port), on the
 *   virtual clock, against a model written from SPEC.md's wording: per kind of event and per peer host
 *   (a client's own: the address it connects to) at most 10 lines in each second, which opens with
 *   that key's first event; what is held back is written as one line naming the host, the kind and
 *   the count when that key's next second opens. Hosts never share a budget, and debug lines are
 *   never held back.
 */
import { Effect, Logger, References } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { LogLimiter } from "../../src/contexts/socket/LogLimiter.ts"
import { formatEvent, reportEvent, type SocketEvent } from "../../src/contexts/socket/SocketEvents.ts"
import { fcParams } from "../support/fc.ts"

/** The kinds SPEC.md has written as warnings; the others are debug lines. */
const warningKinds = [
  "Refused",
  "Undeliverable",
  "UnclaimedResponse",
  "RequestForgotten",
  "Unsent",
  "InDoubt",
  "ModuleSkipped",
  "Retrying",
  "GaveUp"
] as const
const debugKinds = ["Listening", "Connected", "Disconnected"] as const
type Kind = (typeof warningKinds)[number] | (typeof debugKinds)[number]

/** A value that appears nowhere else in an event: its field's name and letters (numbers stand alone). */
const letters = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz"), minLength: 3, maxLength: 8 })
const token = (field: string) => letters.map((s) => `${field}-${s}`)
const count = fc.integer({ min: 0, max: 100_000 })

/** An event of a kind with every field generated; `peer` and `address` given. */
const arbEvent = (kind: Kind, peer: string, address: string): fc.Arbitrary<SocketEvent> => {
  switch (kind) {
    case "Listening":
      return fc.constant({ _tag: kind, address })
    case "Connected":
      return fc.record({
        _tag: fc.constant(kind),
        peer: fc.constant(peer),
        module: token("module"),
        modules: fc.array(token("remote"), { maxLength: 3 })
      })
    case "Disconnected":
      return fc.record({
        _tag: fc.constant(kind),
        peer: fc.constant(peer),
        module: token("module"),
        reason: token("reason"),
        cause: fc.constantFrom("ConnectionClosed" as const, "SocketProtocolError" as const, "PeerUnresponsive" as const)
      })
    case "Refused":
      return fc.record({ _tag: fc.constant(kind), peer: fc.constant(peer), reason: token("reason") })
    case "Retrying":
      return fc.record({
        _tag: fc.constant(kind),
        address: fc.constant(address),
        attempt: count,
        delayMs: count,
        reason: token("reason")
      })
    case "GaveUp":
      return fc.record({
        _tag: fc.constant(kind),
        address: fc.constant(address),
        attempts: count,
        reason: token("reason")
      })
    case "ModuleSkipped":
      return fc.record({
        _tag: fc.constant(kind),
        peer: fc.constant(peer),
        module: token("module"),
        reason: token("reason")
      })
    case "Undeliverable":
      return fc.record({
        _tag: fc.constant(kind),
        peer: fc.constant(peer),
        msgId: token("msg"),
        destination: token("destination"),
        reason: token("reason")
      })
    case "UnclaimedResponse":
      return fc.record({
        _tag: fc.constant(kind),
        peer: fc.constant(peer),
        msgId: token("msg"),
        parentId: token("parent")
      })
    case "Unsent":
    case "InDoubt":
      return fc.record({
        _tag: fc.constant(kind),
        peer: fc.constant(peer),
        destination: token("destination"),
        msgId: token("msg")
      })
    case "RequestForgotten":
      return fc.record({ _tag: fc.constant(kind), peer: fc.constant(peer), msgId: token("msg") })
  }
}

interface Line {
  readonly level: string
  readonly text: string
}

/** Runs `program` on the virtual clock, with every level written, and returns the lines. */
const captureLines = (program: Effect.Effect<void>): Promise<ReadonlyArray<Line>> => {
  const lines: Array<Line> = []
  const logger = Logger.make(({ message, logLevel }) =>
    lines.push({ level: logLevel, text: (Array.isArray(message) ? message : [message]).map(String).join(" ") })
  )
  return Effect.runPromise(
    program.pipe(
      Effect.provideService(References.MinimumLogLevel, "All"),
      Effect.provide(Logger.layer([logger], { mergeWithExisting: false })),
      Effect.provide(TestClock.layer())
    )
  ).then(() => lines)
}

const word = (value: string | number) => new RegExp(`(^|[^0-9])${value}([^0-9]|$)`)

/** An event of any kind, about a TCP peer; its address a unix path or host:port. */
const arbAnyEvent = fc
  .tuple(
    fc.constantFrom<Kind>(...warningKinds, ...debugKinds),
    fc.integer({ min: 1, max: 254 }),
    fc.integer({ min: 1, max: 65535 }),
    token("path")
  )
  .chain(([kind, host, port, path]) =>
    arbEvent(kind, `10.1.0.${host}:${port}`, port % 2 === 0 ? `/run/${path}.sock` : `10.2.0.${host}:${port}`)
  )

describe("R-SOCK-23 one line per event, saying what it holds", () => {
  it("R-SOCK-23 each event is one line naming its peer or address and every value it holds; losses, refusals, skips, retries and give-ups are warnings, the rest debug", () =>
    fc.assert(
      fc.asyncProperty(fc.array(arbAnyEvent, { minLength: 1, maxLength: 12 }), async (events) => {
        const lines = await captureLines(
          Effect.forEach(events, (event) => reportEvent(undefined, event), { discard: true })
        )
        expect(lines).toHaveLength(events.length)
        for (const [i, event] of events.entries()) {
          const line = lines[i] as Line
          expect(line.level, event._tag).toBe(
            (warningKinds as ReadonlyArray<string>).includes(event._tag) ? "Warn" : "Debug"
          )
          for (const [field, value] of Object.entries(event)) {
            if (field === "_tag" || field === "cause") continue
            for (const one of Array.isArray(value) ? value : [value]) {
              if (typeof one === "number") expect(line.text, `${event._tag}.${field}`).toMatch(word(one))
              else expect(line.text, `${event._tag}.${field}`).toContain(one)
            }
          }
        }
      }),
      fcParams(100)
    ))
})

/** The fields of each kind of event, as `arbEvent` makes them. */
const fieldsOf = (kind: Kind): string =>
  Object.keys(fc.sample(arbEvent(kind, "10.1.0.1:1", "10.2.0.1:1"), 1)[0] as SocketEvent)
    .filter((field) => field !== "_tag")
    .sort()
    .join(",")

describe("R-SOCK-23 a line says which kind of event it is", () => {
  it("R-SOCK-23 two events of different kinds that hold the same values are different lines: an unsent message is never written as one in doubt, nor the reverse", () =>
    fc.assert(
      fc.asyncProperty(arbAnyEvent, async (event) => {
        const kinds = [...warningKinds, ...debugKinds].filter(
          (kind) => kind !== event._tag && fieldsOf(kind) === fieldsOf(event._tag as Kind)
        )
        const others = kinds.map((kind) => ({ ...event, _tag: kind }) as SocketEvent)
        const lines = await captureLines(
          Effect.forEach([event, ...others], (e) => reportEvent(undefined, e), { discard: true })
        )
        expect(new Set(lines.map((line) => line.text)).size, JSON.stringify(lines)).toBe(lines.length)
      }),
      fcParams(100)
    ))
})

/** A peer host and how its connections are written: IPv4 and IPv6 with ports, a unix path without. */
const hosts = [
  { host: "10.0.0.5", peer: (port: number) => `10.0.0.5:${port}` },
  { host: "10.0.0.6", peer: (port: number) => `10.0.0.6:${port}` },
  { host: "fd00::7", peer: (port: number) => `[fd00::7]:${port}` },
  { host: "/run/beehive.sock (client)", peer: (_: number) => "/run/beehive.sock (client)" }
] as const

/** A burst: events of one kind about one host at one instant, after a pause. */
const arbBurst = fc.record({
  kind: fc.constantFrom<Kind>("Refused", "Unsent", "Retrying", "Connected"),
  host: fc.integer({ min: 0, max: hosts.length - 1 }),
  ports: fc.array(fc.integer({ min: 1024, max: 65535 }), { minLength: 1, maxLength: 25 }),
  pauseMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 999 }), fc.integer({ min: 1000, max: 2500 }))
})

const eventOf = (kind: Kind, peer: string, host: string, i: number): SocketEvent =>
  kind === "Refused"
    ? { _tag: kind, peer, reason: `reason-${i}` }
    : kind === "Unsent"
      ? { _tag: kind, peer, destination: "destination", msgId: `msg-${i}` }
      : kind === "Retrying"
        ? { _tag: kind, address: host, attempt: i, delayMs: 100, reason: "refused" }
        : { _tag: "Connected", peer, module: "module", modules: [] }

/** The model's note of a held-back count, checked by what it must name. */
const heldMark = "\u0000"
const heldBack = (host: string, held: number, kind: string) => `${heldMark}${host}${heldMark}${held}${heldMark}${kind}`

interface Window {
  start: number
  written: number
  held: number
}

describe("R-SOCK-19 the log's bound", () => {
  it("R-SOCK-19 per kind and peer host at most 10 warnings a second; what is held back is written once, naming host, kind and count, when that key's next second opens; debug lines are never held back", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(arbBurst, { minLength: 1, maxLength: 12 }),
        fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
        async (bursts, maxKeys) => {
          // The lines SPEC.md's bound lets through, restated: a key's second opens with its first event
          // after its last second closed.
          const expected: Array<Line> = []
          const windows = new Map<string, Window>()
          const reported: Array<{ readonly pauseMs: number; readonly events: ReadonlyArray<SocketEvent> }> = []
          let now = 0
          let n = 0
          for (const burst of bursts) {
            now += burst.pauseMs
            const { host, peer } = hosts[burst.host] as (typeof hosts)[number]
            const events = burst.ports.map((port) => eventOf(burst.kind, peer(port), host, n++))
            reported.push({ pauseMs: burst.pauseMs, events })
            for (const event of events) {
              if (burst.kind === "Connected") {
                expected.push({ level: "Debug", text: formatEvent(event) })
                continue
              }
              const key = `${burst.kind} ${host}`
              let window = windows.get(key)
              if (window !== undefined && now - window.start >= 1000) {
                if (window.held > 0) expected.push({ level: "Warn", text: heldBack(host, window.held, burst.kind) })
                window = undefined
              }
              if (window === undefined) {
                // Past the keys it tracks (1,024, or fewer for this test), the limiter forgets the oldest,
                // and with it any count it held back.
                if (windows.size >= (maxKeys ?? 1024)) windows.delete(windows.keys().next().value as string)
                window = { start: now, written: 0, held: 0 }
                windows.set(key, window)
              }
              if (window.written < 10) {
                window.written++
                expected.push({ level: "Warn", text: formatEvent(event) })
              } else {
                window.held++
              }
            }
          }
          const limiter = maxKeys === undefined ? new LogLimiter() : new LogLimiter(10, 1000, maxKeys)
          const lines = await captureLines(
            Effect.forEach(
              reported,
              ({ pauseMs, events }) =>
                Effect.andThen(
                  TestClock.adjust(pauseMs),
                  Effect.forEach(events, (event) => reportEvent(undefined, event, limiter), { discard: true })
                ),
              { discard: true }
            )
          )
          expect(lines.map((l) => l.level)).toEqual(expected.map((e) => e.level))
          for (const [i, want] of expected.entries()) {
            const line = lines[i] as Line
            if (want.text.startsWith(heldMark)) {
              // A held-back count: it names the host, the kind and how many lines were held back.
              const [, host, held, kind] = want.text.split(heldMark) as [string, string, string, string]
              expect(line.text).toContain(host)
              expect(line.text).toMatch(word(Number(held)))
              expect(line.text).toContain(kind)
            } else {
              expect(line.text).toBe(want.text)
            }
          }
        }
      ),
      fcParams(200)
    ))
})
