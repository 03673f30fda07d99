/**
 * Unix socket paths for the transports that listen on them (R-SOCK-14, R-SOCK-26): a path is taken
 * only when no server answers on it (a stream or a SOCK_SEQPACKET one), under a lock, with mode 0600
 * from creation.
 *
 * @since 0.3.0
 * @internal
 */
import * as fs from "node:fs"
import * as net from "node:net"
import { Clock, Effect, Result, type Scope } from "effect"
import { ListenFailed } from "../../model/SocketErrors.ts"

/** The code of a system error (`ECONNREFUSED`), or `EUNKNOWN`. @category getters */
export const errorCode = (error: unknown): string =>
  typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string"
    ? (error as { code: string }).code
    : "EUNKNOWN"

/** The text of an error. @category getters */
export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Whether a server answers on a unix socket path: "answers", "stale" (a socket file nobody listens
 * on), or an error text.
 */
const probeUnix = (path: string): Effect.Effect<"answers" | "stale" | string> =>
  Effect.callback<"answers" | "stale" | string>((resume) => {
    const probe = net.connect({ path })
    probe.once("connect", () => {
      probe.destroy()
      resume(Effect.succeed("answers"))
    })
    probe.once("error", (error) => {
      probe.destroy()
      const code = errorCode(error)
      // EPROTOTYPE: a server of another socket type (SOCK_SEQPACKET for a stream probe) answers there.
      if (code === "EPROTOTYPE") resume(Effect.succeed("answers"))
      else
        resume(Effect.succeed(code === "ECONNREFUSED" || code === "ENOENT" ? "stale" : `${code}: ${errorText(error)}`))
    })
    return Effect.sync(() => probe.destroy())
  })

/** Makes a unix socket path free to listen on, removing a stale socket file, never anything else. */
export const prepareUnixPath = (path: string): Effect.Effect<void, ListenFailed> =>
  Effect.gen(function* () {
    const stat = Result.try(() => fs.lstatSync(path, { throwIfNoEntry: false }))
    if (Result.isFailure(stat)) {
      return yield* new ListenFailed({ address: path, reason: "Failed", detail: errorText(stat.failure) })
    }
    if (stat.success === undefined) return
    if (!stat.success.isSocket()) {
      return yield* new ListenFailed({
        address: path,
        reason: "NotSocket",
        detail: "the path exists and is not a socket"
      })
    }
    const probe = yield* probeUnix(path)
    if (probe === "answers") {
      return yield* new ListenFailed({ address: path, reason: "InUse", detail: "a server answers on this socket" })
    }
    if (probe !== "stale") return yield* new ListenFailed({ address: path, reason: "Failed", detail: probe })
    const removed = Result.try(() => fs.unlinkSync(path))
    if (Result.isFailure(removed) && errorCode(removed.failure) !== "ENOENT") {
      return yield* new ListenFailed({ address: path, reason: "Failed", detail: errorText(removed.failure) })
    }
  })

/** How long a start holds the path's lock at most: an older lock was left by a process that died. */
const lockLifetimeMs = 10_000

/**
 * Takes the lock of a unix socket path (`<path>.lock`, created exclusively), so that of several
 * servers starting at once on one stale path only one at a time probes, removes the stale file and
 * binds: the others then find it answering (R-SOCK-14). Waits for a lock held by another start (a few
 * ms); a lock older than `lockLifetimeMs` is taken over. Released when the scope closes.
 */
export const lockUnixPath = (path: string): Effect.Effect<void, ListenFailed, Scope.Scope> => {
  const lockPath = `${path}.lock`
  const tryLock = (now: number): "locked" | "busy" | ListenFailed => {
    try {
      fs.closeSync(fs.openSync(lockPath, "wx", 0o600))
      return "locked"
    } catch (error) {
      if (errorCode(error as Error) !== "EEXIST")
        return new ListenFailed({
          address: path,
          reason: "Failed",
          detail: `lock ${lockPath}: ${errorText(error as Error)}`
        })
      const held = Result.try(() => fs.statSync(lockPath))
      if (Result.isSuccess(held) && now - held.success.mtimeMs > lockLifetimeMs) {
        Result.try(() => fs.unlinkSync(lockPath))
      }
      return "busy"
    }
  }
  const acquire = Effect.gen(function* () {
    for (let attempt = 0; ; attempt++) {
      const outcome = tryLock(yield* Clock.currentTimeMillis)
      if (outcome === "locked") return
      if (outcome !== "busy") return yield* outcome
      if (attempt * 5 > lockLifetimeMs)
        return yield* new ListenFailed({
          address: path,
          reason: "InUse",
          detail: "another server is starting on this path"
        })
      yield* Effect.sleep(5)
    }
  })
  return Effect.acquireRelease(acquire, () => Effect.sync(() => Result.try(() => fs.unlinkSync(lockPath))))
}

/** Creates the socket file with mode 0600 from the start (umask), then makes sure with chmod. */
export const withPrivateUmask = <A>(f: () => A): A => {
  let previous: number | undefined
  try {
    previous = process.umask(0o177)
  } catch {
    // Worker threads cannot change the umask; the chmod below still applies.
  }
  try {
    return f()
  } finally {
    if (previous !== undefined) process.umask(previous)
  }
}
