/**
 * R-SOCK-14 under a race: several servers started at once on one stale socket path, each in its own
 * process (as the attack did: four at once, fifty rounds). Exactly one may listen; the others
 * fail with InUse; the path answers (the winner's file was not deleted by a loser).
 */
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "../..")

/** A unix socket file that nobody listens on: a server process killed without cleaning up. */
const staleSocket = (path: string) => {
  spawnSync(process.execPath, [
    "-e",
    `require("net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`
  ])
  expect(statSync(path).isSocket()).toBe(true)
}

// A server process: listens on the path with the built transport, prints LISTENING or the failure's
// reason, and stays up until its stdin closes.
const server = `
const { Effect } = await import(${JSON.stringify(join(root, "node_modules/effect/dist/index.js"))})
const { nodeTransport } = await import(${JSON.stringify(join(root, "dist/src/contexts/socket/NodeTransport.js"))})
const path = process.argv[1]
const served = Effect.gen(function* () {
  yield* nodeTransport.listen({ _tag: "Unix", path })
  console.log("LISTENING")
  yield* Effect.callback((resume) => {
    process.stdin.on("end", () => resume(Effect.void))
    process.stdin.resume()
  })
})
const exit = await Effect.runPromiseExit(Effect.scoped(served))
if (exit._tag === "Failure") console.log("FAILED " + (exit.cause.reasons[0]?.error?.reason ?? String(exit.cause)))
process.exit(0)
`

const start = (path: string) =>
  new Promise<{ outcome: string; stop: () => void }>((resolve) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", server, path], {
      stdio: ["pipe", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (d) => {
      out += d
      const line = out.split("\n")[0] as string
      if (out.includes("\n")) resolve({ outcome: line, stop: () => child.stdin.end() })
    })
  })

const answers = (path: string) =>
  new Promise<boolean>((resolve) => {
    const probe = net.connect({ path })
    probe.once("connect", () => {
      probe.destroy()
      resolve(true)
    })
    probe.once("error", () => resolve(false))
  })

// Skipped in mutation runs (vitest.mutation.config.ts): the servers run the built dist/.
describe.skipIf(process.env.BEEHIVE_MUTATION === "1")("R-SOCK-14 concurrent starts on a stale path", () => {
  // Each round starts four Node processes: ten rounds in the suite, RACE_ROUNDS=50 for the count.
  const rounds = Number(process.env.RACE_ROUNDS ?? 10)
  it(`four servers at once, ${rounds} rounds: exactly one listens, the others fail with InUse, the path answers`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "bh-race-"))
    try {
      for (let round = 0; round < rounds; round++) {
        const path = join(dir, `r${round}.sock`)
        staleSocket(path)
        const servers = await Promise.all([0, 1, 2, 3].map(() => start(path)))
        const outcomes = servers.map((s) => s.outcome).sort()
        expect(outcomes, `round ${round}`).toEqual(["FAILED InUse", "FAILED InUse", "FAILED InUse", "LISTENING"])
        expect(await answers(path), `round ${round}: the path answers`).toBe(true)
        for (const s of servers) s.stop()
        expect(existsSync(`${path}.lock`)).toBe(false)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 600_000)
})
