/**
 * The NATS context over TLS against a real nats-server started with `--tls` (and `--tlsverify` for
 * client certificates), configured through `parseNatsConfig` as a user writes the YAML (R-NATS-10).
 * Certificates are made with openssl once for the file.
 */
import { join } from "node:path"
import { Effect, Exit, Fiber, Result, type Scope } from "effect"
import { describe, expect, it } from "vitest"
import { startNatsServerOn } from "../../scripts/natsServer.ts"
import { makeHost } from "../../src/contexts/Beehive.ts"
import { ContextHost } from "../../src/contexts/ContextHost.ts"
import { makeNatsContext } from "../../src/contexts/nats/NatsContext.ts"
import { parseNatsConfig } from "../../src/contexts/nats/NatsOptions.ts"
import * as Message from "../../src/model/Message.ts"
import { certificates } from "../support/certificates.ts"
import { errorOf } from "../support/exits.ts"
import { awaitModule, type Proc } from "./support.ts"

const signed = certificates({ server: "IP:127.0.0.1,DNS:localhost", client: "DNS:client" })
const stranger = certificates({ client: "DNS:client" })

/** `--tls` with the signed server certificate; `verify` also requires client certificates signed by its CA. */
const tlsServer = (verify: boolean) =>
  startNatsServerOn(undefined, [
    ...["--tls", "--tlscert", join(signed, "server.pem"), "--tlskey", join(signed, "server.key")],
    ...(verify ? ["--tlsverify", "--tlscacert", join(signed, "ca.pem")] : [])
  ])

/** A process configured by `yaml` (parsed as a user's file is); fails as `makeNatsContext` does. */
const fromYaml = (yaml: string): Effect.Effect<Proc, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const parsed = parseNatsConfig(yaml)
    if (Result.isFailure(parsed)) return yield* Effect.fail(parsed.failure)
    const host = yield* makeHost()
    const nats = yield* makeNatsContext(parsed.success).pipe(Effect.provideService(ContextHost, host))
    return { beehive: host.beehive, nats, events: [] }
  })

/** The outcome of connecting with `yaml`, and its typed error. */
const connectExit = (yaml: string) =>
  fromYaml(yaml).pipe(
    Effect.exit,
    Effect.map((exit) => ({ exit, error: errorOf(exit) as { _tag?: string; detail?: string; key?: string } }))
  )

const run = <A>(body: Effect.Effect<A, unknown, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(body) as Effect.Effect<A, unknown, never>)

const msg = (id: string, content: unknown = id) => Message.make({ header: { id, timestamp: 1 }, content })

describe("NATS context over TLS", () => {
  it.each([
    ["the server's CA alone", false, `{ ca: ${join(signed, "ca.pem")} }`],
    [
      "the CA and a client certificate the server requires",
      true,
      `{ ca: ${join(signed, "ca.pem")}, cert: ${join(signed, "client.pem")}, key: ${join(signed, "client.key")} }`
    ]
  ])(
    "R-NATS-10 R-NATS-2 R-NATS-6 two processes configured in YAML with %s talk over TLS: send and sendSync across",
    (_, verify, tls) =>
      run(
        Effect.gen(function* () {
          const server = yield* tlsServer(verify)
          const yaml = `servers: [${server.url}]\nprefix: site1.tls\ntls: ${tls}\nheartbeatms: 150\n`
          const A = yield* fromYaml(yaml)
          const B = yield* fromYaml(yaml)
          yield* A.beehive.addModule("a1")
          yield* A.nats.serve("a1")
          yield* awaitModule(B, "a1")
          yield* B.beehive.send("a1", msg("one-way"))
          expect((yield* A.beehive.receive("a1")).content).toBe("one-way")
          const answering = yield* Effect.forkChild(
            Effect.gen(function* () {
              const request = yield* A.beehive.receive("a1")
              yield* A.beehive.sendResp(yield* Message.newResponse(request, `a1:${String(request.content)}`), "a1")
            })
          )
          const answer = yield* B.beehive.sendSync("a1", msg("q1", "x"), 5000)
          expect(answer.header.parentId).toBe("q1")
          expect(answer.content).toBe("a1:x")
          yield* Fiber.join(answering)
        })
      ),
    20_000
  )

  it(
    "R-NATS-10 a client that does not trust the server's CA (another CA, or none configured) fails with NatsConnectFailed naming the certificate; one configured for TLS refuses a server without it",
    () =>
      run(
        Effect.gen(function* () {
          const server = yield* tlsServer(false)
          for (const tls of [`tls: { ca: ${join(stranger, "ca.pem")} }\n`, ""]) {
            const { exit, error } = yield* connectExit(`servers: ${server.url}\n${tls}`)
            expect(Exit.isFailure(exit)).toBe(true)
            expect(error?._tag).toBe("NatsConnectFailed")
            expect(error?.detail).toMatch(/certificate/i)
          }
          const plain = yield* startNatsServerOn(undefined)
          const { error } = yield* connectExit(`servers: ${plain.url}\ntls: { ca: ${join(signed, "ca.pem")} }\n`)
          expect(error?._tag).toBe("NatsConnectFailed")
          expect(error?.detail).toMatch(/tls/i)
        })
      ),
    20_000
  )

  it(
    "R-NATS-10 a server requiring client certificates refuses a client without one, or with one another CA signed, with NatsConnectFailed at once (reconnection configured)",
    () =>
      run(
        Effect.gen(function* () {
          const server = yield* tlsServer(true)
          const ca = join(signed, "ca.pem")
          for (const tls of [
            `{ ca: ${ca} }`,
            `{ ca: ${ca}, cert: ${join(stranger, "client.pem")}, key: ${join(stranger, "client.key")} }`
          ]) {
            const { exit, error } = yield* connectExit(
              `servers: ${server.url}\ntls: ${tls}\nmaxreconnectattempts: 10\n`
            )
            expect(Exit.isFailure(exit)).toBe(true)
            expect(error?._tag).toBe("NatsConnectFailed")
            // The server's alert, or the reset of the connection when the client's CONNECT overtakes it;
            // the client's connect timeout (20 s, "timeout") was the failure before.
            expect(error?.detail).toMatch(/certificate|ECONNRESET/i)
          }
        })
      ),
    60_000
  )

  it("R-NATS-10 a ca, cert or key file that cannot be read is a NatsConfigError naming the key, before any connection", () =>
    run(
      Effect.gen(function* () {
        const ca = join(signed, "ca.pem")
        const cert = join(signed, "client.pem")
        const key = join(signed, "client.key")
        const missing = join(signed, "missing.pem")
        for (const [tls, named] of [
          [`{ ca: ${missing} }`, "tls.ca"],
          [`{ ca: ${signed} }`, "tls.ca"],
          [`{ ca: ${ca}, cert: ${missing}, key: ${key} }`, "tls.cert"],
          [`{ ca: ${ca}, cert: ${cert}, key: ${missing} }`, "tls.key"]
        ] as const) {
          // Nobody listens on port 1: a connection attempt would be NatsConnectFailed.
          const yaml = `servers: nats://127.0.0.1:1\ntls: ${tls}\n`
          const parsed = parseNatsConfig(yaml)
          expect(Result.isFailure(parsed) && parsed.failure.key).toBe(named)
          const { error } = yield* connectExit(yaml)
          expect(error?._tag).toBe("NatsConfigError")
          expect(error?.key).toBe(named)
        }
        const unreadable = parseNatsConfig(`servers: nats://127.0.0.1:1\ntls: { ca: ${signed} }\n`)
        expect(Result.isFailure(unreadable) && unreadable.failure.reason).toContain("is not a file")
      })
    ))
})
