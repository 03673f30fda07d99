/**
 * The build as scripts use it: incremental, never deleting dist/, so that two scripts started at once
 * (each builds first) both work, and a script after a build waits for nothing it does not need.
 */
import { spawn } from "node:child_process"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")
const npmRun = (script: string) =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn("npm", ["run", script, "--silent"], { cwd: root })
    let output = ""
    child.stdout.on("data", (d) => {
      output += d
    })
    child.stderr.on("data", (d) => {
      output += d
    })
    child.on("exit", (code) => resolve({ code, output }))
  })

// Skipped in mutation runs (vitest.mutation.config.ts): it builds dist/, which no mutant reaches.
describe.skipIf(process.env.BEEHIVE_MUTATION === "1")("the build", () => {
  it("two builds at once both succeed, and dist/ stays usable", async () => {
    const [first, second] = await Promise.all([npmRun("build"), npmRun("build")])
    expect(first, first.output).toMatchObject({ code: 0 })
    expect(second, second.output).toMatchObject({ code: 0 })
    const version = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [join(root, "dist/cli/main.js"), "--version"])
      let out = ""
      child.stdout.on("data", (d) => {
        out += d
      })
      child.on("exit", () => resolve(out.trim()))
    })
    expect(version).toMatch(/^\d+\.\d+\.\d+$/)
  }, 60_000)
})
