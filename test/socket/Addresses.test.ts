import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Layer, type Scope } from "effect"
import { describe, expect, it } from "vitest"
import { Beehive } from "../../src/contexts/Beehive.ts"
import { type SocketAddress, tcp, unix } from "../../src/contexts/socket/SocketAddress.ts"
import { SocketContext } from "../../src/contexts/socket/SocketContext.ts"
import type { SocketEvent } from "../../src/contexts/socket/SocketEvents.ts"
import { InvalidArgument } from "../../src/model/Errors.ts"
import { ConnectFailed, ListenFailed } from "../../src/model/SocketErrors.ts"

const bad = <A>(value: unknown): A => value as A

/** Runs `body` with a real socket context (Node's transport), as a user's program has it. */
const withSocket = <A, E>(
  body: Effect.Effect<A, E, SocketContext | Beehive | Scope.Scope>,
  events: Array<SocketEvent> = []
) =>
  Effect.runPromise(
    Effect.exit(
      Effect.scoped(body).pipe(
        Effect.provide(
          SocketContext.layerNode({ onEvent: (e) => events.push(e) }).pipe(Layer.provideMerge(Beehive.layer))
        )
      )
    )
  )

const failureOf = <A, E>(exit: Exit.Exit<A, E>): unknown => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const reason = exit.cause.reasons[0]
  if (reason?._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(reason?._tag)}`)
  return reason.error
}

const longPath = `/tmp/${"x".repeat(120)}.sock`
const badAddresses: ReadonlyArray<readonly [string, SocketAddress]> = [
  ["a port above 65535", tcp("127.0.0.1", 99999)],
  ["a negative port", tcp("127.0.0.1", -1)],
  ["a fractional port", tcp("127.0.0.1", 80.5)],
  ["a NaN port", tcp("127.0.0.1", Number.NaN)],
  ["an empty host", tcp("", 8080)],
  ["an empty unix path", unix("")],
  ["a unix path longer than the system allows", unix(longPath)],
  ["something that is not an address", bad({ host: "127.0.0.1", port: 80 })]
]

describe("R-SOCK-18 addresses and connection bounds are checked, with typed errors", () => {
  it.each(badAddresses)(
    "serve on %s fails with ListenFailed InvalidAddress, touching nothing",
    async (_what, address) => {
      const exit = await withSocket(Effect.flatMap(SocketContext, (s) => s.serve({ address, accept: ["x"] })))
      const error = failureOf(exit)
      expect(error).toBeInstanceOf(ListenFailed)
      expect(error).toMatchObject({ reason: "InvalidAddress" })
    }
  )

  it.each(badAddresses)("connect to %s fails at once with ConnectFailed EINVAL", async (_what, address) => {
    const events: Array<SocketEvent> = []
    const exit = await withSocket(
      Effect.flatMap(SocketContext, (s) => s.connect({ module: "x", address })),
      events
    )
    const error = failureOf(exit)
    expect(error).toBeInstanceOf(ConnectFailed)
    expect(error).toMatchObject({ code: "EINVAL" })
    expect(events.filter((e) => e._tag === "Retrying")).toEqual([])
  })

  it("port 0 is a free port to listen on, but nothing to connect to", async () => {
    const exit = await withSocket(
      Effect.gen(function* () {
        const socket = yield* SocketContext
        const server = yield* socket.serve({ address: tcp("127.0.0.1", 0), accept: ["x"] })
        expect(server.address).toMatchObject({ _tag: "Tcp" })
        return yield* Effect.flip(socket.connect({ module: "x", address: tcp("127.0.0.1", 0) }))
      })
    )
    expect(Exit.isSuccess(exit) && exit.value).toBeInstanceOf(ConnectFailed)
  })

  it("connect to a socket path nobody serves gives up after maxAttempts, and connected fails with the last error", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "bh-addr-")), "nobody.sock")
    const events: Array<SocketEvent> = []
    const exit = await withSocket(
      Effect.gen(function* () {
        const socket = yield* SocketContext
        const client = yield* socket.connect({
          module: "x",
          address: unix(path),
          maxAttempts: 3,
          backoff: { initial: 1, max: 2 }
        })
        const error = yield* Effect.flip(client.connected)
        expect(yield* client.isConnected).toBe(false)
        return error
      }),
      events
    )
    const error = Exit.isSuccess(exit) ? exit.value : failureOf(exit)
    expect(error).toBeInstanceOf(ConnectFailed)
    expect(error).toMatchObject({
      code: "ENOENT",
      detail: expect.stringContaining("gave up after 3 failed attempt(s)")
    })
    expect(events.filter((e) => e._tag === "Retrying")).toHaveLength(2)
    expect(events.filter((e) => e._tag === "GaveUp")).toMatchObject([{ attempts: 3 }])
  })

  it("giveUpAfter bounds the time without a connection", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "bh-addr-")), "nobody.sock")
    const started = performance.now()
    const exit = await withSocket(
      Effect.gen(function* () {
        const socket = yield* SocketContext
        const client = yield* socket.connect({
          module: "x",
          address: unix(path),
          giveUpAfter: "200 millis",
          backoff: { initial: 20, max: 40 }
        })
        return yield* Effect.flip(client.connected)
      })
    )
    expect(Exit.isSuccess(exit) && exit.value).toMatchObject({ _tag: "ConnectFailed", code: "ENOENT" })
    const elapsed = performance.now() - started
    expect(elapsed).toBeGreaterThanOrEqual(200)
    expect(elapsed).toBeLessThan(5000)
  })

  it("a bound that is not positive is InvalidArgument", async () => {
    for (const options of [{ maxAttempts: 0 }, { maxAttempts: 1.5 }, { giveUpAfter: -1 }, { giveUpAfter: "soon" }]) {
      const exit = await withSocket(
        Effect.flatMap(SocketContext, (s) =>
          s.connect({ module: "x", address: unix("/tmp/x.sock"), ...bad<object>(options) })
        )
      )
      expect(failureOf(exit)).toBeInstanceOf(InvalidArgument)
    }
  })
})
