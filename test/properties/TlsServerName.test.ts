/**
 * How a TLS client names and checks the server (R-SOCK-27), as a property over real sockets: the
 * Node transport connects with TLS to a plain node:tls server that records the name each hello
 * carries (SNI), at a host name (`localhost`), an IP address (`127.0.0.1`) or a unix path, with a
 * server certificate whose subjectAltName covers the host or not (generated; its CN names neither).
 * Over TCP the client connects exactly when the certificate covers the host it dialled, and names a
 * host name in its hello, never an IP address; over a unix path it names nothing and the CA alone
 * vouches for the server.
 *
 * The oracle is SPEC.md's wording and the names the server saw, never the transport's code.
 */
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as tls from "node:tls"
import { Effect, Exit } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { nodeTransport } from "../../src/contexts/socket/NodeTransport.ts"
import { type SocketAddress, tcp, unix } from "../../src/contexts/socket/SocketAddress.ts"
import { run, waitFor } from "../socket/support.ts"
import { certificates } from "../support/certificates.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"

const directory = mkdtempSync(join(tmpdir(), "bh-tls-names-"))
let paths = 0

type Dialled = "localhost" | "127.0.0.1" | "unix path"

interface Covered {
  readonly name: boolean
  readonly ip: boolean
}

/** One certificate folder per subjectAltName made (openssl is slow: a few per run of the suite). */
const folders = new Map<string, string>()
const folderFor = (covered: Covered) => {
  const alt = [...(covered.name ? ["DNS:localhost"] : []), ...(covered.ip ? ["IP:127.0.0.1"] : [])].join(",")
  const known = folders.get(alt)
  if (known !== undefined) return known
  // The server certificate's CN is "server": it names neither host, so only the subjectAltName counts.
  const made = certificates({ server: alt })
  folders.set(alt, made)
  return made
}

/** A plain node:tls server that records the server name of every hello it completes. */
const recordingServer = (address: SocketAddress, folder: string) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly server: tls.Server; readonly names: Array<string | undefined>; readonly port: number }>(
      (resume) => {
        const names: Array<string | undefined> = []
        const server = tls.createServer(
          { cert: readFileSync(join(folder, "server.pem")), key: readFileSync(join(folder, "server.key")) },
          (socket) => {
            names.push(typeof socket.servername === "string" ? socket.servername : undefined)
            socket.on("error", () => {})
            socket.end()
          }
        )
        server.on("tlsClientError", () => {})
        const listening = () => {
          const bound = server.address()
          resume(Effect.succeed({ server, names, port: typeof bound === "object" && bound !== null ? bound.port : 0 }))
        }
        if (address._tag === "Unix") server.listen(address.path, listening)
        else server.listen(0, "127.0.0.1", listening)
      }
    ),
    ({ server }) => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
  )

describe("R-SOCK-27 a TLS client names and checks the server it dialled", () => {
  it(
    "R-SOCK-27 R-SOCK-15 over TCP a TLS client connects exactly when the server's certificate covers the host it dialled and names a host name, never an IP address, in its hello; over a unix path it names none and the CA alone vouches",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom<Dialled>("localhost", "127.0.0.1", "unix path"),
          fc.record({ name: fc.boolean(), ip: fc.boolean() }),
          (dialled, covered) =>
            run(
              Effect.gen(function* () {
                const folder = folderFor(covered)
                const listenAt: SocketAddress =
                  dialled === "unix path" ? unix(join(directory, `s${++paths}.sock`)) : tcp("127.0.0.1", 0)
                const { names, port } = yield* recordingServer(listenAt, folder)
                const target: SocketAddress = listenAt._tag === "Unix" ? listenAt : tcp(dialled, port)
                const exit = yield* Effect.exit(nodeTransport.connect(target, { ca: join(folder, "ca.pem") }))
                const vouched = dialled === "unix path" ? true : dialled === "localhost" ? covered.name : covered.ip
                const label = `${dialled}, certificate covering ${JSON.stringify(covered)}`
                expect(Exit.isSuccess(exit), label).toBe(vouched)
                if (Exit.isFailure(exit)) {
                  expect(errorOf(exit)?._tag, label).toBe("ConnectFailed")
                  return
                }
                // The server completes its side of the handshake after the client (TLS 1.3): a bound, not a delay.
                yield* waitFor(() => names.length > 0, "the server's side of the handshake", 10_000)
                yield* exit.value.close
                // The server saw the hello's name: the host name dialled, or none for an address or a path.
                expect(names, label).toEqual([dialled === "localhost" ? "localhost" : undefined])
              })
            )
        ),
        fcParams(16)
      ),
    60_000
  )
})
