/**
 * The strategies of the deterministic runtime as properties (R-DET-4, R-DET-6), asked directly as the
 * runtime asks them: fitted preemption points are distinct, ascending and inside the measured run;
 * every strategy's name says what it is (the name is what a counterexample and a report show);
 * preemptions at listed operations fire there alone and always switch to another task;
 * PCT preempts exactly at its change points that fall on contended operations and at no uncontended
 * one; and PCT never gives one owner more than 1,000 choices in a row while others are ready, so a
 * busy wait cannot livelock a run.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  fifo,
  fitPoints,
  pct,
  preemptingAt,
  type ReadyTask,
  random,
  refitPoints,
  replay,
  type Strategy
} from "../../src/effects/Strategy.ts"
import { fcParams } from "../support/fc.ts"

const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 })

/** `n` ready tasks of owners 0 .. n-1, as the scheduler shows them. */
const readyOf = (n: number): ReadonlyArray<ReadyTask> => Array.from({ length: n }, (_, owner) => ({ owner }))

describe("R-DET-4 R-DET-6 the strategies", () => {
  it("R-DET-6 R-DET-4 fitted preemption points are distinct, ascending, inside the run, one for each fraction's operation", () =>
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { maxLength: 12 }),
        fc.integer({ min: -2, max: 500 }),
        (fractions, contended) => {
          const points = fitPoints(fractions, contended)
          if (contended <= 0) {
            expect(points).toEqual([])
            return
          }
          // Ascending and distinct: each point strictly after the one before.
          for (let i = 1; i < points.length; i++) expect(points[i]).toBeGreaterThan(points[i - 1] as number)
          for (const p of points) expect(p >= 0 && p < contended && Number.isInteger(p)).toBe(true)
          const wanted = new Set(fractions.map((f) => Math.min(contended - 1, Math.floor(f * contended))))
          expect(new Set(points)).toEqual(wanted)
        }
      ),
      fcParams(300)
    ))

  it("R-DET-4 R-DET-6 refitted points keep those the preempted run reached and move the others, in order, between the last reached and its end", () =>
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 500 })
          .chain((previous) =>
            fc.tuple(
              fc.constant(previous),
              fc.uniqueArray(fc.nat({ max: previous - 1 }), { maxLength: 12 }),
              fc.integer({ min: 0, max: 600 })
            )
          ),
        ([previous, drawn, contended]) => {
          const points = [...drawn].sort((a, b) => a - b)
          const refitted = refitPoints(points, previous, contended)
          const reached = points.filter((p) => p < contended)
          const unreached = points.length - reached.length
          const last = reached.length === 0 ? -1 : (reached[reached.length - 1] as number)
          for (let i = 1; i < refitted.length; i++) expect(refitted[i]).toBeGreaterThan(refitted[i - 1] as number)
          for (const p of refitted) expect(p >= 0 && p < contended && Number.isInteger(p)).toBe(true)
          // The run under the new points is the preempted one up to the first moved point.
          expect(refitted.slice(0, reached.length)).toEqual(reached)
          expect(refitted.length).toBeLessThanOrEqual(points.length)
          if (unreached === 0) expect(refitted).toEqual(points)
          // Room after the last reached point: at least one point moves there (and so fires).
          if (unreached > 0 && last + 1 < contended) expect(refitted.length).toBeGreaterThan(reached.length)
          // Moved points keep their spread: as many as fit in the room left.
          if (unreached > 0 && contended - (last + 1) >= previous)
            expect(refitted.length - reached.length).toBe(unreached)
        }
      ),
      fcParams(300)
    ))

  it("R-DET-6 every strategy's name says what it is: fifo, random and pct with their parameters, replay, and preemption points in ascending order", () =>
    fc.assert(
      fc.property(
        seed,
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.nat({ max: 7 }), { maxLength: 10 }),
        fc.array(fc.nat({ max: 200 }), { maxLength: 6 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (s, depth, choices, points, preemption) => {
          const bases: ReadonlyArray<readonly [Strategy, RegExp]> = [
            [fifo, /^fifo$/],
            [random(s), new RegExp(`^random\\(seed=${s}\\)$`)],
            // A preemption probability is part of the name when there is one: it changes every run.
            [
              random(s, preemption),
              new RegExp(
                preemption > 0
                  ? `^random\\(seed=${s}, preemption=${String(preemption).replace(".", "\\.")}\\)$`
                  : `^random\\(seed=${s}\\)$`
              )
            ],
            [pct(s, depth, 10), new RegExp(`^pct\\(seed=${s}, depth=${depth}, steps=10\\)$`)],
            [replay(choices, points), /^replay$/]
          ]
          const sorted = [...new Set(points)].sort((a, b) => a - b)
          for (const [strategy, name] of bases) {
            expect(strategy.name).toMatch(name)
            expect(preemptingAt(strategy, points).name).toBe(
              `${strategy.name} preempting at contended operations [${sorted.join(", ")}]`
            )
          }
        }
      ),
      fcParams(100)
    ))

  it("R-DET-4 preemptingAt preempts exactly at its listed contended operations, never at an uncontended one, and the choice after each preemption is never the preempted fiber's continuation (the newest ready task)", () =>
    fc.assert(
      fc.property(
        seed,
        fc.uniqueArray(fc.nat({ max: 40 }), { maxLength: 6 }),
        // Per contended operation: how many other tasks are ready, and uncontended operations before it.
        fc.array(fc.record({ others: fc.integer({ min: 1, max: 5 }), uncontended: fc.nat({ max: 2 }) }), {
          minLength: 1,
          maxLength: 40
        }),
        (s, points, operations) => {
          const strategy = preemptingAt(random(s), points)
          let op = 0
          let point = 0
          operations.forEach(({ others, uncontended }, i) => {
            for (let u = 0; u < uncontended; u++) expect(strategy.preempt(op++, 0)).toBe(false)
            const preempted = strategy.preempt(op++, others)
            expect(preempted, `contended operation ${i}`).toBe(points.includes(i))
            // The preempted fiber's continuation joins the ready tasks as the newest.
            const ready = readyOf(others + 1)
            const chosen = strategy.choose(ready, point++)
            if (preempted) expect(chosen, "the task run after a preemption").toBeLessThan(others)
            expect(chosen).toBeGreaterThanOrEqual(0)
            expect(chosen).toBeLessThan(ready.length)
          })
        }
      ),
      fcParams(300)
    ))

  it("R-DET-4 PCT with contended operations preempts exactly at its change points among them, never at an uncontended operation", () =>
    fc.assert(
      fc.property(
        seed,
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 1, max: 60 }),
        // Before each contended operation, how many uncontended ones the run passes (no other task ready).
        fc.array(fc.nat({ max: 3 }), { minLength: 60, maxLength: 60 }),
        (s, depth, contended, uncontendedBefore) => {
          // With no choice points measured, every change point falls on a contended operation: there
          // are depth - 1 draws among `contended` operations, so at least one and at most depth - 1
          // distinct points.
          const strategy = pct(s, depth, 0, contended)
          let op = 0
          let preempted = 0
          for (let i = 0; i < contended; i++) {
            for (let u = 0; u < (uncontendedBefore[i] as number); u++) {
              expect(strategy.preempt(op++, 0), "a preemption with no other task ready").toBe(false)
            }
            if (strategy.preempt(op++, 1)) {
              preempted++
              // The preempted fiber's continuation is the newest ready task; the choice goes on.
              strategy.choose(readyOf(2), i)
            }
          }
          expect(preempted).toBeGreaterThanOrEqual(1)
          expect(preempted).toBeLessThanOrEqual(depth - 1)
          // Uncontended operations do not count: the same strategy without them preempts at the same
          // contended operations.
          const bare = pct(s, depth, 0, contended)
          let bareCount = 0
          for (let i = 0; i < contended; i++) {
            if (bare.preempt(i, 1)) {
              bareCount++
              bare.choose(readyOf(2), i)
            }
          }
          expect(bareCount).toBe(preempted)
        }
      ),
      fcParams(200)
    ))

  it("R-DET-4 PCT runs the oldest ready task of the owner it picks, whatever tasks of one owner (the timers') are ready together", () =>
    fc.assert(
      fc.property(
        seed,
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 50 }),
        fc.boolean(),
        fc.array(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 6 }), {
          minLength: 1,
          maxLength: 40
        }),
        (s, depth, steps, preempting, rounds) => {
          const strategy = pct(s, depth, steps, preempting ? 5 : 0)
          for (const [point, owners] of rounds.entries()) {
            const ready: ReadonlyArray<ReadyTask> = owners.map((owner) => ({ owner }))
            const chosen = strategy.choose(ready, point)
            const owner = (ready[chosen] as ReadyTask).owner
            expect(chosen, `owners ${owners.join(",")}`).toBe(owners.indexOf(owner))
          }
        }
      ),
      fcParams(200)
    ))

  it("R-DET-4 PCT gives no owner more than 1,000 choices in a row while others are ready (a spinning owner drops below all others)", () =>
    fc.assert(
      fc.property(
        seed,
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 0, max: 50 }),
        fc.boolean(),
        (s, depth, owners, steps, preempting) => {
          // Every owner stays ready all along, as fibers busy-waiting on each other with yields.
          const strategy = pct(s, depth, steps, preempting ? 5 : 0)
          const ready = readyOf(owners)
          let last = -1
          let inARow = 0
          let longest = 0
          const seen = new Set<number>()
          for (let point = 0; point < 3500; point++) {
            const owner = (ready[strategy.choose(ready, point)] as ReadyTask).owner
            inARow = owner === last ? inARow + 1 : 1
            last = owner
            longest = Math.max(longest, inARow)
            seen.add(owner)
          }
          expect(longest).toBeLessThanOrEqual(1000)
          // Each demotion hands the run to another owner: over 3,500 choices more than one owner ran.
          expect(seen.size).toBeGreaterThan(1)
        }
      ),
      fcParams(60)
    ))
})
