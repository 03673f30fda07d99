import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { citations, definedRules, updatedSpec } from "../../scripts/specIndex.ts"

const root = join(import.meta.dirname, "../..")
const spec = readFileSync(join(root, "spec/SPEC.md"), "utf8")

const sources = (dir: string): Array<string> =>
  readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
  )

describe("spec/SPEC.md", () => {
  it("defines each rule id once", () => {
    const rules = definedRules(spec)
    expect(rules.length).toBeGreaterThan(50)
    expect(new Set(rules).size).toBe(rules.length)
  })

  it("every rule is cited by a test, and every cited id is a rule", () => {
    const rules = new Set(definedRules(spec))
    const cited = citations(root)
    expect([...rules].filter((id) => !cited.has(id))).toEqual([])
    expect([...cited.keys()].filter((id) => !rules.has(id))).toEqual([])
  })

  it("its tests-by-rule index is up to date (run `npm run spec:index`)", () => {
    expect(updatedSpec(root)).toBe(spec)
  })
})

describe("architecture", () => {
  const importsOf = (file: string) =>
    [...readFileSync(join(root, file), "utf8").matchAll(/from "([^"]+)"/g)].map((m) => m[1] as string)

  it("src never imports spec; model imports neither effects nor contexts; effects do not import contexts", () => {
    for (const file of sources("src")) {
      const imports = importsOf(file)
      expect(
        imports.filter((i) => i.includes("spec/")),
        file
      ).toEqual([])
      if (file.startsWith("src/model/")) {
        expect(
          imports.filter((i) => i.includes("/effects/") || i.includes("/contexts/")),
          file
        ).toEqual([])
      }
      if (file.startsWith("src/effects/"))
        expect(
          imports.filter((i) => i.includes("/contexts/")),
          file
        ).toEqual([])
    }
  })
})
