import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"

export const root = join(import.meta.dirname, "../..")

const newest = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((latest, e) => {
    const path = join(dir, e.name)
    return Math.max(latest, e.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }, 0)

/** Builds dist/ (the project's build) when it is missing or older than src/. */
export const ensureBuilt = (): void => {
  const built = [join(root, "dist/src/index.js"), join(root, "dist/examples/socket/server.js")]
  const sources = Math.max(newest(join(root, "src")), newest(join(root, "examples/socket")))
  if (built.every((file) => existsSync(file) && statSync(file).mtimeMs >= sources)) return
  // Others' work in progress may have type errors; tsc still emits, and the check below decides.
  spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "ignore"
  })
  if (!existsSync(join(root, "dist/src/contexts/socket/SocketContext.js")))
    throw new Error("the build did not produce dist/")
}

/** A child process running test/socket/fixtures/server.mjs. */
export interface ChildServer {
  readonly child: ChildProcess
  /** The bound address as the fixture printed it. */
  readonly address: { _tag: "Unix"; path: string } | { _tag: "Tcp"; host: string; port: number }
  /** What the child wrote to stderr (its socket events). */
  readonly log: () => string
  /** Resolves when the child has exited. */
  readonly exited: Promise<void>
}

/** Starts the fixture server and waits for its READY line (a failure bound, not a delay). */
export const startServer = (config: Record<string, unknown>, timeoutMs = 20_000): Promise<ChildServer> =>
  new Promise((resolve, reject) => {
    const fixture = join(root, "test/socket/fixtures/server.mjs")
    const child = spawn(process.execPath, ["--expose-gc", fixture, JSON.stringify(config)], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    const exited = new Promise<void>((done) => child.once("exit", () => done()))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`server did not start: ${stderr}`))
    }, timeoutMs)
    child.stderr?.on("data", (d) => {
      stderr += d
    })
    child.stdout?.on("data", (d) => {
      stdout += d
      const match = /READY (.*)\n/.exec(stdout)
      if (match === null) return
      clearTimeout(timer)
      resolve({ child, address: JSON.parse(match[1] as string), log: () => stderr, exited })
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code}: ${stderr}`))
    })
  })

/** Kills a child (SIGKILL by default) and waits for it to exit. */
export const kill = async (server: ChildServer, signal: NodeJS.Signals = "SIGKILL"): Promise<void> => {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill(signal)
  await server.exited
}
