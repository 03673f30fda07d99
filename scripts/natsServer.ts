/**
 * Starts a `nats-server` (installed by scripts/ensure-tools.sh) on a free loopback port for a test or
 * a benchmark, and stops it with the scope.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { createConnection, createServer } from "node:net"
import { Effect, type Scope } from "effect"

/** A running server: its URL, and a way to kill it before the scope ends (connection-loss tests). */
export interface NatsServer {
  readonly url: string
  readonly port: number
  readonly kill: Effect.Effect<void>
}

/** The nats-server binary: on PATH, or where Debian puts it. Throws, naming the fix, when missing. */
export const natsServerBinary = (): string => {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/local/bin", "/usr/bin"])) {
    const candidate = `${dir}/nats-server`
    if (dir !== "" && existsSync(candidate)) return candidate
  }
  throw new Error("nats-server is not installed: run scripts/ensure-tools.sh (apt-get install nats-server)")
}

/** A free loopback TCP port (free when asked; a race with other programs is possible). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** Whether anything accepts TCP connections on a loopback port. */
export const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

const stop = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGKILL")
  })

/**
 * Starts `nats-server -a 127.0.0.1 -p <free port>` and waits (up to 10 s) until it accepts
 * connections. Killed when the scope closes. Dies (a test failure) if the binary is missing or the
 * server does not come up.
 */
export const startNatsServer: Effect.Effect<NatsServer, never, Scope.Scope> = Effect.suspend(() =>
  startNatsServerOn(undefined)
)

/**
 * `startNatsServer` on a given port (a server restarted where its clients reconnect), or a free one.
 * `ownProcessGroup` keeps the server out of the terminal's Ctrl-C, for a program that still talks to it
 * while it shuts down (a test's server dies with the test run instead).
 */
export const startNatsServerOn = (
  fixedPort: number | undefined,
  extraArgs: ReadonlyArray<string> = [],
  { ownProcessGroup = false }: { readonly ownProcessGroup?: boolean } = {}
): Effect.Effect<NatsServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const binary = natsServerBinary()
      const port = fixedPort ?? (await freePort())
      const child = spawn(binary, ["-a", "127.0.0.1", "-p", String(port), ...extraArgs], {
        stdio: ["ignore", "ignore", "pipe"],
        detached: ownProcessGroup
      })
      let stderr = ""
      child.stderr?.on("data", (chunk: Buffer) => {
        if (stderr.length < 8192) stderr += chunk.toString()
      })
      for (let i = 0; i < 200; i++) {
        if (child.exitCode !== null) throw new Error(`nats-server exited at once: ${stderr}`)
        if (await accepts(port)) return { child, port }
        await new Promise((r) => setTimeout(r, 50))
      }
      await stop(child)
      throw new Error(`nats-server did not accept connections on ${port}: ${stderr}`)
    }),
    ({ child }) => Effect.promise(() => stop(child))
  ).pipe(
    Effect.map(({ child, port }) => ({
      url: `nats://127.0.0.1:${port}`,
      port,
      kill: Effect.promise(() => stop(child))
    }))
  )
