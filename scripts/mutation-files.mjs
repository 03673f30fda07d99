// What the mutation scripts share: the files a StrykerJS `mutate` list names, a file's content hash
// (to tell a measurement of other code), and git's answers.
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

/** The source files matched by `mutate` patterns of the form `dir/**\/*.ts` and `!file`, sorted. */
export const mutatedFiles = (patterns) => {
  const walk = (dir) =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]
    )
  const excluded = new Set(patterns.filter((p) => p.startsWith("!")).map((p) => p.slice(1)))
  const roots = patterns.filter((p) => !p.startsWith("!")).map((p) => p.replace(/\/\*\*\/\*\.ts$/, ""))
  return roots
    .flatMap((root) => walk(root))
    .filter((file) => file.endsWith(".ts") && !excluded.has(file))
    .sort()
}

/** A short hash of a file's content. */
export const sourceHash = (file) => createHash("sha256").update(readFileSync(file)).digest("hex").slice(0, 16)

/** What a git command prints, trimmed. */
export const git = (...args) => spawnSync("git", args, { encoding: "utf8" }).stdout.trim()
