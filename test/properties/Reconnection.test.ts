/**
 * Reconnection, bounds and addresses as properties (R-SOCK-12, R-SOCK-18, R-SOCK-24, R-SOCK-16), on the
 * virtual clock and the in-memory network: a server that comes and goes as a generated script says, a client
 * with generated backoff options and bounds. The trace (every connection attempt, every event, each
 * with its virtual time) must be what SPEC.md says: an attempt on an address where nothing answers at all
 * (a black hole: the connect never completes) fails `connectTimeout` after it began; each retry waits
 * `min(max, initial × factor^n)` of
 * which the last `jitter` part is random, `n` counting from 0 again after a connection; the next
 * attempt starts exactly that long after the failure; an attempt connects exactly when a server
 * listens; the client gives up at its bound and not before, and then tries no more; its
 * `isConnected` and `connections` follow its connections' events (R-SOCK-24). Addresses are checked
 * before anything is tried.
 *
 * The oracle restates SPEC.md and `BackoffOptions`' documented meaning; it never calls the code it checks.
 */
import { Duration, Effect, Exit, References, Result, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Beehive } from "../../src/contexts/Beehive.ts"
import { backoffDelayMillis } from "../../src/contexts/socket/Backoff.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import {
  formatAddress,
  MaxUnixPathBytes,
  parseAddress,
  type SocketAddress,
  type TlsOptions,
  tcp,
  unix,
  unixPacket
} from "../../src/contexts/socket/SocketAddress.ts"
import type { SocketClient } from "../../src/contexts/socket/SocketClient.ts"
import type { SocketEvent } from "../../src/contexts/socket/SocketEvents.ts"
import type { TransportShape } from "../../src/contexts/socket/Transport.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import type { ConnectFailed, ListenFailed } from "../../src/model/SocketErrors.ts"
import { makeSide, type Side } from "../socket/support.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"

/** Backoff options as a user may write them, valid or not. */
interface Backoff {
  readonly initial?: number | undefined
  readonly max?: number | undefined
  readonly factor?: number | undefined
  readonly jitter?: number | undefined
}

/**
 * The documented delay before retry `n`, as bounds: `min(max, initial × factor^n)` (defaults 100 ms,
 * 5 s, 2; a `max` below `initial` is `initial`; a factor below 1, or a non-positive duration, is the
 * default), of which the last `jitter` fraction (0.5 unless in [0, 1)) is random.
 */
const delayBounds = (n: number, options: Backoff): { readonly low: number; readonly high: number } => {
  const positive = (value: number | undefined, fallback: number) =>
    value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback
  const initial = positive(options.initial, 100)
  const max = Math.max(initial, positive(options.max, 5000))
  const factor = options.factor !== undefined && options.factor >= 1 ? options.factor : 2
  const jitter = options.jitter !== undefined && options.jitter >= 0 && options.jitter < 1 ? options.jitter : 0.5
  const base = Math.min(max, initial * factor ** n)
  return { low: Math.round(base * (1 - jitter)), high: Math.round(base) }
}

/** The time retry k's attempt begins after a first failed one, with every delay at its highest. */
const giveUpAfterOf = (k: number, options: Backoff): number => {
  let sum = 0
  for (let n = 0; n < k; n++) sum += delayBounds(n, options).high
  return sum
}

const arbBackoff: fc.Arbitrary<Backoff> = fc.record(
  {
    initial: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.constantFrom(0, -5)),
    max: fc.oneof(fc.integer({ min: 1, max: 2000 }), fc.constantFrom(0, -1)),
    factor: fc.constantFrom(0.5, 1, 1.5, 2, 3),
    jitter: fc.constantFrom(-0.5, 0, 0.25, 0.5, 0.9, 1, 1.5)
  },
  { requiredKeys: [] }
)

