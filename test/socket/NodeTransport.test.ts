import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Duration, Effect, Exit, Option } from "effect"
import { describe, expect, it } from "vitest"
import { nodeTransport } from "../../src/contexts/socket/NodeTransport.ts"
import { tcp, unix } from "../../src/contexts/socket/SocketAddress.ts"
import { ControlledScheduler } from "../../src/effects/ControlledScheduler.ts"
import * as Message from "../../src/model/Message.ts"
import { certificates } from "../support/certificates.ts"
import { msg } from "../support/messages.ts"
import { makeSide, run, waitFor } from "./support.ts"

const tempDir = () => mkdtempSync(join(tmpdir(), "bh-nt-"))

const failure = <A, E>(exit: Exit.Exit<A, E>): any => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  return error?._tag === "Fail" ? error.error : undefined
}

/** A unix socket file that nobody listens on: a server process killed without cleaning up. */
const staleSocket = (path: string) => {
  spawnSync(process.execPath, [
    "-e",
    `require("net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`
  ])
  expect(statSync(path).isSocket()).toBe(true)
}

describe("node transport", () => {
  it("R-SOCK-14 a unix socket file is created with mode 0600 and removed on close", () =>
    run(
      Effect.gen(function* () {
        const path = join(tempDir(), "s.sock")
        yield* Effect.scoped(
          Effect.gen(function* () {
            const listener = yield* nodeTransport.listen(unix(path))
            expect(statSync(path).mode & 0o777).toBe(0o600)
            expect(listener.address).toEqual(unix(path))
          })
        )
        expect(existsSync(path)).toBe(false)
      })
    ))

  it("R-SOCK-14 a stale socket file is replaced; a live server's is not; a file that is not a socket is left alone", () =>
    run(
      Effect.gen(function* () {
        const dir = tempDir()
        const stale = join(dir, "stale.sock")
        staleSocket(stale)
        const listener = yield* nodeTransport.listen(unix(stale))
        const second = yield* Effect.exit(nodeTransport.listen(unix(stale)))
        expect(failure(second)).toMatchObject({ _tag: "ListenFailed", reason: "InUse" })
        // The liveness probe was a connection to the live server (it closed at once); the server still answers.
        const probe = yield* listener.accept
        expect(failure(yield* Effect.exit(probe.read))).toMatchObject({ _tag: "ConnectionClosed" })
        const client = yield* nodeTransport.connect(unix(stale))
        const accepted = yield* listener.accept
        yield* client.write(Uint8Array.of(1, 2, 3))
        expect(Buffer.concat(yield* accepted.read)).toEqual(Buffer.from([1, 2, 3]))
        yield* client.close
        expect(failure(yield* Effect.exit(accepted.read))).toMatchObject({ _tag: "ConnectionClosed" })
        const regular = join(dir, "file.txt")
        writeFileSync(regular, "precious")
        expect(failure(yield* Effect.exit(nodeTransport.listen(unix(regular))))).toMatchObject({ reason: "NotSocket" })
        expect(readFileSync(regular, "utf8")).toBe("precious")
        expect(failure(yield* Effect.exit(nodeTransport.listen(unix(join(dir, "no/such/dir.sock")))))).toMatchObject({
          reason: "Failed"
        })
        yield* listener.close
        expect(failure(yield* Effect.exit(listener.accept))).toMatchObject({ _tag: "ConnectionClosed" })
      })
    ))

  it("R-SOCK-13 R-SOCK-14 a TCP port in use fails with InUse; connecting to nobody fails with ConnectFailed", () =>
    run(
      Effect.gen(function* () {
        const listener = yield* nodeTransport.listen(tcp("127.0.0.1", 0))
        const port = (listener.address as { port: number }).port
        expect(port).toBeGreaterThan(0)
        expect(failure(yield* Effect.exit(nodeTransport.listen(tcp("127.0.0.1", port))))).toMatchObject({
          reason: "InUse"
        })
        yield* listener.close
        expect(failure(yield* Effect.exit(nodeTransport.connect(tcp("127.0.0.1", port))))).toMatchObject({
          _tag: "ConnectFailed",
          code: "ECONNREFUSED"
        })
        expect(failure(yield* Effect.exit(nodeTransport.connect(unix(join(tempDir(), "none.sock")))))).toMatchObject({
          code: "ENOENT"
        })
      })
    ))

  it("R-SOCK-13 over real sockets, a connection past the handshake budget closes the oldest silent one and accepting goes on", () =>
    run(
      Effect.gen(function* () {
        const s = yield* makeSide(nodeTransport)
        yield* s.beehive.addModule("A")
        const server = yield* s.socket.serve({ address: tcp("127.0.0.1", 0), accept: ["X"], maxHandshaking: 1 })
        const port = (server.address as { port: number }).port
        const states = [0, 1].map(() => {
          const socket = net.connect({ host: "127.0.0.1", port })
          const state = { closed: false, socket }
          socket.on("error", () => {})
          socket.on("close", () => {
            state.closed = true
          })
          return state
        })
        yield* waitFor(() => states.some((st) => st.closed), "one connection to be refused")
        expect(states.filter((st) => st.closed)).toHaveLength(1)
        expect(s.events.some((e) => e._tag === "Refused" && e.reason.includes("handshake budget (1)"))).toBe(true)
        for (const st of states) st.socket.destroy()
      })
    ))

  it(
    "R-SOCK-15 TLS over TCP and unix sockets, with client certificates; a client without one is refused",
    () =>
      run(
        Effect.gen(function* () {
          const dir = certificates({ server: "IP:127.0.0.1,DNS:localhost", client: "IP:127.0.0.1,DNS:localhost" })
          const pem = (name: string) => join(dir, name)
          const s = yield* makeSide(nodeTransport)
          yield* s.beehive.addModule("A")
          yield* Effect.forkChild(
            Effect.forever(
              Effect.gen(function* () {
                const m = yield* s.beehive.receive("A")
                yield* s.beehive.sendResp(yield* Message.newResponse(m, `tls:${m.content}`), "A")
              })
            )
          )
          const serverTls = { ca: pem("ca.pem"), cert: pem("server.pem"), key: pem("server.key") }
          const clientTls = { ca: pem("ca.pem"), cert: pem("client.pem"), key: pem("client.key") }
          const overTcp = yield* s.socket.serve({ address: tcp("127.0.0.1", 0), accept: ["X", "Y"], tls: serverTls })
          const overUnix = yield* s.socket.serve({
            address: unix(join(dir, "tls.sock")),
            accept: ["X", "Y"],
            tls: serverTls
          })
          for (const address of [overTcp.address, overUnix.address]) {
            const c = yield* makeSide(nodeTransport)
            yield* c.beehive.addModule("X")
            const client = yield* c.socket.connect({ module: "X", address, tls: clientTls })
            yield* client.connected
            expect((yield* c.beehive.sendSync("A", msg("secure"), 10_000)).content).toBe("tls:secure")
            yield* client.close
          }
          // No client certificate: the TLS handshake fails, the client retries, the server keeps serving.
          const c = yield* makeSide(nodeTransport)
          yield* c.beehive.addModule("Y")
          yield* c.socket.connect({
            module: "Y",
            address: overTcp.address,
            tls: { ca: pem("ca.pem") },
            backoff: { initial: 10 }
          })
          yield* waitFor(() => c.events.filter((e) => e._tag === "Retrying").length >= 2, "retries", 10_000)
          expect(c.events.some((e) => e._tag === "Connected")).toBe(false)
          // Unreadable TLS material is a typed failure.
          const bad = yield* Effect.exit(
            s.socket.serve({ address: tcp("127.0.0.1", 0), accept: [], tls: { cert: "/nope", key: "/nope" } })
          )
          expect(failure(bad)).toMatchObject({ _tag: "ListenFailed", reason: "Failed" })
        })
      ),
    30_000
  )
})

