/**
 * The Go anchor of `npm run bench`: builds bench/go (Go beehive's channel context, written from its
 * documented behaviour) with the machine's Go toolchain and runs it, so that its figures are measured in
 * the same run as beehive-effect's. Needs Debian's `golang-go` and
 * `golang-github-google-uuid-dev` (`scripts/ensure-tools.sh --bench` installs both); without them, or
 * outside a checkout (bench/go is not in the package), it says why it measured nothing.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** What bench/go prints, per second unless named a share. */
export interface GoFigures {
  readonly sendReceive: number
  readonly sendSyncAnswered: number
  readonly sendSyncWall: number
  readonly sendSyncDroppedShare: number
}

/** Builds and runs the anchor at `scale` (BENCH_SCALE); its figures, or why there are none. */
export const measureGoAnchor = (scale: number): GoFigures | string => {
  const source = join(import.meta.dirname, "../../bench/go")
  if (!existsSync(join(source, "main.go"))) return "bench/go is not here (it is in the repository, not the package)"
  if (spawnSync("go", ["version"]).status !== 0)
    return "no Go toolchain here (scripts/ensure-tools.sh --bench installs Debian's)"
  const out = mkdtempSync(join(tmpdir(), "bh-go-anchor-"))
  try {
    // Debian's Go packages are sources under /usr/share/gocode: a GOPATH build, no module download.
    const env = { ...process.env, GO111MODULE: "off", GOPATH: "/usr/share/gocode" }
    const binary = join(out, "anchor")
    const build = spawnSync("go", ["build", "-o", binary, "."], { cwd: source, env, encoding: "utf8" })
    if (build.status !== 0) return `bench/go did not build: ${build.stderr.trim().split("\n")[0] ?? ""}`
    const run = spawnSync(binary, [String(scale)], { encoding: "utf8", timeout: 600_000 })
    if (run.status !== 0) return `bench/go failed: ${run.stderr.trim().split("\n")[0] ?? ""}`
    return JSON.parse(run.stdout) as GoFigures
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}