describe("R-SOCK-12 backoff", () => {
  it("R-SOCK-12 the delay before retry n is min(max, initial × factor^n), of which the last jitter part is random, and never zero", () =>
    fc.assert(
      fc.property(
        arbBackoff,
        fc.integer({ min: 0, max: 80 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (options, n, random) => {
          const delay = backoffDelayMillis(n, options, random)
          const { low, high } = delayBounds(n, options)
          expect(delay).toBeGreaterThanOrEqual(low)
          expect(delay).toBeLessThanOrEqual(high)
          expect(delay).toBeGreaterThan(0)
          // The random part is spread over the whole range: the extremes of `random` give its ends.
          expect(backoffDelayMillis(n, options, 0)).toBe(low)
        }
      ),
      fcParams(500)
    ))
})

interface Attempt {
  readonly at: number
  readonly connected: boolean
  /** Begun in a black hole: its connect never completed. */
  readonly hole: boolean
}

interface Seen {
  readonly at: number
  readonly event: SocketEvent
}

describe("R-SOCK-12 R-SOCK-18 a client reconnects, and gives up, as SPEC says", () => {
  it("R-SOCK-12 R-SOCK-18 R-SOCK-24 every retry waits its backoff after the failure; attempts connect exactly when a server listens; the client gives up at its bound, then stops; isConnected and connections follow its connections", () =>
    fc.assert(
      fc.property(
        // The server is down, then up, in turns, for these many ms each; a turn down may be a black hole.
        fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 6 }),
        fc.record({
          holes: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
          connectTimeout: fc.integer({ min: 1, max: 400 }),
          backoff: arbBackoff,
          bound: fc.oneof(
            fc.constant(undefined),
            fc.integer({ min: 1, max: 5 }).map((maxAttempts) => ({ maxAttempts })),
            fc.integer({ min: 1, max: 900 }).map((giveUpAfter) => ({ giveUpAfter })),
            // The bound the k-th retry's attempt reaches exactly, while the server stays down, when the
            // backoff has no random part: where `>` and `>=` differ.
            fc.integer({ min: 1, max: 4 }).map((giveUpAtRetry) => ({ giveUpAtRetry }))
          ),
          // When the client starts on the clock: a time measured from the clock's origin shows.
          startAt: fc.nat({ max: 5000 })
        }),
        (script, { holes, connectTimeout, backoff, bound, startAt }) => {
          const sim = new SimRuntime()
          const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>, scope: Scope.Scope): A => {
            const exit = sim.runSync(
              Scope.provide(effect, scope).pipe(Effect.provideService(References.MinimumLogLevel, "None"))
            )
            if (Exit.isFailure(exit)) throw new Error(`unexpected failure: ${String(exit.cause)}`)
            return exit.value
          }
          const network = new MemoryNetwork()
          const attempts: Array<Attempt> = []
          // The black-hole turns, [from, to): a connect begun in one never completes.
          const blackHoles: Array<readonly [number, number]> = []
          const inHole = (t: number) => blackHoles.some(([from, to]) => from <= t && t < to)
          const recording: TransportShape = {
            listen: network.transport.listen,
            connect: (address, tls) =>
              Effect.suspend(() => {
                const at = sim.now
                const hole = inHole(at)
                return Effect.onExit(hole ? Effect.never : network.transport.connect(address, tls), (exit) =>
                  Effect.sync(() => attempts.push({ at, connected: Exit.isSuccess(exit), hole }))
                )
              })
          }
          const address = unix("server")
          const root = sim.run(Scope.make())
          const server: Side = run(makeSide(recording), root)
          run(server.beehive.addModule("A"), root)
          const seen: Array<Seen> = []
          const client: Side = run(
            makeSide(recording, { onEvent: (event) => void seen.push({ at: sim.now, event }) }),
            root
          )
          run(client.beehive.addModule("X"), root)
          sim.advanceBy(startAt)
          const started = sim.now
          const options = {
            module: "X",
            address,
            backoff,
            connectTimeout: Duration.millis(connectTimeout),
            ...(bound === undefined
              ? {}
              : "maxAttempts" in bound
                ? { maxAttempts: bound.maxAttempts }
                : "giveUpAfter" in bound
                  ? { giveUpAfter: Duration.millis(bound.giveUpAfter) }
                  : { giveUpAfter: Duration.millis(giveUpAfterOf(bound.giveUpAtRetry, backoff)) })
          }
          let handle: SocketClient | undefined
          const connected = sim.fork(
            Effect.flatMap(Scope.provide(client.socket.connect(options), root), (c) => {
              handle = c
              return c.connected
            }).pipe(Effect.provideService(References.MinimumLogLevel, "None"))
          )
          sim.settle()
          /**
           * R-SOCK-24: `isConnected` is true exactly between a connection's `Connected` and its
           * `Disconnected` (never after giving up), and `connections` counts the `Connected`; checked
           * whenever the run has settled, with the server up or down.
           */
          const checkConnectedness = (when: string) => {
            if (handle === undefined) throw new Error("the client did not start")
            const count = (tag: SocketEvent["_tag"]) => seen.filter((s) => s.event._tag === tag).length
            const up = count("Connected") > count("Disconnected")
            expect(sim.run(handle.isConnected), `isConnected ${when}`).toBe(up && count("GaveUp") === 0)
            expect(sim.run(handle.connections), `connections ${when}`).toBe(count("Connected"))
          }
          checkConnectedness("at the start")
          // The server's turns: down, up, down, ... A server that goes down closes its connections.
          const ups: Array<readonly [number, number]> = []
          let serving: Scope.Closeable | undefined
          for (const [i, ms] of script.entries()) {
            if (i % 2 === 0 && holes[i] === true) blackHoles.push([sim.now, sim.now + ms])
            if (i % 2 === 1) {
              serving = sim.run(Scope.make())
              run(server.socket.serve({ address, accept: ["X"] }), serving)
              ups.push([sim.now, sim.now + ms])
            }
            sim.advanceBy(ms)
            checkConnectedness(`at the end of turn ${i}`)
            if (serving !== undefined) {
              sim.run(Scope.close(serving, Exit.void))
              serving = undefined
              sim.settle()
              checkConnectedness(`after the server of turn ${i} closed`)
            }
          }
          sim.advanceBy(6000)
          checkConnectedness("at the end")
          const end = sim.now
          const at = (t: number) => ups.some(([from, to]) => from <= t && t < to)
          const boundary = (t: number) => ups.some(([from, to]) => t === from || t === to)

          // The trace: attempt k ends with a Retrying (or GaveUp) event; attempt k + 1 starts its delay later.
          const retries = seen.filter((s) => s.event._tag === "Retrying")
          const gaveUp = seen.filter((s) => s.event._tag === "GaveUp")
          const connectedAt = seen.filter((s) => s.event._tag === "Connected").map((s) => s.at)
          expect(gaveUp.length).toBeLessThanOrEqual(1)
          expect(attempts.length).toBeGreaterThan(0)
          expect(attempts[0]?.at).toBe(started)
          expect(retries.length + gaveUp.length).toBeGreaterThanOrEqual(attempts.length - 1)
          let failedInARow = 0
          let sinceConnection = 0
          let unconnectedSince = started
          let gaveUpDetail = ""
          for (const [k, attempt] of attempts.entries()) {
            // An attempt connects exactly when a server listens (at a turn's edge, either may happen).
            if (!boundary(attempt.at)) expect(attempt.connected, `attempt ${k} at ${attempt.at}`).toBe(at(attempt.at))
            const next = retries[k] ?? (k === retries.length ? gaveUp[0] : undefined)
            if (next === undefined) break
            // An attempt nothing answered fails when its connect times out, not before, not after.
            if (attempt.hole) {
              expect(attempt.connected, `attempt ${k} in a black hole`).toBe(false)
              expect(next.at, `the end of attempt ${k} in a black hole`).toBe(attempt.at + connectTimeout)
            }
            const hadConnection = connectedAt.some((t) => t >= attempt.at && t <= next.at)
            if (!boundary(attempt.at)) expect(hadConnection, `attempt ${k} connected`).toBe(at(attempt.at))
            if (hadConnection) {
              failedInARow = 0
              sinceConnection = 0
              unconnectedSince = next.at
            } else failedInARow++
            const outOfAttempts = bound !== undefined && "maxAttempts" in bound && failedInARow >= bound.maxAttempts
            const outOfTime =
              bound !== undefined &&
              !("maxAttempts" in bound) &&
              failedInARow > 0 &&
              next.at - unconnectedSince >=
                ("giveUpAfter" in bound ? bound.giveUpAfter : giveUpAfterOf(bound.giveUpAtRetry, backoff))
            if (next.event._tag === "GaveUp") {
              expect(outOfAttempts || outOfTime, `gave up after attempt ${k}`).toBe(true)
              expect(next.event.attempts).toBe(failedInARow)
              gaveUpDetail = `gave up after ${failedInARow} failed attempt(s) in ${next.at - unconnectedSince} ms: `
              // Gave up: no attempt after it.
              expect(attempts.length).toBe(k + 1)
              break
            }
            expect(outOfAttempts || outOfTime, `went on after attempt ${k}`).toBe(false)
            if (next.event._tag !== "Retrying") throw new Error("unreachable")
            // Retry n waits its backoff; n starts again at 0 after a connection.
            expect(next.event.attempt).toBe(sinceConnection + 1)
            const { low, high } = delayBounds(sinceConnection, backoff)
            expect(next.event.delayMs).toBeGreaterThanOrEqual(low)
            expect(next.event.delayMs).toBeLessThanOrEqual(high)
            sinceConnection++
            const following = attempts[k + 1]
            if (following !== undefined) expect(following.at, `attempt ${k + 1}`).toBe(next.at + next.event.delayMs)
            else expect(next.at + next.event.delayMs).toBeGreaterThan(end)
          }
          // A client that gave up fails `connected` with the last failure's code, unless it ever connected.
          const exit = connected.pollUnsafe()
          if (gaveUp.length === 1 && connectedAt.length === 0) {
            expect(exit !== undefined && Exit.isFailure(exit)).toBe(true)
            const code = attempts[attempts.length - 1]?.hole === true ? "ETIMEDOUT" : "ECONNREFUSED"
            if (exit !== undefined) expect(errorOf(exit)).toMatchObject({ _tag: "ConnectFailed", code })
            // Its detail says how many attempts failed, and for how long it had been without a connection.
            if (exit !== undefined) expect((errorOf(exit) as ConnectFailed).detail.startsWith(gaveUpDetail)).toBe(true)
          }
          sim.run(Scope.close(root, Exit.void))
        }
      ),
      fcParams(150)
    ))
})

