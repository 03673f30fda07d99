/**
 * A child process running one of test/nats/fixtures (built from dist/): it serves a module on NATS,
 * prints "READY" once serving and "R <id>" for each message it receives. The tests kill it with
 * SIGKILL: no finalizer runs, no goodbye is sent.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import { ensureBuilt, root } from "../socket/child.ts"

/** A fixture's process, with what it printed as received. */
export interface FixtureChild {
  readonly child: ChildProcess
  /** The ids it printed as received, in order. */
  readonly received: Array<string>
  readonly exited: Promise<void>
}

/**
 * Starts `test/nats/fixtures/<fixture>` with `config` (JSON) and waits for its READY line; fails with
 * what it wrote to stderr if it exits first or is not ready within 20 s (a failure bound, not a delay).
 */
export const startFixture = (fixture: string, config: Record<string, unknown>): Promise<FixtureChild> =>
  new Promise((resolve, reject) => {
    ensureBuilt()
    const child = spawn(process.execPath, [join(root, "test/nats/fixtures", fixture), JSON.stringify(config)], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"]
    })
    const received: Array<string> = []
    let buffer = ""
    let stderr = ""
    const exited = new Promise<void>((done) => child.once("exit", () => done()))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`${fixture} did not start: ${stderr}`))
    }, 20_000)
    child.stderr?.on("data", (d) => {
      stderr += d
    })
    child.stdout?.on("data", (d) => {
      buffer += d
      let nl = buffer.indexOf("\n")
      while (nl >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        if (line === "READY") {
          clearTimeout(timer)
          resolve({ child, received, exited })
        } else if (line.startsWith("R ")) received.push(line.slice(2))
        nl = buffer.indexOf("\n")
      }
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`${fixture} exited with ${code}: ${stderr}`))
    })
  })

/** Kills the fixture's process with SIGKILL (no finalizer runs, no goodbye is sent) and waits for it to exit. */
export const killFixture = (c: FixtureChild): Promise<void> => {
  if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL")
  return c.exited
}
