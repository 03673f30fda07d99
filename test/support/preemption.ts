import fc from "fast-check"
import { fitPoints, metered, preemptingAt, random, type Strategy } from "../../src/effects/Strategy.ts"

/** How a run is preempted: at random with a probability, or once, fitted to the run at a fraction of it. */
export type Preemption = { readonly probability: number } | { readonly fraction: number }

/**
 * Preemptions drawn at random (each of `probabilities`), or one fitted to the run: a window of one
 * operation is reached only by the second.
 */
export const arbPreemption = (probabilities: ReadonlyArray<number>): fc.Arbitrary<Preemption> =>
  fc.oneof(
    fc.constantFrom(...probabilities).map((probability) => ({ probability })),
    fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }).map((fraction) => ({ fraction }))
  )

/**
 * Runs `scenario` under `seed`'s random strategy with `preemption`: at random, or measured first (a
 * run without preemption, checked too), then once more with the preemption placed at its fraction of
 * the contended operations measured.
 */
export const underPreemption = (seed: number, preemption: Preemption, scenario: (strategy: Strategy) => void): void => {
  if ("probability" in preemption) {
    scenario(random(seed, preemption.probability))
    return
  }
  const measured = metered(random(seed))
  scenario(measured.strategy)
  scenario(preemptingAt(random(seed), fitPoints([preemption.fraction], measured.contended())))
}