/**
 * An address as a caller may pass it, valid or not, with SPEC's verdict (R-SOCK-18) for listening and
 * connecting, and what the refusal's detail must say (`why`, for listening and for connecting).
 */
const arbAddress: fc.Arbitrary<{
  readonly address: unknown
  readonly tls?: TlsOptions | undefined
  readonly listen: boolean
  readonly connect: boolean
  readonly why: (use: "listen" | "connect") => RegExp
}> = fc.oneof(
  // Packets carry no TLS (R-SOCK-30): an address with TLS options is refused as one nothing can use.
  fc
    .record({
      bytes: fc.integer({ min: 1, max: MaxUnixPathBytes + 3 }),
      tls: fc.option(fc.constantFrom<TlsOptions>({ ca: "ca.pem" }, { cert: "c.pem", key: "k.pem" }, {}), {
        nil: undefined
      })
    })
    .map(({ bytes, tls }) => {
      const valid = bytes <= MaxUnixPathBytes && (tls === undefined || (!tls.ca && !tls.cert))
      const why = bytes > MaxUnixPathBytes ? tooLong(bytes) : /TLS is not available over unixpacket/
      return { address: unixPacket("p".repeat(bytes)), tls, listen: valid, connect: valid, why: () => why }
    }),
  fc.integer({ min: 1, max: MaxUnixPathBytes + 20 }).chain((bytes) =>
    fc.boolean().map((wide) => {
      // A path of `bytes` bytes, some of its characters two bytes long.
      const path = wide ? `${"é".repeat(Math.floor(bytes / 2))}${bytes % 2 === 1 ? "s" : ""}` : "s".repeat(bytes)
      const valid = bytes <= MaxUnixPathBytes
      return { address: unix(path), listen: valid, connect: valid, why: () => tooLong(bytes) }
    })
  ),
  fc.constant({ address: unix(""), listen: false, connect: false, why: () => /the unix socket path is empty/ }),
  fc.oneof(fc.integer({ min: -2, max: 65_537 }), fc.constantFrom(0, 1, 65_535, 1.5, Number.NaN)).chain((port) =>
    fc.constantFrom("127.0.0.1", "::1", "").map((host) => {
      const portOk = (lowest: number) => Number.isInteger(port) && port >= lowest && port <= 65_535
      const why = (use: "listen" | "connect") =>
        host === ""
          ? /the host is empty/
          : new RegExp(`^port ${String(port)} is not an integer from ${use === "listen" ? 0 : 1} to 65535`)
      return { address: tcp(host, port), listen: host !== "" && portOk(0), connect: host !== "" && portOk(1), why }
    })
  ),
  fc
    .constantFrom<unknown>(null, undefined, "127.0.0.1:80", 42, { _tag: "Udp" })
    .map((address) => ({ address, listen: false, connect: false, why: () => /^not an address/ })),
  fc.constant({
    address: { _tag: "Tcp", host: 1, port: 80 },
    listen: false,
    connect: false,
    why: () => /the host is empty/
  })
)

