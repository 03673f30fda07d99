#!/usr/bin/env node
// Mutation testing in slices: one StrykerJS run per source file, each with its own JSON report, so
// that a measurement that takes hours on a small machine can be done a file at a time, resumed across
// sessions, and merged into one score (docs/mutation-testing.md).
//
//   node scripts/mutation-slices.mjs run <whole|properties> [file...]   (default: every mutated file)
//   node scripts/mutation-slices.mjs report <whole|properties> [--survivors]
//
// `run` skips a file whose report exists (delete it, or pass --force, to measure it again).
// STRYKER_CONCURRENCY sets the number of test runners (default: the base configuration's).
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { git, mutatedFiles, sourceHash } from "./mutation-files.mjs"

const bases = { whole: "stryker.config.json", properties: "stryker.properties.json" }
const [command, kind, ...rest] = process.argv.slice(2)
if (!(command === "run" || command === "report") || !(kind in bases)) {
  console.error("usage: mutation-slices.mjs run|report whole|properties [file...] [--force] [--survivors]")
  process.exit(2)
}
const flags = new Set(rest.filter((arg) => arg.startsWith("--")))
const files = rest.filter((arg) => !arg.startsWith("--"))
const outDir = join("reports", "mutation-slices", kind)
const slug = (file) => file.replaceAll("/", "__").replace(/\.ts$/, "")
if (command === "run") {
  const base = JSON.parse(readFileSync(bases[kind], "utf8"))
  mkdirSync(outDir, { recursive: true })
  const targets = files.length > 0 ? files : mutatedFiles(base.mutate)
  for (const file of targets) {
    const report = join(outDir, `${slug(file)}.json`)
    if (existsSync(report) && !flags.has("--force")) {
      console.log(`skip ${file}: ${report} exists`)
      continue
    }
    const config = {
      ...base,
      mutate: [file],
      reporters: ["json", "progress"],
      jsonReporter: { fileName: report },
      tempDirName: `.stryker-tmp-slice-${kind}`,
      concurrency: Number(process.env.STRYKER_CONCURRENCY ?? base.concurrency),
      thresholds: { ...base.thresholds, break: null }
    }
    const configFile = join(outDir, `${slug(file)}.config.json`)
    writeFileSync(configFile, JSON.stringify(config, null, 2))
    const started = Date.now()
    // Stamped with the hash of the file it mutated and the commit of the tests that ran, so `report`
    // can tell a measurement of other code (stale) from one of the code as it is.
    const stamp = {
      file,
      sourceHash: sourceHash(file),
      commit: git("rev-parse", "--short", "HEAD"),
      testsChanged: git("status", "--porcelain", "--", "test", "checker", "spec").length > 0
    }
    console.log(`mutating ${file} (${kind})`)
    const result = spawnSync("npx", ["stryker", "run", configFile], { stdio: "inherit" })
    rmSync(configFile, { force: true })
    if (result.status !== 0) {
      console.error(`stryker failed on ${file} (exit ${result.status})`)
      process.exit(result.status ?? 1)
    }
    const written = JSON.parse(readFileSync(report, "utf8"))
    written.slice = { ...stamp, seconds: Math.round((Date.now() - started) / 1000) }
    writeFileSync(report, JSON.stringify(written))
    console.log(`done ${file} in ${Math.round((Date.now() - started) / 1000)} s`)
  }
} else {
  const reports = existsSync(outDir)
    ? readdirSync(outDir).filter((name) => name.endsWith(".json") && !name.endsWith(".config.json"))
    : []
  const total = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, other: 0 }
  const rows = []
  const survivors = []
  for (const name of reports.sort()) {
    const report = JSON.parse(readFileSync(join(outDir, name), "utf8"))
    const stamp = report.slice
    const freshness =
      stamp === undefined
        ? "unstamped"
        : existsSync(stamp.file) && sourceHash(stamp.file) === stamp.sourceHash
          ? `tests of ${stamp.commit}${stamp.testsChanged ? "+" : ""}`
          : `STALE (code of ${stamp.commit})`
    for (const [path, entry] of Object.entries(report.files)) {
      const counts = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, other: 0 }
      for (const mutant of entry.mutants) {
        const status = mutant.status in counts ? mutant.status : "other"
        counts[status] += 1
        total[status] += 1
        if (status === "Survived" || status === "NoCoverage") {
          const line = mutant.location.start.line
          survivors.push(
            `${relative(process.cwd(), path)}:${line} ${status} ${mutant.mutatorName}: ${mutant.replacement ?? ""}`
          )
        }
      }
      rows.push([relative(process.cwd(), path), counts, freshness])
    }
  }
  const score = (c) => {
    const detected = c.Killed + c.Timeout
    const valid = detected + c.Survived + c.NoCoverage
    return valid === 0 ? "n/a" : `${((100 * detected) / valid).toFixed(1)}%`
  }
  for (const [path, c, freshness] of rows) {
    console.log(
      `${score(c).padStart(7)}  ${path}  (killed ${c.Killed}, timeout ${c.Timeout}, survived ${c.Survived}, no coverage ${c.NoCoverage}, other ${c.other}; ${freshness})`
    )
  }
  console.log(
    `${score(total).padStart(7)}  all ${rows.length} files (${kind}): killed ${total.Killed}, timeout ${total.Timeout}, survived ${total.Survived}, no coverage ${total.NoCoverage}, other ${total.other}`
  )
  if (flags.has("--survivors")) for (const line of survivors) console.log(line)
}
