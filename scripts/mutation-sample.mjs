#!/usr/bin/env node
// Mutation testing by sampling: a run over every mutant takes hours per suite on a 2-core machine, so
// this draws a uniform random sample of the mutants (fixed seed), tests exactly those with StrykerJS
// (scripts/mutation-sample-checker.mjs lets only them through) and estimates each suite's score with
// a 95% confidence interval (docs/mutation-testing.md).
//
//   node scripts/mutation-sample.mjs draw [--fraction 0.1] [--seed 20261203]
//   node scripts/mutation-sample.mjs run <whole|properties> [--every n] [--only-survivors | --only-suspects | --only-timeouts | --only-untested] [--file f]
//   node scripts/mutation-sample.mjs report <whole|properties> [--survivors]
//   node scripts/mutation-sample.mjs rebase
//
// `run --every n` tests every n-th mutant of the sample only (a smaller uniform sample, for a slow
// suite); `--file f` only those of one file; `--only-survivors` only those that survived the last run
// of that suite (after new tests: killed mutants stay killed when tests are added). Results merge
// into the suite's report.
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { Instrumenter } from "@stryker-mutator/instrumenter"
import { git, mutatedFiles, sourceHash } from "./mutation-files.mjs"
import { mutantKey, projectPath } from "./mutation-sample-checker.mjs"

const bases = { whole: "stryker.config.json", properties: "stryker.properties.json" }
const outDir = join("reports", "mutation-sample")
const samplePath = join(outDir, "sample.json")
const [command, ...rest] = process.argv.slice(2)
const option = (name, fallback) => {
  const index = rest.indexOf(`--${name}`)
  return index === -1 ? fallback : rest[index + 1]
}

// mulberry32: a small seeded generator, so that the same seed draws the same sample of the same code.
const seeded = (seed) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const silent = new Proxy({}, { get: (_, name) => (String(name).startsWith("is") ? () => false : () => {}) })

const draw = async () => {
  const fraction = Number(option("fraction", "0.1"))
  const seed = Number(option("seed", "20261203"))
  const files = mutatedFiles(JSON.parse(readFileSync(bases.whole, "utf8")).mutate)
  const instrumented = await new Instrumenter(silent).instrument(
    files.map((name) => ({ name, content: readFileSync(name, "utf8"), mutate: true })),
    { plugins: null, excludedMutations: [], ignorers: [], noHeader: false }
  )
  const all = instrumented.mutants.map((mutant) => ({
    key: mutantKey(projectPath(mutant.fileName), mutant),
    file: projectPath(mutant.fileName),
    location: mutant.location
  }))
  const random = seeded(seed)
  // A partial Fisher-Yates shuffle: the first `size` entries are a uniform sample without replacement.
  const size = Math.round(all.length * fraction)
  const pool = [...all]
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(random() * (pool.length - i))
    ;[pool[i], pool[j]] = [pool[j], pool[i]]
  }
  const mutants = pool
    .slice(0, size)
    .sort((a, b) => a.key.localeCompare(b.key))
    .map((mutant, drawIndex) => ({ ...mutant, drawIndex }))
  const hashes = Object.fromEntries(files.map((file) => [file, sourceHash(file)]))
  mkdirSync(outDir, { recursive: true })
  writeFileSync(
    samplePath,
    JSON.stringify({
      seed,
      fraction,
      population: all.length,
      commit: git("rev-parse", "--short", "HEAD"),
      hashes,
      mutants
    })
  )
  console.log(`drew ${size} of ${all.length} mutants (seed ${seed}) into ${samplePath}`)
}

const readSample = () => {
  const sample = JSON.parse(readFileSync(samplePath, "utf8"))
  const changed = Object.entries(sample.hashes).filter(([file, hash]) => !existsSync(file) || sourceHash(file) !== hash)
  return { sample, changed: changed.map(([file]) => file) }
}

// A report counts lines and columns from 1; the instrumenter (and so a sample's keys) from 0.
const statusesOf = (report) => {
  const statuses = new Map()
  const fromZero = ({ line, column }) => ({ line: line - 1, column: column - 1 })
  for (const [path, entry] of Object.entries(report.files))
    for (const mutant of entry.mutants) {
      const location = { start: fromZero(mutant.location.start), end: fromZero(mutant.location.end) }
      statuses.set(mutantKey(projectPath(path), { ...mutant, location }), mutant)
    }
  return statuses
}