/** What the refusal of a unix path of `bytes` bytes says. */
const tooLong = (bytes: number) =>
  new RegExp(`the unix socket path is ${bytes} bytes, longer than the ${MaxUnixPathBytes} the system allows`)

describe("R-SOCK-18 addresses are checked before anything is tried", () => {
  it("R-SOCK-18 serve fails with InvalidAddress and connect with EINVAL, at once and with no retry, exactly for the addresses SPEC refuses", () =>
    fc.assert(
      fc.property(arbAddress, ({ address, tls, listen, connect, why }) => {
        const sim = new SimRuntime()
        const network = new MemoryNetwork()
        let tried = 0
        const count = Effect.sync(() => {
          tried++
        })
        const counting: TransportShape = {
          listen: (a, t) => Effect.andThen(count, network.transport.listen(a, t)),
          connect: (a, t) => Effect.andThen(count, network.transport.connect(a, t))
        }
        const exit = sim.runSync(
          Effect.scoped(
            Effect.gen(function* () {
              const side = yield* makeSide(counting)
              yield* side.beehive.addModule("X")
              const served = yield* Effect.exit(
                side.socket.serve({ address: address as SocketAddress, accept: ["X"], tls })
              )
              const triedToListen = tried
              const client = yield* Effect.exit(
                side.socket.connect({ module: "X", address: address as SocketAddress, maxAttempts: 1, tls })
              )
              return { served, triedToListen, client, triedToConnect: tried - triedToListen, events: side.events }
            })
          ).pipe(Effect.provideService(References.MinimumLogLevel, "None"), Effect.provide(Beehive.layer))
        )
        if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
        const { served, triedToListen, client, triedToConnect, events } = exit.value
        if (listen) expect(Exit.isSuccess(served)).toBe(true)
        else {
          expect(errorOf(served)).toMatchObject({ _tag: "ListenFailed", reason: "InvalidAddress" })
          expect((errorOf(served) as ListenFailed).detail).toMatch(why("listen"))
          expect(triedToListen).toBe(0)
        }
        if (connect) expect(Exit.isSuccess(client)).toBe(true)
        else {
          expect(errorOf(client)).toMatchObject({ _tag: "ConnectFailed", code: "EINVAL" })
          expect((errorOf(client) as ConnectFailed).detail).toMatch(why("connect"))
          // The error names the address as it was given: a unix path (of either type) as itself, TCP as host:port.
          const given = address as { _tag?: unknown; path?: unknown; host?: unknown; port?: unknown } | null
          if (given?._tag === "Unix" || given?._tag === "UnixPacket")
            expect(errorOf(client)).toMatchObject({ address: String(given.path) })
          if (given?._tag === "Tcp")
            expect(errorOf(client)).toMatchObject({ address: `${String(given.host)}:${String(given.port)}` })
          expect(triedToConnect).toBe(0)
          expect(events.filter((e) => e._tag === "Retrying")).toEqual([])
        }
      }),
      fcParams(200)
    ))

  it("R-SOCK-16 a TCP or unix address written as text reads back as the same address", () =>
    fc.assert(
      fc.property(
        fc.oneof(
          fc
            .tuple(fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain()), fc.integer({ min: 0, max: 65_535 }))
            .map(([host, port]): [string, SocketAddress] => ["tcp", tcp(host, port)]),
          fc.stringMatching(/^\/[a-z0-9/._-]{1,40}$/).map((path): [string, SocketAddress] => ["unix", unix(path)])
        ),
        ([socketType, address]) => {
          const parsed = parseAddress(socketType, formatAddress(address))
          expect(Result.isSuccess(parsed) ? parsed.success : parsed).toEqual(address)
        }
      ),
      fcParams(300)
    ))
})
