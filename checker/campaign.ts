/**
 * A property campaign: every property of the catalogue (and the user's own scenarios), each over many
 * generated inputs and many schedules of the chosen strategy, within an optional time budget. The
 * first failing schedule of a property is written as a counterexample file.
 */
import { join, resolve } from "node:path"
import fc from "fast-check"
import { runSeed } from "../src/effects/Strategy.ts"
import { type Counterexample, type ExploreOptions, explore, type StrategyName } from "../src/testing/Explore.ts"
import type { Scenario } from "../src/testing/Scenario.ts"
import { writeCounterexample } from "./harness/Artifacts.ts"
import { checkStateMachine } from "./harness/StateMachine.ts"
import { properties } from "./properties.ts"
import { scenarios } from "./scenarios/index.ts"

export interface CampaignOptions {
  /** Inputs per property (default: each property's own count). */
  readonly runs?: number | undefined
  readonly seed?: number | undefined
  readonly strategy?: StrategyName | undefined
  /** Wall-clock budget for the whole campaign, in ms. */
  readonly timeBudgetMs?: number | undefined
  /** Schedules explored per input (random, pct; dfs explores up to this many within its bound). */
  readonly schedulesPerInput?: number | undefined
  /** Where counterexample files go. */
  readonly outDir: string
  /** The user's scenarios, explored as they are (no generated input), with the module they came from. */
  readonly userScenarios?: ReadonlyArray<{ readonly scenario: Scenario; readonly source: string }> | undefined
  /** Whether to include the catalogue (default true). */
  readonly catalogue?: boolean | undefined
  readonly onProgress?: ((property: string, done: number, total: number, schedules: number) => void) | undefined
}

export interface PropertyReport {
  readonly name: string
  readonly rules: ReadonlyArray<string>
  readonly inputs: number
  readonly schedules: number
  readonly elapsedMs: number
  readonly failure?: { readonly file: string; readonly message: string } | undefined
}

export interface CampaignReport {
  readonly properties: ReadonlyArray<PropertyReport>
  readonly schedules: number
  readonly elapsedMs: number
  readonly failed: boolean
}

const exploreOptions = (options: CampaignOptions, preemption: boolean, seed: number): ExploreOptions => {
  const strategy = options.strategy ?? "random"
  const per = options.schedulesPerInput ?? (strategy === "dfs" ? 200 : 10)
  return { strategy, runs: per, seed, preemption: preemption ? 0.02 : 0, depth: 3, bound: 2 }
}

/** Runs the campaign synchronously (a long one blocks the event loop; progress is reported by callback). */
const stateMachineRules = ["R-MOD", "R-SEND", "R-RECV", "R-CLEAN", "R-SYNC", "R-RESP", "R-GROUP", "R-GSYNC", "R-GLOBAL"]

export const runCampaign = (options: CampaignOptions): CampaignReport => {
  const started = performance.now()
  const deadline = options.timeBudgetMs === undefined ? Number.POSITIVE_INFINITY : started + options.timeBudgetMs
  const seed = options.seed ?? 20261125
  const outDir = resolve(options.outDir)
  const reports: Array<PropertyReport> = []
  const jobs: Array<() => PropertyReport> = []

  if (options.catalogue ?? true) {
    properties.forEach((property, index) => {
      jobs.push(() => {
        const name = `${property.scenario}${properties.findIndex((p) => p.scenario === property.scenario) === index ? "" : `#${index}`}`
        const began = performance.now()
        const runs = options.runs ?? property.runs
        const inputs = fc.sample(property.input, { seed: runSeed(seed, index), numRuns: runs })
        let schedules = 0
        let done = 0
        for (const input of inputs) {
          if (performance.now() > deadline) break
          const scenario = (scenarios[property.scenario] as (input: unknown) => Scenario)(input)
          const result = explore(scenario, {
            ...exploreOptions(options, property.preemption, runSeed(seed, done)),
            timeBudgetMs: deadline - performance.now()
          })
          schedules += result.schedules
          done++
          options.onProgress?.(name, done, inputs.length, schedules)
          if (result.failure !== undefined) {
            const file = write(outDir, name, { ...result.failure, input })
            return {
              name,
              rules: property.rules,
              inputs: done,
              schedules,
              elapsedMs: performance.now() - began,
              failure: { file, message: describe(result.failure) }
            }
          }
        }
        return { name, rules: property.rules, inputs: done, schedules, elapsedMs: performance.now() - began }
      })
    })
    jobs.push(() => {
      const began = performance.now()
      const runs = options.runs ?? 300
      try {
        checkStateMachine("state-machine", { runs, seed, outDir })
        options.onProgress?.("state-machine", runs, runs, runs)
        return {
          name: "state-machine",
          rules: stateMachineRules,
          inputs: runs,
          schedules: runs,
          elapsedMs: performance.now() - began
        }
      } catch (e) {
        const message = (e as Error).message
        const file = /counterexample: (\S+)/.exec(message)?.[1] ?? ""
        return {
          name: "state-machine",
          rules: stateMachineRules,
          inputs: runs,
          schedules: runs,
          elapsedMs: performance.now() - began,
          failure: { file, message: message.split("\n")[0] ?? message }
        }
      }
    })
  }

  for (const { scenario, source } of options.userScenarios ?? []) {
    jobs.push(() => {
      const began = performance.now()
      const runs = options.runs ?? 1000
      const strategy = options.strategy ?? "random"
      const result = explore(scenario, {
        strategy,
        runs,
        seed,
        preemption: strategy === "random" ? 0.02 : 0,
        depth: 3,
        bound: 2,
        timeBudgetMs: deadline - performance.now()
      })
      options.onProgress?.(scenario.name, result.schedules, runs, result.schedules)
      const failure =
        result.failure === undefined
          ? undefined
          : {
              file: write(outDir, scenario.name, { ...result.failure, source: resolve(source) }),
              message: describe(result.failure)
            }
      return {
        name: scenario.name,
        rules: [],
        inputs: 1,
        schedules: result.schedules,
        elapsedMs: performance.now() - began,
        failure
      }
    })
  }

  for (const job of jobs) {
    if (performance.now() > deadline && reports.length > 0) break
    reports.push(job())
  }
  return {
    properties: reports,
    schedules: reports.reduce((n, r) => n + r.schedules, 0),
    elapsedMs: performance.now() - started,
    failed: reports.some((r) => r.failure !== undefined)
  }
}

const describe = (example: Counterexample): string => {
  const outcome = example.outcome
  return outcome._tag === "Failure"
    ? outcome.message
    : outcome._tag === "Deadlock"
      ? `deadlock: ${example.waiting.join("; ")}`
      : outcome._tag
}

const write = (outDir: string, name: string, example: Counterexample): string =>
  writeCounterexample(name.replace(/[^\w.-]+/g, "_"), example, outDir)

export const defaultOutDir = (): string => join(process.cwd(), "counterexamples")
