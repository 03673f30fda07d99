import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")
const cli = join(root, "dist/cli/main.js")
const fixture = join(root, "test/fixtures/pod-status-scenarios.mjs")
const beehive = (...args: Array<string>) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: root, timeout: 120_000 })

describe("beehive CLI, end to end", () => {
  beforeAll(() => {
    if (!existsSync(cli)) {
      try {
        execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
          cwd: root
        })
      } catch {
        // tsc still emits when something elsewhere does not typecheck; the CLI is what matters here.
      }
    }
  }, 120_000)

  it("R-DET-5 check finds the planted bug, replay reproduces it, trace draws it", () => {
    const out = mkdtempSync(join(tmpdir(), "beehive-cli-"))
    const checked = beehive("check", "--scenarios", fixture, "--no-library", "--strategy", "dfs", "--out", out)
    expect(checked.status, checked.stderr).toBe(1)
    expect(checked.stdout).toMatch(/last-status-wins\s+\d+\s+\d+\s+\d+\s+FAILED/)
    const files = readdirSync(out).filter((f) => f.endsWith(".json"))
    expect(files).toHaveLength(1)
    const file = join(out, files[0] as string)
    expect(checked.stdout).toContain(file)
    const example = JSON.parse(readFileSync(file, "utf8"))
    expect(example).toMatchObject({ scenario: "last-status-wins", source: fixture })

    const replayed = beehive("replay", file)
    expect(replayed.status, replayed.stderr).toBe(1)
    expect(replayed.stdout).toContain("‼ check: metamanager keeps the last status reported")
    expect(replayed.stdout).toContain(
      "reproduced: the recorded failure happens again, step for step: failed: CheckFailed: metamanager keeps the last status reported"
    )

    const svg = join(out, "chart.svg")
    const html = join(out, "chart.html")
    const traced = beehive("trace", file, "--svg", svg, "--html", html)
    expect(traced.status, traced.stderr).toBe(0)
    const drawing = readFileSync(svg, "utf8")
    const lifelines = [...drawing.matchAll(/class="lifeline" data-lane="([^"]+)" data-kind="(\w+)"/g)].map(
      (m) => `${m[2]}:${m[1]}`
    )
    for (const lane of ["fiber:edged-1", "fiber:edged-2", "fiber:edged-3", "fiber:metamanager", "module:metamanager"]) {
      expect(lifelines).toContain(lane)
    }
    expect([...drawing.matchAll(/class="message" data-kind="invoke"/g)].length).toBeGreaterThanOrEqual(5)
    expect(drawing.match(/id="failing-step"/g)).toHaveLength(1)
    expect(drawing).toContain("metamanager keeps the last status reported")
    expect(readFileSync(html, "utf8")).toContain("<svg")
  })

  it("R-DET-5 check exits 0 when every property holds, with a summary table", () => {
    const result = beehive("check", "--runs", "3", "--seed", "7", "--out", mkdtempSync(join(tmpdir(), "beehive-cli-")))
    expect(result.status, result.stdout + result.stderr).toBe(0)
    expect(result.stdout).toMatch(/property\s+rules\s+inputs\s+schedules\s+schedules\/s\s+result/)
    // Named as the README lists them: every name of its "Named properties" item is a row, and every row is listed.
    const readme = readFileSync(join(root, "README.md"), "utf8")
    const item = readme.slice(readme.indexOf("- **Named properties**"), readme.indexOf("- **Exploration**"))
    const listed = [...item.matchAll(/`([a-z-]+)`/g)].map((m) => m[1] as string)
    const rows = [...result.stdout.matchAll(/^([a-z][a-z-]+)\s+R-/gm)].map((m) => m[1] as string)
    expect(rows.length).toBeGreaterThan(10)
    expect(rows).toEqual(listed)
    expect(result.stdout).toMatch(/total: \d+ schedules in [\d.]+ s \(\d+ schedules\/s\), 0 failure\(s\)/)
  })

  it("R-DET-5 bad usage exits 2 with a clear message", () => {
    for (const args of [
      ["check", "--strategy", "sideways"],
      ["frobnicate"],
      ["check", "--runs", "0"],
      ["trace", fixture],
      ["replay", join(root, "package.json")],
      ["check", "--scenarios", join(root, "package.json")]
    ]) {
      const result = beehive(...args)
      expect(result.status, args.join(" ")).toBe(2)
      expect(result.stderr.length, args.join(" ")).toBeGreaterThan(0)
    }
    expect(beehive("--help").status).toBe(0)
    // Nine CLI processes: about 8 s on an idle 2-core machine, several times that when it is busy.
  }, 120_000)

  it("R-DET-5 runs through a link, as the package's bin does", () => {
    const link = join(mkdtempSync(join(tmpdir(), "beehive-bin-")), "beehive")
    symlinkSync(cli, link)
    const result = spawnSync(process.execPath, [link, "--help"], { encoding: "utf8" })
    expect(result.status).toBe(0)
    expect(result.stdout).toContain("Usage: beehive")
  })
})