// The keys of every mutant of `files` in their current code.
const currentKeys = async (files) => {
  const instrumented = await new Instrumenter(silent).instrument(
    files.map((name) => ({ name, content: readFileSync(name, "utf8"), mutate: true })),
    { plugins: null, excludedMutations: [], ignorers: [], noHeader: false }
  )
  return new Set(instrumented.mutants.map((mutant) => mutantKey(projectPath(mutant.fileName), mutant)))
}

const run = async (kind) => {
  const { sample, changed } = readSample()
  if (changed.length > 0) {
    // A change that leaves every sampled mutant of a file as it was (same place, same replacement)
    // keeps the sample: the mutants it adds or removes were not drawn. Any other change needs a new draw.
    const keys = await currentKeys(changed.filter((file) => existsSync(file)))
    const gone = sample.mutants.filter((m) => changed.includes(m.file) && !keys.has(m.key))
    if (gone.length > 0) {
      console.error(`the code changed since the sample was drawn (${changed.join(", ")}), and with it`)
      console.error(`${gone.length} sampled mutant(s), ${gone[0].key} first: draw again`)
      process.exit(2)
    }
    console.log(`changed since the sample was drawn, every sampled mutant unchanged: ${changed.join(", ")}`)
  }
  const reportPath = join(outDir, `${kind}.json`)
  const previous = existsSync(reportPath) ? JSON.parse(readFileSync(reportPath, "utf8")) : undefined
  // A systematic part of the sample (every n-th), when the suite is too slow for all of it.
  const every = Number(option("every", "1"))
  // `--skip-every a,b`: leave out the parts an earlier `--every a`, `--every b` tested (a part never aimed at).
  const skip = option("skip-every", "").split(",").filter(Boolean).map(Number)
  // Parts are counted in the order of the draw, which a mutant dropped by a rebase does not shift.
  const at = (m, i) => m.drawIndex ?? i
  let targets = sample.mutants.filter((m, i) => at(m, i) % every === 0 && !skip.some((n) => at(m, i) % n === 0))
  // Only the mutants of one file, when new tests are about that file.
  const only = option("file", undefined)
  if (only !== undefined) targets = targets.filter((m) => m.file === only)
  if (rest.includes("--only-survivors")) {
    if (previous === undefined) throw new Error(`no earlier ${kind} run to take survivors from`)
    targets = targets.filter((m) => ["Survived", "NoCoverage"].includes(previous.results[m.key]?.status))
  }
  // Only mutants with no result yet, when a run widens the part of the sample tested (`--every`).
  if (rest.includes("--only-untested")) targets = targets.filter((m) => previous?.results[m.key] === undefined)
  // A mutant that survived and then timed out on a re-run (two runs sharing the machine): run alone,
  // a timeout again is a hang the tests detect, a survival is a survival.
  if (rest.includes("--only-suspects")) {
    if (previous === undefined) throw new Error(`no earlier ${kind} run to take suspects from`)
    targets = targets.filter((m) => {
      const result = previous.results[m.key]
      return result?.status === "Timeout" && result.before === "Survived"
    })
  }
  // Every mutant that timed out, again on a quiet machine: a run that shared the machine with other
  // work times out more often, and a timeout counts as detected.
  if (rest.includes("--only-timeouts")) {
    if (previous === undefined) throw new Error(`no earlier ${kind} run to take timeouts from`)
    targets = targets.filter((m) => previous.results[m.key]?.status === "Timeout")
  }
  if (targets.length === 0) {
    console.log(`no sampled mutant to test against the ${kind} suite`)
    return
  }
  const targetPath = join(outDir, `targets-${kind}.json`)
  writeFileSync(targetPath, JSON.stringify({ mutants: targets }))
  const base = JSON.parse(readFileSync(bases[kind], "utf8"))
  // The instrumenter counts lines and columns from 0; a `mutate` range counts lines from 1.
  const range = (m) =>
    `${m.location.start.line + 1}:${m.location.start.column}-${m.location.end.line + 1}:${m.location.end.column}`
  const config = {
    ...base,
    mutate: targets.map((m) => `${m.file}:${range(m)}`),
    plugins: [...base.plugins, "./scripts/mutation-sample-checker.mjs"],
    checkers: ["mutation-sample"],
    reporters: ["json", "progress"],
    jsonReporter: { fileName: join(outDir, `stryker-${kind}.json`) },
    tempDirName: `.stryker-tmp-sample-${kind}`,
    concurrency: Number(process.env.STRYKER_CONCURRENCY ?? base.concurrency),
    thresholds: { ...base.thresholds, break: null }
  }
  const configPath = join(outDir, `stryker-${kind}.config.json`)
  writeFileSync(configPath, JSON.stringify(config, null, 2))
  const started = Date.now()
  console.log(`testing ${targets.length} sampled mutants against the ${kind} suite`)
  const result = spawnSync("npx", ["stryker", "run", configPath], {
    stdio: "inherit",
    env: { ...process.env, BEEHIVE_MUTATION_SAMPLE: resolve(targetPath) }
  })
  rmSync(configPath, { force: true })
  if (result.status !== 0) process.exit(result.status ?? 1)
  const statuses = statusesOf(JSON.parse(readFileSync(config.jsonReporter.fileName, "utf8")))
  const results = { ...(previous?.results ?? {}) }
  for (const m of targets) {
    const mutant = statuses.get(m.key)
    if (mutant === undefined || mutant.status === "CompileError")
      throw new Error(`StrykerJS did not test the sampled mutant ${m.key} (${mutant?.status ?? "not reported"})`)
    results[m.key] = {
      status: mutant.status,
      ...(results[m.key] === undefined ? {} : { before: results[m.key].status }),
      file: m.file,
      line: m.location.start.line + 1,
      replacement: mutant.replacement
    }
  }
  const runs = [
    ...(previous?.runs ?? []),
    {
      commit: git("rev-parse", "--short", "HEAD"),
      tested: targets.length,
      seconds: Math.round((Date.now() - started) / 1000)
    }
  ]
  writeFileSync(reportPath, JSON.stringify({ kind, seed: sample.seed, runs, results }, null, 1))
  console.log(`done in ${Math.round((Date.now() - started) / 1000)} s`)
}

