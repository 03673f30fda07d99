/**
 * `npm run replay -- FILE`: replays a counterexample file and prints its timeline. Exits 0 when the
 * replay reproduced the recorded trace and outcome exactly, 1 when it did not, 2 on bad usage.
 */
import { readFileSync } from "node:fs"
import type { Command } from "../spec/model/Step.ts"
import { type Counterexample, formatTimeline, replay } from "../src/testing/Explore.ts"
import { runCommands } from "../checker/harness/Runner.ts"
import { scenarios } from "../checker/scenarios/index.ts"

/** Replays a counterexample: the recorded commands (state machine) or the named scenario. */
export const replayFile = (file: string): { readonly reproduced: boolean; readonly timeline: string } => {
  const example = JSON.parse(readFileSync(file, "utf8")) as Counterexample
  if (example.format !== "beehive-effect/counterexample@1") throw new Error(`${file} is not a counterexample file`)
  if (Array.isArray(example.input)) {
    const report = runCommands(example.input as ReadonlyArray<Command>, example)
    const replayed = {
      ...example,
      trace: report.trace,
      outcome:
        report.mismatch === undefined
          ? ({ _tag: "Success" } as const)
          : { _tag: "Failure" as const, message: report.mismatch }
    }
    const reproduced =
      JSON.stringify(report.trace) === JSON.stringify(example.trace) &&
      JSON.stringify(replayed.outcome) === JSON.stringify(example.outcome)
    return { reproduced, timeline: formatTimeline(replayed) }
  }
  const make = scenarios[example.scenario]
  if (make === undefined) {
    throw new Error(`unknown scenario "${example.scenario}"; known: ${Object.keys(scenarios).join(", ")}`)
  }
  const result = replay(make(example.input), example)
  return {
    reproduced: result.reproduced,
    timeline: formatTimeline({
      ...example,
      trace: result.run.trace,
      outcome: result.run.outcome,
      waiting: result.run.waiting
    })
  }
}

if (process.argv[1]?.endsWith("replay.js")) {
  const file = process.argv[2]
  if (file === undefined) {
    console.error("usage: npm run replay -- FILE")
    process.exit(2)
  }
  try {
    const { reproduced, timeline } = replayFile(file)
    console.log(timeline)
    console.log(
      reproduced
        ? "\nreproduced: the replay matches the recorded trace exactly"
        : "\nNOT reproduced: the replay differs from the recorded trace"
    )
    process.exit(reproduced ? 0 : 1)
  } catch (e) {
    console.error((e as Error).message)
    process.exit(2)
  }
}
