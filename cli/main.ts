#!/usr/bin/env node
/**
 * The `beehive` command: check the library's properties (and your own scenarios), replay a
 * counterexample, draw it, run the benchmarks. Exit codes fit CI: 0 when every property holds, 1 on
 * a counterexample (its file is printed), 2 on bad usage.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { SingleBar } from "cli-progress"
import { Command, CommanderError, InvalidArgumentError, Option } from "commander"
import { type CampaignReport, defaultOutDir, runCampaign } from "../checker/campaign.ts"
import { maxCandidates } from "../checker/harness/Runner.ts"
import { readCounterexample, replayFile } from "../checker/replayFile.ts"
import { loadScenarios, NoScenarios } from "../checker/userScenarios.ts"
import { coverageRates } from "../src/testing/Explore.ts"
import { renderHtml, renderSequenceChart } from "../src/testing/SequenceChart.ts"

/** Exit code: a counterexample was found (or a replay did not reproduce). */
export const ExitCounterexample = 1
/** Exit code: bad usage. */
export const ExitUsage = 2

class UsageError extends Error {}

/** This package's version, from the package.json above this file (in the repository and when installed). */
const packageVersion = (): string => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, "package.json")
    if (!existsSync(file)) continue
    const manifest = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string }
    if (manifest.name === "beehive-effect" && manifest.version !== undefined) return manifest.version
  }
  return "unknown"
}

const positiveInteger = (value: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive integer")
  return n
}
const integer = (value: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n)) throw new InvalidArgumentError("expected an integer")
  return n
}
/** "60s", "2m", "1500ms", or a number of seconds. */
export const duration = (value: string): number => {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim())
  if (match === null) throw new InvalidArgumentError('expected a duration such as "60s", "2m" or "500ms"')
  const n = Number(match[1])
  return match[2] === "ms" ? n : match[2] === "m" ? n * 60_000 : n * 1000
}

const table = (report: CampaignReport): string => {
  const rows = report.properties.map((p) => [
    p.name,
    p.rules.join(" "),
    String(p.inputs),
    String(p.schedules),
    String(Math.round((p.schedules / Math.max(1, p.elapsedMs)) * 1000)),
    p.failure === undefined ? "holds" : "FAILED"
  ])
  const header = ["property", "rules", "inputs", "schedules", "schedules/s", "result"]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join("  ")
  const total = `total: ${report.schedules} schedules in ${(report.elapsedMs / 1000).toFixed(1)} s (${Math.round((report.schedules / Math.max(1, report.elapsedMs)) * 1000)} schedules/s), ${report.properties.filter((p) => p.failure !== undefined).length} failure(s)`
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line), "", total].join("\n")
}

/**
 * Schedule coverage per property, under the results: how much of the interleavings the runs reached
 * (a property that holds over runs that never preempt has proved little about preemption).
 */
const coverageTable = (report: CampaignReport): string => {
  const rows = report.properties.flatMap((p) => {
    if (p.coverage === undefined) return []
    const { choicePointsPerRun, fired } = coverageRates(p.coverage)
    return [
      [
        p.name,
        choicePointsPerRun.toFixed(1),
        String(p.coverage.preemptionsDrawn),
        `${p.coverage.preemptionsFired} (${Math.round(fired * 100)}%)`,
        String(p.coverage.distinctInterleavings)
      ]
    ]
  })
  if (rows.length === 0) return ""
  const header = ["schedule coverage", "choice points/run", "preemptions drawn", "fired", "distinct interleavings"]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("  ")
  return `\n\n${[line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")}`
}

const check = async (options: {
  runs?: number
  seed?: number
  strategy?: "random" | "pct" | "dfs"
  time?: number
  scenarios?: string
  out: string
  library: boolean
}): Promise<number> => {
  let userScenarios: Array<{ scenario: Awaited<ReturnType<typeof loadScenarios>>[number]; source: string }> = []
  if (options.scenarios !== undefined) {
    try {
      userScenarios = (await loadScenarios(options.scenarios)).map((scenario) => ({
        scenario,
        source: options.scenarios as string
      }))
    } catch (e) {
      throw new UsageError(
        e instanceof NoScenarios ? e.message : `cannot load ${options.scenarios}: ${(e as Error).message}`
      )
    }
  }
  const bar = process.stderr.isTTY
    ? new SingleBar({
        format: "{property} [{bar}] {value}/{total} | {schedules} schedules",
        stream: process.stderr,
        hideCursor: true
      })
    : undefined
  let current = ""
  const report = runCampaign({
    runs: options.runs,
    seed: options.seed,
    strategy: options.strategy,
    timeBudgetMs: options.time,
    outDir: options.out,
    userScenarios,
    catalogue: options.library,
    onProgress: (property, done, total, schedules) => {
      if (bar === undefined) return
      if (property !== current) {
        if (current !== "") bar.stop()
        current = property
        bar.start(total, done, { property: property.padEnd(22), schedules })
      } else bar.update(done, { schedules })
    }
  })
  bar?.stop()
  console.log(table(report) + coverageTable(report))
  for (const p of report.properties) {
    if ((p.uncheckedRuns ?? 0) > 0)
      console.log(
        `\n${p.name}: ${p.uncheckedRuns} of ${p.inputs} runs checked only up to the step where more than ` +
          `${maxCandidates} model states explained them`
      )
  }
  for (const p of report.properties) {
    if (p.failure !== undefined) {
      console.log(
        `\ncounterexample for ${p.name}: ${p.failure.message}\n  ${p.failure.file}\n  replay: beehive replay ${p.failure.file}`
      )
    }
  }
  return report.failed ? ExitCounterexample : 0
}