// Wilson's interval: honest near 0% and 100%, where the normal approximation is not.
const wilson = (detected, n) => {
  if (n === 0) return [0, 0]
  const z = 1.96
  const p = detected / n
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n)
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n)
  return [centre - half, centre + half]
}

const report = (kind) => {
  const { sample, changed } = readSample()
  const stored = JSON.parse(readFileSync(join(outDir, `${kind}.json`), "utf8"))
  if (changed.length > 0) console.log(`STALE: code changed since the sample was drawn: ${changed.join(", ")}`)
  const areas = new Map()
  const survivors = []
  for (const m of sample.mutants) {
    const result = stored.results[m.key]
    // A mutant that survived and then timed out on a re-run is more likely a busy machine than a
    // hang that new tests provoke: it counts as surviving until a run of it alone says otherwise.
    const suspect = result?.status === "Timeout" && result.before === "Survived"
    const status = suspect ? "Survived" : (result?.status ?? "untested")
    const area = m.file.startsWith("src/contexts/socket/")
      ? "src/contexts/socket"
      : m.file.split("/").slice(0, 2).join("/")
    for (const name of [area, "all"]) {
      const counts = areas.get(name) ?? { detected: 0, timedOut: 0, survived: 0, untested: 0, other: 0 }
      if (status === "Timeout") counts.timedOut += 1
      if (status === "Killed" || status === "Timeout") counts.detected += 1
      else if (status === "Survived" || status === "NoCoverage") counts.survived += 1
      else if (status === "untested") counts.untested += 1
      else counts.other += 1
      areas.set(name, counts)
    }
    if (status === "Survived" || status === "NoCoverage")
      survivors.push(
        `${m.file}:${m.location.start.line + 1} ${status}${suspect ? " (timed out on a re-run: run it alone)" : ""} ${m.key.split("|")[2]}: ${result.replacement ?? ""}`
      )
  }
  console.log(
    `${kind} suite, sample of ${sample.mutants.length} of ${sample.population} mutants (seed ${sample.seed}, code of ${sample.commit})`
  )
  for (const [name, c] of [...areas].sort()) {
    const n = c.detected + c.survived
    const [low, high] = wilson(c.detected, n)
    const pct = (x) => `${(100 * x).toFixed(1)}%`
    console.log(
      `${name.padEnd(22)} ${n === 0 ? "n/a" : pct(c.detected / n)} (95% ${pct(low)}–${pct(high)}): ${c.detected} detected (${c.timedOut} by a timeout), ${c.survived} survived${c.untested ? `, ${c.untested} untested` : ""}${c.other ? `, ${c.other} other` : ""}`
    )
  }
  if (rest.includes("--survivors")) for (const line of survivors.sort()) console.log(line)
}

