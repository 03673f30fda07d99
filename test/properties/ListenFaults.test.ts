/**
 * Listening on a unix path when the file system fails a step (R-SOCK-26), as a property over real
 * unix sockets: one generated step fails with a generated system error (looking at the path, taking
 * its lock, removing a stale socket file, setting the new socket's mode), as a read-only, full or
 * failing file system, a permission or a concurrent removal would make it. Listening must fail with
 * `ListenFailed` `Failed` naming the path and saying the system's reason; nothing may be left
 * listening, the lock is released, and once the fault is gone the path can be listened on.
 *
 * The faults are injected into `node:fs` itself (its CommonJS object, then
 * `syncBuiltinESMExports`, which the ES module bindings follow), only for calls on this run's paths,
 * and removed whatever happens: the transport is exercised as it runs, with no seam added for tests.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs"
import { createRequire, syncBuiltinESMExports } from "node:module"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { nodeTransport } from "../../src/contexts/socket/NodeTransport.ts"
import { tcp, unix, unixPacket } from "../../src/contexts/socket/SocketAddress.ts"
import { run } from "../socket/support.ts"
import { certificates } from "../support/certificates.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"

const directory = mkdtempSync(join(tmpdir(), "bh-listen-faults-"))
let paths = 0
const freshPath = () => join(directory, `s${++paths}.sock`)

/** The mutable CommonJS `fs`, whose properties the ES module bindings follow after a sync. */
const fsObject = createRequire(import.meta.url)("node:fs") as Record<string, unknown>

type Step = "look at the path" | "take the lock" | "remove the stale file" | "set the mode"

/** Which `fs` function a step calls, and on which path (the socket's, or its lock's). */
const callOf = (step: Step, path: string): { readonly name: string; readonly on: string } =>
  step === "look at the path"
    ? { name: "lstatSync", on: path }
    : step === "take the lock"
      ? { name: "openSync", on: `${path}.lock` }
      : step === "remove the stale file"
        ? { name: "unlinkSync", on: path }
        : { name: "chmodSync", on: path }

/** Makes `fs[name]` throw `error` for calls on `on`, until the scope closes. */
const injectFault = (name: string, on: string, error: Error) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const original = fsObject[name] as (...args: ReadonlyArray<unknown>) => unknown
      fsObject[name] = (...args: ReadonlyArray<unknown>) => {
        if (args[0] === on) throw error
        return original(...args)
      }
      syncBuiltinESMExports()
      return original
    }),
    (original) =>
      Effect.sync(() => {
        fsObject[name] = original
        syncBuiltinESMExports()
      })
  )

/** A unix socket file nobody listens on: a server process killed without cleaning up. */
const makeStaleSocket = (path: string) => {
  spawnSync(process.execPath, [
    "-e",
    `require("net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`
  ])
  if (!statSync(path).isSocket()) throw new Error("no stale socket was made")
}

const systemError = fc
  .record({
    code: fc.constantFrom("EACCES", "EPERM", "EIO", "EROFS", "ENOSPC", "EBUSY"),
    words: fc.stringMatching(/^[a-z]{3,10}( [a-z]{3,10}){0,2}$/)
  })
  .map(({ code, words }) => Object.assign(new Error(`${code}: ${words}`), { code }))

describe("R-SOCK-26 listening on a unix path when the file system fails", () => {
  it(
    "R-SOCK-26 R-SOCK-14 a failing file-system step fails listening with Failed, naming the path and the system's reason; nothing listens, the lock is released, and the path serves once the fault is gone",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom<Step>("look at the path", "take the lock", "remove the stale file", "set the mode"),
          systemError,
          // Both socket types: a SOCK_SEQPACKET listener takes the same steps (R-SOCK-30).
          fc.constantFrom("stream", "packets"),
          (step, error, socketType) =>
            run(
              Effect.gen(function* () {
                const path = freshPath()
                const address = socketType === "stream" ? unix(path) : unixPacket(path)
                // A stale file is there to be removed only for the step that removes it.
                const stale = step === "remove the stale file"
                if (stale) makeStaleSocket(path)
                const call = callOf(step, path)
                const exit = yield* Effect.scoped(
                  Effect.andThen(
                    injectFault(call.name, call.on, error),
                    Effect.exit(Effect.scoped(nodeTransport.listen(address)))
                  )
                )
                const failure = errorOf(exit)
                expect(failure?._tag, `${socketType}: ${step}`).toBe("ListenFailed")
                expect(failure?.reason, step).toBe("Failed")
                expect(failure?.address, step).toBe(path)
                // What the user reads says where and why: the path and the system's words.
                expect(failure?.message, step).toContain(path)
                expect(failure?.message, step).toContain(error.message)
                // Nothing listens and nothing is locked: the path is as it was.
                expect(existsSync(`${path}.lock`), step).toBe(false)
                expect(existsSync(path), step).toBe(stale)
                // Once the fault is gone, the path serves.
                const listener = yield* nodeTransport.listen(address)
                const client = yield* nodeTransport.connect(address)
                const accepted = yield* listener.accept
                // Every connection is closed: a packet socket left open keeps a native handle alive.
                yield* accepted.close
                yield* client.close
                yield* listener.close
                expect(existsSync(path)).toBe(false)
              })
            )
        ),
        fcParams(40)
      ),
    60_000
  )
})

