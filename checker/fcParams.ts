import type fc from "fast-check"
import { shrinkBudget } from "./shrinkBudget.ts"

const seed = process.env.FC_SEED === undefined ? 20261125 : Number(process.env.FC_SEED)
const runsScale = process.env.FC_RUNS === undefined ? 1 : Number(process.env.FC_RUNS)

/** How long a failing property may shrink, in seconds (FC_SHRINK_SECONDS, default 120). */
export const shrinkSeconds = process.env.FC_SHRINK_SECONDS === undefined ? 120 : Number(process.env.FC_SHRINK_SECONDS)

/**
 * fast-check parameters for a property: a fixed seed (override with FC_SEED) so CI runs are
 * reproducible, `runs` scaled by FC_RUNS for longer campaigns, shrinking bounded by FC_SHRINK_SECONDS.
 * fast-check prints the seed, path and replayPath of any failure; pass them back with FC_SEED and
 * FC_PATH to replay it.
 */
export const fcParams = <T>(runs: number): fc.Parameters<T> => {
  const params: fc.Parameters<T> = {
    seed,
    numRuns: Math.max(1, Math.round(runs * runsScale)),
    plugins: [shrinkBudget(shrinkSeconds * 1000)]
  }
  return process.env.FC_PATH === undefined ? params : { ...params, path: process.env.FC_PATH, endOnFailure: true }
}