// Moves a sample onto changed code: each sampled mutant of a changed file is found again by what it is
// (its mutator, its replacement, the code it replaces, and which occurrence of those it is in the file),
// wherever the change moved it; a mutant whose code changed is dropped from the sample, with a note.
// Earlier results follow their mutants.
const rebase = async () => {
  const { sample, changed } = readSample()
  const files = changed.filter((file) => existsSync(file))
  if (files.length === 0) return console.log("the sample matches the code: nothing to rebase")
  // A rebase names the commit its keys belong to, so the code must be that commit's.
  const uncommitted = git("status", "--porcelain", "--", ...files).trim()
  if (uncommitted !== "") {
    console.error(`commit the changes first: the rebased keys must belong to a commit\n${uncommitted}`)
    process.exit(2)
  }
  const instrument = async (entries) =>
    (
      await new Instrumenter(silent).instrument(
        entries.map(([name, content]) => ({ name, content, mutate: true })),
        { plugins: null, excludedMutations: [], ignorers: [], noHeader: false }
      )
    ).mutants
  const span = (source, { start, end }) => {
    const lines = source.split("\n")
    if (start.line === end.line) return lines[start.line].slice(start.column, end.column)
    return [
      lines[start.line].slice(start.column),
      ...lines.slice(start.line + 1, end.line),
      lines[end.line].slice(0, end.column)
    ].join("\n")
  }
  // Signature and occurrence of every mutant of one version of a file.
  const identities = (file, source, mutants) => {
    const seen = new Map()
    const byKey = new Map()
    const byIdentity = new Map()
    for (const mutant of mutants) {
      const signature = [mutant.mutatorName, mutant.replacement ?? "", span(source, mutant.location)].join("\u0000")
      const n = seen.get(signature) ?? 0
      seen.set(signature, n + 1)
      const identity = `${signature}\u0000${n}`
      const entry = { key: mutantKey(file, mutant), file, location: mutant.location }
      byKey.set(entry.key, identity)
      byIdentity.set(identity, entry)
    }
    return { byKey, byIdentity }
  }
  const moved = new Map()
  const dropped = []
  for (const file of files) {
    // The code the sample's keys of this file belong to: the commit of its last rebase, else the draw's.
    const before = git("show", `${sample.bases?.[file] ?? sample.commit}:${file}`)
    const now = readFileSync(file, "utf8")
    const old = identities(file, before, await instrument([[file, before]]))
    const fresh = identities(file, now, await instrument([[file, now]]))
    for (const m of sample.mutants.filter((x) => x.file === file)) {
      const found = fresh.byIdentity.get(old.byKey.get(m.key))
      if (found === undefined) dropped.push(m.key)
      else moved.set(m.key, found)
    }
  }
  sample.mutants = sample.mutants.flatMap((m) =>
    dropped.includes(m.key) ? [] : [{ ...(moved.get(m.key) ?? m), drawIndex: m.drawIndex }]
  )
  const head = git("rev-parse", "--short", "HEAD").trim()
  sample.bases = { ...(sample.bases ?? {}), ...Object.fromEntries(files.map((file) => [file, head])) }
  for (const file of files) sample.hashes[file] = sourceHash(file)
  sample.rebased = [...(sample.rebased ?? []), { commit: git("rev-parse", "--short", "HEAD"), files, dropped }]
  writeFileSync(samplePath, JSON.stringify(sample, null, 2))
  for (const kind of Object.keys(bases)) {
    const reportPath = join(outDir, `${kind}.json`)
    if (!existsSync(reportPath)) continue
    const report = JSON.parse(readFileSync(reportPath, "utf8"))
    const results = {}
    for (const [key, result] of Object.entries(report.results)) {
      if (dropped.includes(key)) continue
      const to = moved.get(key)
      results[to?.key ?? key] = to === undefined ? result : { ...result, line: to.location.start.line + 1 }
    }
    report.results = results
    writeFileSync(reportPath, JSON.stringify(report, null, 2))
  }
  console.log(
    `rebased ${moved.size} sampled mutants of ${files.join(", ")}; dropped ${dropped.length} whose code changed`
  )
  for (const key of dropped) console.log(`  dropped ${key}`)
}

if (command === "draw") await draw()
else if (command === "rebase") await rebase()
else if (command === "run" && rest[0] in bases) await run(rest[0])
else if (command === "report" && rest[0] in bases) report(rest[0])
else {
  console.error(
    "usage: mutation-sample.mjs draw [--fraction F] [--seed S] | run <whole|properties> [--only-survivors] | report <whole|properties> [--survivors]"
  )
  process.exit(2)
}
