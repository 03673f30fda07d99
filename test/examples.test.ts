import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { Effect, Exit, Scope } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { accepts, startNatsServer } from "../scripts/natsServer.ts"

const root = join(import.meta.dirname, "..")
const example = (name: string) => join(root, "dist/examples", name)

/** Whether a process still exists (signal 0 only checks). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** The processes the NATS demo says it started: its nats-server's port and metamanager's pid. */
const startedByDemo = (out: string) => {
  const port = Number(/nats-server started on nats:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1])
  const child = Number(/metamanager started as process (\d+)/.exec(out)?.[1])
  expect(port, out).toBeGreaterThan(0)
  expect(child, out).toBeGreaterThan(0)
  return { port, child }
}

/** One half of the edge-node demo (`--role ...`), started as a user starts it in a terminal. */
interface Half {
  readonly child: ChildProcess
  /** What it printed so far. */
  readonly out: () => string
  /** Resolves once a line matching `line` was printed; rejects after 20 s (a failure bound, not a delay). */
  readonly saw: (line: RegExp) => Promise<void>
  /** How it ended, with what it wrote to stderr. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>
}

/** Starts `main.js <args>` from dist/ as `npm start -- <args>` runs it, its output piped here. */
const startHalf = (args: ReadonlyArray<string>): Half => {
  const child = spawn(process.execPath, [example("edge-node/main.js"), ...args], { stdio: ["ignore", "pipe", "pipe"] })
  let out = ""
  let stderr = ""
  const waiting = new Set<() => void>()
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString()
    for (const check of [...waiting]) check()
  })
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, stderr }))
  )
  const saw = (line: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(check)
        reject(new Error(`${args.join(" ")}: no line ${line} in:\n${out}${stderr}`))
      }, 20_000)
      const check = () => {
        if (!line.test(out)) return
        clearTimeout(timer)
        waiting.delete(check)
        resolve()
      }
      waiting.add(check)
      check()
    })
  return { child, out: () => out, saw, exit }
}

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

  it("R-NATS-2 R-NATS-4 R-NATS-6 R-NATS-7 R-GLOBAL-2 R-REG-6 npm start -- --nats runs the same exchange through a nats-server it starts, and stops it", async () => {
    const run = spawnSync(process.execPath, [example("edge-node/main.js"), "--nats"], {
      encoding: "utf8",
      timeout: 60_000
    })
    expect(run.status, run.stderr).toBe(0)
    const out = run.stdout
    for (const line of [
      /edgecore\s+starting; metamanager will run in a child process over NATS/,
      /\(child\) metamanager\s+serving on NATS nats:\/\/127\.0\.0\.1:\d+ \(prefix edge-node\)/,
      /edgecore\s+metamanager connected \(nats module, group meta\)/,
      /\(child\) metamanager\s+<- edgehub: insert pod/,
      /\(child\) metamanager\s+<- edged: query pod "nginx" \(sync\)/,
      /edged\s+<- metamanager: \{"image":"nginx:1.27","name":"nginx"\}/,
      /edged\s+=> group bus \[eventbus, devicetwin\]/,
      /edgehub\s+<= metamanager: \{"pods":1\}/,
      /edgehub\s+<= devicetwin: \{"twins":2\}/,
      /edgecore\s+exchange complete: shutting down/,
      /\(child\) metamanager\s+SIGTERM: stopped/,
      /edgecore\s+metamanager process exited with 0/,
      /edgecore\s+cleaned up 5 modules/
    ]) {
      expect(out).toMatch(line)
    }
    for (const line of out.trim().split("\n")) expect(line).toMatch(/^\s*\+\d+ms {2}\S/)
    const { port, child } = startedByDemo(out)
    expect(alive(child)).toBe(false)
    expect(await accepts(port)).toBe(false)
  }, 60_000)

  it("R-NATS-4 R-REG-6 Ctrl-C under --nats shuts down at once, and the child and the nats-server are gone", async () => {
    // In a process group of its own, so that the signal goes to the whole group as a terminal's Ctrl-C does.
    const demo = spawn(process.execPath, [example("edge-node/main.js"), "--nats"], {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true
    })
    let out = ""
    let signalledAt: number | undefined
    demo.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      // While metamanager is still starting, so that the exchange cannot finish first.
      if (signalledAt === undefined && out.includes("metamanager started as process")) {
        signalledAt = performance.now()
        process.kill(-(demo.pid as number), "SIGINT")
      }
    })
    let stderr = ""
    demo.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      demo.on("exit", (c, s) => resolve([c, s]))
    )
    const shutdownMs = performance.now() - (signalledAt ?? Number.NaN)
    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: "" })
    expect(out).toMatch(/edgecore\s+SIGINT: shutting down/)
    expect(out).toMatch(/edgecore\s+metamanager process exited with/)
    expect(out).not.toMatch(/exchange complete/)
    // A server that dies with the group leaves the NATS client draining into nothing for seconds.
    expect(shutdownMs).toBeLessThan(2000)
    const { port, child } = startedByDemo(out)
    expect(alive(child)).toBe(false)
    expect(await accepts(port)).toBe(false)
  }, 60_000)

  it("R-NATS-2 R-NATS-4 R-NATS-6 R-NATS-7 R-REG-6 two processes, one server: --role meta serves metamanager until Ctrl-C, --role edge runs the exchange with it and exits 0 (the README's three terminals)", async () => {
    const scope = Effect.runSync(Scope.make())
    const halves: Array<Half> = []
    try {
      // Terminal 1: the server.
      const { url } = await Effect.runPromise(startNatsServer.pipe(Scope.provide(scope)))
      // Terminal 2, "host A": metamanager alone.
      const meta = startHalf(["--role", "meta", "--nats-url", url])
      halves.push(meta)
      await meta.saw(/metamanager\s+serving on NATS nats:\/\/127\.0\.0\.1:\d+ \(prefix edge-node\)/)
      // Terminal 3, "host B": edgecore's modules, with the metamanager that host A serves.
      const edge = startHalf(["--role", "edge", "--nats-url", url])
      halves.push(edge)
      expect(await edge.exit).toEqual({ code: 0, signal: null, stderr: "" })
      for (const line of [
        new RegExp(
          `edgecore\\s+starting; metamanager runs in another process, served on NATS ${url.replace(/\./g, "\\.")}`
        ),
        /edgecore\s+metamanager connected \(nats module, group meta\)/,
        /edgehub\s+-> metamanager \(remote\): insert pod/,
        /edged\s+-> metamanager \(remote, sync\): query pod nginx/,
        /edged\s+<- metamanager: \{"image":"nginx:1\.27","name":"nginx"\}/,
        /edgehub\s+<= metamanager: \{"pods":1\}/,
        /edgehub\s+<= devicetwin: \{"twins":2\}/,
        /edgecore\s+exchange complete: shutting down/,
        /edgecore\s+cleaned up 5 modules/
      ]) {
        expect(edge.out()).toMatch(line)
      }
      // It started no metamanager of its own: the one it talked to is the other process.
      expect(edge.out()).not.toMatch(/metamanager started as process|\(child\)|metamanager process exited/)
      // Host A's side of the same exchange, and it goes on serving after edgecore has gone.
      for (const line of [
        /metamanager\s+<- edgehub: insert pod \{"image":"nginx:1\.27","name":"nginx"\}/,
        /metamanager\s+<- edged: query pod "nginx" \(sync\)/,
        /metamanager\s+-> edged: response \{"image":"nginx:1\.27","name":"nginx"\}/,
        /metamanager\s+<- edgehub: query node "status" \(sync\)/,
        /metamanager\s+-> edgehub: response \{"pods":1\}/
      ]) {
        await meta.saw(line)
      }
      expect(meta.child.exitCode).toBe(null)
      // Ctrl-C in terminal 2.
      meta.child.kill("SIGINT")
      expect(await meta.exit).toEqual({ code: 0, signal: null, stderr: "" })
      expect(meta.out()).toMatch(/metamanager\s+SIGINT: stopped/)
      for (const half of [edge, meta])
        for (const line of half.out().trim().split("\n")) expect(line).toMatch(/^\s*\+\d+ms {2}\S/)
    } finally {
      for (const half of halves)
        if (half.child.exitCode === null && half.child.signalCode === null) half.child.kill("SIGKILL")
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }, 60_000)

  it("the edge-node demo refuses a flag it does not know, or a half without --nats-url, with its usage and exit 2", () => {
    for (const [args, why] of [
      [["--no-such-flag"], "error: unknown option '--no-such-flag'"],
      [["--role", "edge"], "error: --role edge needs --nats-url <url>"],
      [["--nats", "surplus"], "error: too many arguments"]
    ] as const) {
      const run = spawnSync(process.execPath, [example("edge-node/main.js"), ...args], {
        encoding: "utf8",
        timeout: 60_000
      })
      expect(run.status, args.join(" ")).toBe(2)
      expect(run.stdout).toBe("")
      expect(run.stderr.startsWith(why), run.stderr).toBe(true)
      expect(run.stderr).toContain("Usage: npm start -- [options]")
      expect(run.stderr).toContain("--nats-url <url>")
    }
  }, 60_000)

  it("R-API-1 the test/cmd example of Go beehive runs and exits 0", () => {
    const run = spawnSync(process.execPath, [example("test-cmd/main.js")], { encoding: "utf8", timeout: 60_000 })
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/\[sourcemodule\]\s+get resp\s+<- response test "fine"/)
    expect(run.stdout).toMatch(/\[destinationgroupmodule\]\s+receive\s+<- sourcemodule: delete test "fine"/)
    expect(run.stdout).toContain("shutdown (exchange complete):")
  }, 60_000)
})
