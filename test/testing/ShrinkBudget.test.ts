import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { shrinkBudget } from "../../checker/shrinkBudget.ts"

// A property that fails when its numbers add up to 1,000 or more, and whose runs take about 5 ms:
// its shrinking has many steps (56 runs with this seed), each slow, as a state machine's.
const slowFailing = fc.property(fc.array(fc.nat({ max: 1000 }), { minLength: 30, maxLength: 60 }), (values) => {
  const until = performance.now() + 5
  while (performance.now() < until) {}
  return values.reduce((sum, n) => sum + n, 0) < 1000
})

describe("a failing property's shrinking is bounded in time", () => {
  it("stops shrinking at the budget and reports the smallest failing input found by then", () => {
    const unbounded = fc.check(slowFailing, { seed: 7, numRuns: 1 })
    const started = performance.now()
    const bounded = fc.check(slowFailing, { seed: 7, numRuns: 1, plugins: [shrinkBudget(30)] })
    const elapsed = performance.now() - started
    expect(unbounded.failed && !unbounded.interrupted).toBe(true)
    expect(bounded.failed, "still a failure").toBe(true)
    expect(bounded.interrupted, "marked as interrupted").toBe(true)
    expect(bounded.counterexample?.[0].reduce((sum, n) => sum + n, 0)).toBeGreaterThanOrEqual(1000)
    expect(bounded.numShrinks).toBeLessThan(unbounded.numShrinks)
    // The first failing run, the budget, and the one run under way when it ran out.
    expect(elapsed).toBeLessThan(2_000)
  })

  it("leaves passing and promptly shrunk properties alone", () => {
    const passing = fc.check(
      fc.property(fc.nat(), (n) => n >= 0),
      { seed: 7, numRuns: 50, plugins: [shrinkBudget(0)] }
    )
    expect(passing.failed).toBe(false)
    const quick = fc.check(
      fc.property(fc.nat(), (n) => n < 10),
      { seed: 7, numRuns: 100, plugins: [shrinkBudget(60_000)] }
    )
    expect(quick.failed && !quick.interrupted).toBe(true)
    expect(quick.counterexample).toEqual([10])
  })
})
