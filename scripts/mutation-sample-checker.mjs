// A StrykerJS checker plugin that lets through only the mutants of a drawn sample
// (scripts/mutation-sample.mjs) and marks every other one as not tested, so that one StrykerJS run
// tests exactly the sample. A mutant is named by its file, position, mutator and replacement, which is
// what the instrumenter gives to the same code every time. The sample's path comes in the
// BEEHIVE_MUTATION_SAMPLE environment variable.
import { readFileSync } from "node:fs"

// StrykerJS may hand the checker a path inside its sandbox: the part from `src/` on names the file.
export const projectPath = (fileName) => fileName.slice(fileName.search(/(^|\/)src\//)).replace(/^\//, "")

export const mutantKey = (file, mutant) =>
  [
    file,
    `${mutant.location.start.line}:${mutant.location.start.column}-${mutant.location.end.line}:${mutant.location.end.column}`,
    mutant.mutatorName,
    mutant.replacement ?? ""
  ].join("|")

class SampleChecker {
  static inject = []
  keys = new Set()

  async init() {
    const path = process.env.BEEHIVE_MUTATION_SAMPLE
    if (path === undefined) throw new Error("BEEHIVE_MUTATION_SAMPLE names no sample")
    for (const entry of JSON.parse(readFileSync(path, "utf8")).mutants) this.keys.add(entry.key)
  }

  async check(mutants) {
    const results = {}
    for (const mutant of mutants) {
      const key = mutantKey(projectPath(mutant.fileName), mutant)
      results[mutant.id] = this.keys.has(key)
        ? { status: "passed" }
        : { status: "compileError", reason: "not in the sample" }
    }
    return results
  }
}

export const strykerPlugins = [{ kind: "Checker", name: "mutation-sample", injectableClass: SampleChecker }]