type Holder = "nobody" | "our listener" | "a plain server"
/** What one TLS option names: nothing, its right file, a file of the right kind that does not fit, or no PEM. */
type Material = "absent" | "right" | "not fitting" | "missing" | "no PEM" | "a directory"

// Weighted so that material that fits comes often: only then is the port tried.
const material = fc.oneof(
  { weight: 2, arbitrary: fc.constant<Material>("absent") },
  { weight: 5, arbitrary: fc.constant<Material>("right") },
  { weight: 2, arbitrary: fc.constantFrom<Material>("not fitting", "missing", "no PEM", "a directory") }
)

const absent = { cert: "absent", key: "absent", ca: "absent" } as const

/** The test CA's folder: `ca.pem`, `ca.key`, and `server.pem` and `server.key` signed by it. */
let pems: string | undefined

describe("R-SOCK-14 R-SOCK-15 listening on TCP", () => {
  it(
    "R-SOCK-14 R-SOCK-15 a TCP port in use fails with InUse naming the address, whoever holds it; TLS material short of a readable cert and its key (and a ca holding a certificate, when set) fails with Failed saying TLS, before the port is tried; the port serves once free",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom<Holder>("nobody", "our listener", "a plain server"),
          fc.oneof(fc.constant(absent), fc.record({ cert: material, key: material, ca: material })),
          fc.string({ maxLength: 40 }),
          (holder, materials, garbage) =>
            run(
              Effect.gen(function* () {
                pems ??= certificates({ server: "IP:127.0.0.1" })
                const folder = pems
                // The port is held, or chosen by the system when nobody holds one.
                const held =
                  holder === "our listener"
                    ? yield* nodeTransport.listen(tcp("127.0.0.1", 0))
                    : holder === "a plain server"
                      ? yield* Effect.promise(
                          () =>
                            new Promise<net.Server>((resolve) => {
                              const server = net.createServer()
                              server.listen(0, "127.0.0.1", () => resolve(server))
                            })
                        )
                      : undefined
                const port =
                  held === undefined
                    ? 0
                    : "accept" in held
                      ? (held.address as { port: number }).port
                      : (held.address() as net.AddressInfo).port
                const fileOf = (option: "cert" | "key" | "ca", kind: Material): string | undefined => {
                  if (kind === "absent") return undefined
                  if (kind === "right")
                    return join(folder, { cert: "server.pem", key: "server.key", ca: "ca.pem" }[option])
                  // A certificate that is not the key's, a key that is not the certificate's, a key as a CA.
                  if (kind === "not fitting")
                    return join(folder, { cert: "ca.pem", key: "ca.key", ca: "server.key" }[option])
                  const file = freshPath()
                  if (kind === "no PEM") writeFileSync(file, garbage)
                  if (kind === "a directory") mkdirSync(file)
                  return file
                }
                const tlsOptions = {
                  cert: fileOf("cert", materials.cert),
                  key: fileOf("key", materials.key),
                  ca: fileOf("ca", materials.ca)
                }
                const secure = Object.values(materials).some((kind) => kind !== "absent")
                const tlsFits =
                  materials.cert === "right" &&
                  materials.key === "right" &&
                  (materials.ca === "absent" || materials.ca === "right")
                const address = tcp("127.0.0.1", port)
                const exit = yield* Effect.exit(Effect.scoped(nodeTransport.listen(address, tlsOptions)))
                const failure = errorOf(exit)
                const described = JSON.stringify({ holder, materials })
                if (secure && !tlsFits) {
                  expect(failure, described).toMatchObject({
                    _tag: "ListenFailed",
                    reason: "Failed",
                    address: `127.0.0.1:${port}`
                  })
                  expect(failure?.detail, described).toMatch(/^TLS: ./)
                } else if (holder !== "nobody") {
                  expect(failure, described).toMatchObject({
                    _tag: "ListenFailed",
                    reason: "InUse",
                    address: `127.0.0.1:${port}`
                  })
                  expect(failure?.detail, described).toContain("EADDRINUSE")
                } else expect(exit._tag, described).toBe("Success")
                if (held !== undefined) {
                  if ("accept" in held) yield* held.close
                  else yield* Effect.promise(() => new Promise<void>((resolve) => held.close(() => resolve())))
                }
                // Once free, the port serves.
                const listener = yield* nodeTransport.listen(address)
                const client = yield* nodeTransport.connect(listener.address)
                const accepted = yield* listener.accept
                // Every connection is closed: a packet socket left open keeps a native handle alive.
                yield* accepted.close
                yield* client.close
                yield* listener.close
              })
            )
        ),
        fcParams(60)
      ),
    120_000
  )
})
