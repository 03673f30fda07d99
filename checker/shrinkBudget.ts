import fc from "fast-check"

/**
 * A fast-check plugin that stops shrinking `budgetMs` after a property first failed: the smallest
 * failing input found by then is reported (fast-check marks the details `interrupted`). A state
 * machine's run takes tens of milliseconds, and its commands shrink in many steps: without a bound, a
 * `beehive check --runs 1000` that found a difference was silent for 39 minutes before it was stopped.
 */
export const shrinkBudget =
  <T>(budgetMs: number): fc.Plugin<T> =>
  () => {
    let failedAt: number | undefined
    const note = (out: fc.PreconditionFailure | fc.PropertyFailure | null) => {
      if (failedAt === undefined && out !== null && !fc.PreconditionFailure.isFailure(out)) failedAt = performance.now()
      return out
    }
    return {
      decorateRun: (nestedRun) => (value) => {
        if (failedAt !== undefined && performance.now() - failedAt > budgetMs) return new fc.PreconditionFailure(true)
        const out = nestedRun(value)
        return (out instanceof Promise ? out.then(note) : note(out)) as typeof out
      }
    }
  }
