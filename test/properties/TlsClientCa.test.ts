/**
 * A TLS client configured with a CA alone, as a property over real sockets (R-SOCK-15): "a client with
 * `ca` (verifying the server) and optionally `cert` and `key`". Over unix paths and TCP loopback, a
 * client given only the CA that signed the server's certificate speaks TLS (the server listens with its
 * certificate and key, and requires no client certificate), its bytes arrive in both directions, and it
 * presents no certificate; given only another CA, it does not connect. Certificates are made with
 * openssl once for the file.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Duration, Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { nodeTransport } from "../../src/contexts/socket/NodeTransport.ts"
import { type SocketAddress, type TlsOptions, tcp, unix } from "../../src/contexts/socket/SocketAddress.ts"
import type { Connection } from "../../src/contexts/socket/Transport.ts"
import { run } from "../socket/support.ts"
import { certificates } from "../support/certificates.ts"
import { fcParams } from "../support/fc.ts"

const signed = certificates({ server: "IP:127.0.0.1,DNS:localhost" })
const stranger = certificates({})
const serverTls: TlsOptions = { cert: join(signed, "server.pem"), key: join(signed, "server.key") }
const directory = mkdtempSync(join(tmpdir(), "bh-tls-ca-property-"))
let paths = 0

/** Reads exactly `total` bytes. */
const readExactly = (connection: Connection, total: number) =>
  Effect.gen(function* () {
    const chunks: Array<Uint8Array> = []
    let got = 0
    while (got < total) {
      for (const chunk of yield* connection.read) {
        chunks.push(chunk)
        got += chunk.length
      }
    }
    return Buffer.concat(chunks)
  })

// Generous bounds for failures on a busy machine, never delays.
const bound = Duration.seconds(20)

describe("R-SOCK-15 a TLS client with a CA alone", () => {
  it(
    "R-SOCK-15 a client given only the server's CA speaks TLS, verifies the server and presents no certificate; its bytes arrive both ways; given another CA it does not connect",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom("unix" as const, "tcp" as const),
          fc.uint8Array({ minLength: 1, maxLength: 4096 }),
          fc.uint8Array({ minLength: 1, maxLength: 4096 }),
          (kind, up, down) =>
            run(
              Effect.gen(function* () {
                const address: SocketAddress =
                  kind === "unix" ? unix(join(directory, `s${++paths}.sock`)) : tcp("127.0.0.1", 0)
                const listener = yield* nodeTransport.listen(address, serverTls)
                const client = yield* nodeTransport.connect(listener.address, { ca: join(signed, "ca.pem") })
                const server = yield* listener.accept
                expect(server.certificateNames).toBeUndefined()
                yield* client.write(up)
                expect([...(yield* readExactly(server, up.length))]).toEqual([...up])
                yield* server.write(down)
                expect([...(yield* readExactly(client, down.length))]).toEqual([...down])
                yield* client.close
                // A CA that did not sign the server's certificate: verification fails, no connection.
                const refused = yield* Effect.result(
                  nodeTransport.connect(listener.address, { ca: join(stranger, "ca.pem") })
                )
                expect(refused._tag).toBe("Failure")
                yield* listener.close
              }).pipe(Effect.timeout(bound))
            )
        ),
        // A failure is a wait for the bound: report the first one rather than shrink through more.
        { ...fcParams(6), endOnFailure: true }
      ),
    60_000
  )
})
