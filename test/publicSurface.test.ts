/**
 * The public declarations keep the internal machinery out (R-API-1): starting from the declaration
 * files of the package's entry points (`beehive-effect`, `/promise`, `/testing`), every declaration
 * file they import, transitively, is free of the wake-up machinery the global context is built on
 * (`Arm`, `Wake`, `Wakeups`, and the endpoints that use them). A public type that named one of them
 * would make it part of the API; this walks what `npm run build` emits, as a user's compiler sees it.
 */
import { spawn } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")

const build = () =>
  new Promise<{ code: number | null; output: string }>((done) => {
    const child = spawn("npm", ["run", "build", "--silent"], { cwd: root })
    let output = ""
    child.stdout.on("data", (d) => {
      output += d
    })
    child.stderr.on("data", (d) => {
      output += d
    })
    child.on("exit", (code) => done({ code, output }))
  })

/** Every declaration file `entries` reach through their imports, each with the chain that reached it. */
const reachable = (entries: ReadonlyArray<string>): Map<string, ReadonlyArray<string>> => {
  const reached = new Map<string, ReadonlyArray<string>>()
  const pending: Array<[string, ReadonlyArray<string>]> = entries.map((entry) => [entry, [entry]])
  while (pending.length > 0) {
    const [file, chain] = pending.pop() as [string, ReadonlyArray<string>]
    if (reached.has(file)) continue
    reached.set(file, chain)
    const text = readFileSync(file, "utf8")
    for (const match of text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      const target = resolve(dirname(file), match[1] as string).replace(/\.(ts|js)$/, ".d.ts")
      if (existsSync(target)) pending.push([target, [...chain, target]])
    }
  }
  return reached
}

/** The machinery no public declaration may reach: its files, and any declaration of its names. */
const internalFiles = /\/effects\/(Arm|Wakeups|Mailbox|WaitQueue)\.d\.ts$|\/contexts\/ModuleContext\.d\.ts$/
const internalNames = /\b(type|interface|class)\s+(Arm|Wake|Wakeups|Endpoint)\b|\bWakeups\b|\bArm</

// Skipped in mutation runs (vitest.mutation.config.ts): it builds dist/, which no mutant reaches.
describe.skipIf(process.env.BEEHIVE_MUTATION === "1")("the public declarations", () => {
  it("R-API-1 R-API-5 no entry point's declarations reach Arm, Wake, Wakeups or the endpoints that use them", async () => {
    const built = await build()
    expect(built, built.output).toMatchObject({ code: 0 })
    const dist = join(root, "dist", "src")
    const entries = ["index.d.ts", "promise.d.ts", "testing.d.ts"].map((file) => join(dist, file))
    const reached = reachable(entries)
    // The walk does reach the surface: the global context, the host and the socket context.
    for (const file of ["contexts/Beehive.d.ts", "contexts/ContextHost.d.ts", "contexts/socket/SocketContext.d.ts"])
      expect(reached.has(join(dist, file)), file).toBe(true)
    const leaks = [...reached]
      .filter(([file]) => internalFiles.test(file) || internalNames.test(readFileSync(file, "utf8")))
      .map(([, chain]) => chain.map((file) => relative(dist, file)).join(" -> "))
    expect(leaks).toEqual([])
  }, 60_000)
})
