import { execFileSync, spawn, spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")
const example = (name: string) => join(root, "dist/examples", name)

describe("examples", () => {
  beforeAll(() => {
    if (!existsSync(example("edge-node/main.js"))) {
      try {
        execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
          cwd: root
        })
      } catch {
        // tsc emits even when something elsewhere does not typecheck.
      }
    }
  }, 120_000)

  it("R-REG-2 R-REG-6 R-GLOBAL-2 the edge-node demo runs its script across two processes and exits 0", () => {
    const run = spawnSync(process.execPath, [example("edge-node/main.js")], { encoding: "utf8", timeout: 60_000 })
    expect(run.status, run.stderr).toBe(0)
    const out = run.stdout
    for (const line of [
      /edgecore\s+metamanager connected \(socket module, group meta\)/,
      /edgehub\s+-> metamanager \(remote\): insert pod/,
      /\(child\) metamanager\s+<- edged: query pod "nginx" \(sync\)/,
      /edged\s+<- metamanager: \{"image":"nginx:1.27","name":"nginx"\}/,
      /edged\s+=> group bus \[eventbus, devicetwin\]/,
      /eventbus\s+<- edged: update podstatus/,
      /edgehub\s+<= metamanager: \{"pods":1\}/,
      /edgehub\s+<= devicetwin: \{"twins":2\}/,
      /edgecore\s+exchange complete: shutting down/,
      /edgecore\s+metamanager process exited with 0/,
      /edgecore\s+cleaned up 5 modules/
    ]) {
      expect(out).toMatch(line)
    }
    // One line per event: every line starts with its time offset.
    for (const line of out.trim().split("\n")) expect(line).toMatch(/^\s*\+\d+ms {2}\S/)
  }, 60_000)

  it("R-REG-6 Ctrl-C shuts the demo down gracefully and it still exits 0", async () => {
    const child = spawn(process.execPath, [example("edge-node/main.js")], { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let sent = false
    const interrupted = new Promise<void>((resolve) => {
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString()
        // Once, as a person presses Ctrl-C once.
        if (!sent && out.includes("starting;")) {
          sent = true
          child.kill("SIGINT")
          resolve()
        }
      })
    })
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on("exit", (c, s) => resolve([c, s]))
    )
    await interrupted
    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: "" })
    expect(out).toMatch(/edgecore\s+SIGINT: shutting down/)
    expect(out).toMatch(/edgecore\s+cleaned up \d modules/)
  }, 60_000)

  it("R-API-1 the test/cmd example of Go beehive runs and exits 0", () => {
    const run = spawnSync(process.execPath, [example("test-cmd/main.js")], { encoding: "utf8", timeout: 60_000 })
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/\[sourcemodule\]\s+get resp\s+<- response test "fine"/)
    expect(run.stdout).toMatch(/\[destinationgroupmodule\]\s+receive\s+<- sourcemodule: delete test "fine"/)
    expect(run.stdout).toContain("shutdown (exchange complete):")
  }, 60_000)
})