const replay = async (file: string): Promise<number> => {
  let result: Awaited<ReturnType<typeof replayFile>>
  try {
    result = await replayFile(file)
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
  const recorded = result.example.outcome
  console.log(`recorded (seed ${result.example.seed}, run ${result.example.run}): ${outcomeLine(recorded)}`)
  console.log(result.recorded)
  console.log("\non this code:")
  console.log(result.timeline)
  if (result.outcome._tag === "Success") {
    console.log("\nfixed: the property holds on this code")
    return 0
  }
  console.log(
    result.reproduced
      ? `\nreproduced: the recorded failure happens again, step for step: ${outcomeLine(result.outcome)}`
      : `\nstill failing, differently from the recording: ${outcomeLine(result.outcome)}`
  )
  return ExitCounterexample
}

const outcomeLine = (outcome: Awaited<ReturnType<typeof replayFile>>["outcome"]): string => {
  switch (outcome._tag) {
    case "Success":
      return "the property held"
    case "Failure":
      return `failed: ${outcome.message}`
    case "Deadlock":
      return "deadlock"
    case "StepLimit":
      return `step limit after ${outcome.steps} steps`
  }
}

const trace = (file: string, options: { svg?: string; html?: string }): number => {
  if (options.svg === undefined && options.html === undefined)
    throw new UsageError("trace needs --svg OUT and/or --html OUT")
  let example: ReturnType<typeof readCounterexample>
  try {
    example = readCounterexample(file)
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
  for (const [out, render] of [
    [options.svg, renderSequenceChart],
    [options.html, renderHtml]
  ] as const) {
    if (out === undefined) continue
    mkdirSync(dirname(resolve(out)), { recursive: true })
    writeFileSync(out, render(example))
    console.log(`wrote ${out}`)
  }
  return 0
}

const bench = (options: { check?: boolean }): number => {
  // The heap figure needs --expose-gc, which only a new process can get.
  const script = join(dirname(fileURLToPath(import.meta.url)), "../bench/main.js")
  const args = ["--expose-gc", script, ...(options.check === true ? ["--check"] : [])]
  return spawnSync(process.execPath, args, { stdio: "inherit" }).status ?? 1
}

/** Builds the program; `run` resolves to the exit code. */
export const program = (): {
  readonly command: Command
  readonly run: (argv: ReadonlyArray<string>) => Promise<number>
} => {
  let exitCode = 0
  const command = new Command("beehive")
    .description("beehive-effect: check, replay and draw KubeEdge beehive semantics on Effect")
    .version(packageVersion(), "-V, --version")
    .exitOverride()
    .showHelpAfterError()
  command
    .command("check")
    .description("run the property campaign against the library (and your scenarios)")
    .option("--runs <n>", "inputs per property (schedules per scenario of yours)", positiveInteger)
    .option("--seed <s>", "base seed", integer)
    .addOption(
      new Option("--strategy <name>", "scheduling strategy").choices(["random", "pct", "dfs"]).default("random")
    )
    .option("--time <duration>", 'time budget, e.g. "60s"', duration)
    .option("--scenarios <path>", "a module exporting your scenarios (export const scenarios = [...])")
    .option("--no-library", "skip the library's own properties (check only your scenarios)")
    .option("--out <dir>", "where counterexample files go", defaultOutDir())
    .action(async (options) => {
      exitCode = await check(options)
    })
  command
    .command("replay")
    .description("replay a counterexample file and print its timeline")
    .argument("<file>", "counterexample file")
    .action(async (file: string) => {
      exitCode = await replay(file)
    })
  command
    .command("trace")
    .description("draw a counterexample as a message sequence chart")
    .argument("<file>", "counterexample file")
    .option("--svg <out>", "write the chart as SVG")
    .option("--html <out>", "write a self-contained HTML page")
    .action((file: string, options) => {
      exitCode = trace(file, options)
    })
  command
    .command("bench")
    .description("run the benchmarks")
    .option("--check", "exit 1 when a target is missed")
    .action((options: { check?: boolean }) => {
      exitCode = bench(options)
    })
  return {
    command,
    run: async (argv) => {
      try {
        await command.parseAsync([...argv], { from: "user" })
        return exitCode
      } catch (e) {
        if (e instanceof CommanderError) {
          return e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help"
            ? 0
            : ExitUsage
        }
        if (e instanceof UsageError) {
          console.error(`beehive: ${e.message}`)
          return ExitUsage
        }
        throw e
      }
    }
  }
}

// Run when this file is the program (directly, or through the package's bin link).
const invoked = process.argv[1]
if (
  invoked !== undefined &&
  existsSync(invoked) &&
  realpathSync(invoked) === realpathSync(fileURLToPath(import.meta.url))
) {
  program()
    .run(process.argv.slice(2))
    .then((code) => process.exit(code))
}