describe("node transport: module names bound to client certificates", () => {
  it(
    "R-SOCK-6 R-SOCK-15 with certificateNames, a client may claim only the modules its certificate names: an intruder cannot take a connected module over",
    () =>
      run(
        Effect.gen(function* () {
          // The server's name, and a client certificate whose subjectAltName names a second module.
          const dir = certificates({
            server: "IP:127.0.0.1,DNS:localhost",
            edged: "DNS:edged,DNS:devicetwin",
            intruder: "DNS:intruder"
          })
          const pem = (name: string) => join(dir, name)
          const identity = (name: string) => ({ ca: pem("ca.pem"), cert: pem(`${name}.pem`), key: pem(`${name}.key`) })
          const s = yield* makeSide(nodeTransport)
          const server = yield* s.socket.serve({
            address: tcp("127.0.0.1", 0),
            accept: ["edged", "devicetwin", "metamanager"],
            tls: identity("server"),
            certificateNames: { metamanager: ["intruder"] }
          })
          const claim = (module: string, name: string) =>
            Effect.gen(function* () {
              const c = yield* makeSide(nodeTransport)
              yield* c.beehive.addModule(module)
              const client = yield* c.socket.connect({
                module,
                address: server.address,
                tls: identity(name),
                backoff: { initial: 60_000 },
                maxAttempts: 1
              })
              return { c, exit: yield* Effect.exit(client.connected) }
            })
          // Its subject (edged) and its subjectAltName (devicetwin) are the certificate's names.
          const edged = yield* claim("edged", "edged")
          expect(Exit.isSuccess(edged.exit)).toBe(true)
          expect(Exit.isSuccess((yield* claim("devicetwin", "edged")).exit)).toBe(true)
          // Another certificate claiming edged is refused, and edged stays connected.
          const takeover = yield* claim("edged", "intruder")
          expect(failure(takeover.exit)).toMatchObject({ _tag: "ConnectFailed" })
          expect(JSON.stringify(takeover.c.events)).toContain(
            `module \\"edged\\" is not bound to this client's certificate (intruder)`
          )
          expect(edged.c.events.some((e) => e._tag === "Disconnected")).toBe(false)
          // The mapping lets the intruder certificate claim metamanager, and nothing else.
          expect(Exit.isSuccess((yield* claim("metamanager", "intruder")).exit)).toBe(true)
          const names = (yield* s.socket.connections).flatMap((c) => c.modules).sort()
          expect(names).toEqual(["devicetwin", "edged", "metamanager"])
        })
      ),
    30_000
  )
})

