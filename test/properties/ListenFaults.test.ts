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
import { existsSync, mkdtempSync, statSync } from "node:fs"
import { createRequire, syncBuiltinESMExports } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { nodeTransport } from "../../src/contexts/socket/NodeTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { run } from "../socket/support.ts"
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
          (step, error) =>
            run(
              Effect.gen(function* () {
                const path = freshPath()
                // A stale file is there to be removed only for the step that removes it.
                const stale = step === "remove the stale file"
                if (stale) makeStaleSocket(path)
                const call = callOf(step, path)
                const exit = yield* Effect.scoped(
                  Effect.andThen(
                    injectFault(call.name, call.on, error),
                    Effect.exit(Effect.scoped(nodeTransport.listen(unix(path))))
                  )
                )
                const failure = errorOf(exit)
                expect(failure?._tag, step).toBe("ListenFailed")
                expect(failure?.reason, step).toBe("Failed")
                expect(failure?.address, step).toBe(path)
                // What the user reads says where and why: the path and the system's words.
                expect(failure?.message, step).toContain(path)
                expect(failure?.message, step).toContain(error.message)
                // Nothing listens and nothing is locked: the path is as it was.
                expect(existsSync(`${path}.lock`), step).toBe(false)
                expect(existsSync(path), step).toBe(stale)
                // Once the fault is gone, the path serves.
                const listener = yield* nodeTransport.listen(unix(path))
                const client = yield* nodeTransport.connect(unix(path))
                yield* listener.accept
                yield* client.close
                yield* listener.close
                expect(existsSync(path)).toBe(false)
              })
            )
        ),
        fcParams(24)
      ),
    60_000
  )
})
