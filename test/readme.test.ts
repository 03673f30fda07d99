import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")
const blocks = [...readFileSync(join(root, "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g)].map(
  (m) => m[1] as string
)

/** The README's code block that contains `marker`. */
const block = (marker: string): string => {
  const found = blocks.find((b) => b.includes(marker))
  if (found === undefined) throw new Error(`no README block with ${marker}`)
  return found
}

/** Runs a README snippet with Node against the built package (TypeScript-only syntax is not used in them). */
const runSnippet = (code: string) => {
  const dir = mkdtempSync(join(tmpdir(), "readme-"))
  const file = join(dir, "snippet.mjs")
  const source = code
    .replaceAll('"beehive-effect/promise"', JSON.stringify(join(root, "dist/src/promise.js")))
    .replaceAll('"beehive-effect/testing"', JSON.stringify(join(root, "dist/src/testing.js")))
    .replaceAll('"beehive-effect"', JSON.stringify(join(root, "dist/src/index.js")))
    .replaceAll('"effect"', JSON.stringify(join(root, "node_modules/effect/dist/index.js")))
  writeFileSync(file, source)
  return execFileSync(process.execPath, [file], { encoding: "utf8", timeout: 20_000 })
}

describe("README", () => {
  beforeAll(() => {
    if (!existsSync(join(root, "dist/src/index.js"))) {
      execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
        cwd: root
      })
    }
  }, 60_000)

  it("R-API-1 the Effect tour runs as written", () => {
    expect(runSnippet(block("const answer = yield* beehive.sendSync"))).toBe("ok\n")
  })

  it("R-API-2 the Promise tour runs as written", () => {
    expect(runSnippet(block("createBeehive"))).toBe("ok\nresponse\n")
  })

  it("R-DET-5 the checking example finds the counterexample the README shows", () => {
    const output = runSnippet(block("who-arrives-first"))
    expect(output).toContain("scenario who-arrives-first under dfs(bound=2)")
    expect(output).toContain("main  ‼ check: A's message arrives first — VIOLATED")
    expect(output).toContain("FAILED: CheckFailed: A's message arrives first")
  })
})