describe("node transport: an interrupted close", () => {
  /** A scheduler that preempts the fiber at its `op`-th Effect operation only. */
  const preemptingAt = (op: number) =>
    new ControlledScheduler({ name: `preempt-at-${op}`, choose: () => 0, preempt: (n) => n === op })

  it("R-SOCK-11 a close interrupted at any operation still releases the socket: the peer sees the end", () =>
    run(
      Effect.gen(function* () {
        const path = join(tempDir(), "s.sock")
        const listener = yield* nodeTransport.listen(unix(path))
        for (let op = 1; op <= 8; op++) {
          const client = yield* nodeTransport.connect(unix(path))
          const server = yield* listener.accept
          const scheduler = preemptingAt(op)
          // Runs until preempted at `op` (or waiting for the flush, or done), then is interrupted there.
          const closing = Effect.runFork(client.close, { scheduler })
          closing.interruptUnsafe()
          // Node's events resume the fiber; what it schedules then runs here.
          const pump = setInterval(() => scheduler.runUntilIdle(), 1)
          const ended = yield* Effect.forever(server.read).pipe(
            Effect.flip,
            Effect.timeoutOption(Duration.seconds(2)),
            Effect.ensuring(Effect.sync(() => clearInterval(pump)))
          )
          expect({ op, ended: Option.isSome(ended) }).toEqual({ op, ended: true })
        }
      })
    ))
})
