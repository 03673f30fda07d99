/**
 * The live clock's timer queue (R-SYNC-5) as properties: one host timer per delay, on a host whose
 * time the test moves. The oracle is each wait's own record (when it started, its delay, when it was
 * withdrawn), never the queue's lanes.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { liveTimers, TimerQueue, type Wait } from "../../src/effects/TimerQueue.ts"
import { fcParams } from "../support/fc.ts"
import { type HostTimer, makeTimerHost } from "../support/timerHost.ts"

// A few delays most of the time, so that a delay has several waits, due at different times.
const delays = [0, 1, 2, 3, 5, 10] as const

type Step =
  | {
      readonly _tag: "start"
      readonly delay: number
      readonly withdrawOnExpiry: number | undefined
      readonly startOnExpiry: number | undefined
    }
  | { readonly _tag: "withdraw"; readonly which: number }
  | { readonly _tag: "advance"; readonly ms: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    _tag: fc.constant("start" as const),
    delay: fc.oneof(
      { arbitrary: fc.constantFrom(...delays), weight: 4 },
      { arbitrary: fc.integer({ min: 0, max: 80 }), weight: 1 }
    ),
    withdrawOnExpiry: fc.option(fc.nat(40), { nil: undefined }),
    startOnExpiry: fc.option(fc.constantFrom(...delays), { nil: undefined })
  }),
  fc.record({
    _tag: fc.constant("withdraw" as const),
    which: fc.oneof({ arbitrary: fc.nat(2), weight: 3 }, { arbitrary: fc.nat(40), weight: 1 })
  }),
  fc.record({
    _tag: fc.constant("advance" as const),
    ms: fc.oneof(
      { arbitrary: fc.constantFrom(0, 1, 2), weight: 3 },
      { arbitrary: fc.integer({ min: 0, max: 30 }), weight: 1 }
    )
  })
)

interface Record {
  readonly started: number
  readonly delay: number
  readonly wait: Wait<HostTimer>
  withdrawnAt: number | undefined
  expiredAt: Array<number>
}

describe("the live clock's timer queue", () => {
  it("R-SYNC-5 each wait expires once, never before its delay and by the first time the host passes it, unless withdrawn first; a host timer keeps the process alive exactly while a wait is live; what it holds stays bounded", () =>
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 120, size: "max" }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 4 }),
        (steps, minSweep, slack) => {
          const { host, advance, now, timers } = makeTimerHost()
          // Small thresholds, so that sweeping delays and dropping withdrawn waits happen in short runs.
          const queue = new TimerQueue(host, { minSweep, slack })
          const records: Array<Record> = []
          let peakDelays = 0
          const isLive = (r: Record) => r.withdrawnAt === undefined && r.expiredAt.length === 0
          const withdraw = (which: number) => {
            // Counted from the newest, which are behind older waits of their delay more often.
            const record = records[records.length - 1 - (which % Math.max(1, records.length))]
            if (record === undefined) return
            if (isLive(record)) record.withdrawnAt = now()
            record.wait.withdraw()
          }
          const start = (delay: number, withdrawOnExpiry?: number, startOnExpiry?: number) => {
            const index = records.length
            records.push({
              started: now(),
              delay,
              withdrawnAt: undefined,
              expiredAt: [],
              wait: queue.start(delay, () => {
                ;(records[index] as Record).expiredAt.push(now())
                // Expiry may withdraw another wait, as a settled call withdraws its other arms, and
                // start one, as a timer that fired before the clock read its deadline starts again.
                if (withdrawOnExpiry !== undefined) withdraw(withdrawOnExpiry)
                if (startOnExpiry !== undefined) start(startOnExpiry)
              })
            })
          }
          for (const s of steps) {
            if (s._tag === "start") start(s.delay, s.withdrawOnExpiry, s.startOnExpiry)
            else if (s._tag === "withdraw") withdraw(s.which)
            else advance(s.ms)
            const live = records.filter(isLive)
            for (const r of records) {
              expect(r.expiredAt.length).toBeLessThanOrEqual(1)
              const expired = r.expiredAt[0]
              if (expired !== undefined) {
                expect(expired).toBeGreaterThanOrEqual(r.started + r.delay)
                expect(r.withdrawnAt).toBeUndefined()
                // A host timer takes at least a millisecond, as Node's do.
              } else if (r.withdrawnAt === undefined) expect(now()).toBeLessThan(r.started + Math.max(1, r.delay))
            }
            const alive = [...timers].filter((t) => t.pending && t.alive).length
            if (live.length > 0) expect(alive).toBeGreaterThanOrEqual(1)
            else expect(alive).toBe(0)
            // A delay holds its live waits, withdrawn ones up to as many again and `slack` more, and
            // places passed up to as many as it holds and `slack` more; a delay with none keeps nothing.
            const liveDelays = new Set(live.map((r) => r.delay)).size
            for (const held of queue.held) {
              expect(held.live).toBe(live.filter((r) => r.delay === held.delay).length)
              expect(held.withdrawn).toBeLessThanOrEqual(held.live + slack)
              expect(held.passed).toBeLessThanOrEqual(held.live + held.withdrawn + slack)
              if (held.live === 0) expect(held.withdrawn + held.passed).toBe(0)
            }
            peakDelays = Math.max(peakDelays, liveDelays)
            // Delays without waits keep their timers only until there are many delays.
            expect(queue.held.length).toBeLessThanOrEqual(Math.max(minSweep, 2 * peakDelays) + 1)
          }
        }
      ),
      fcParams(200)
    ))

  it("R-SYNC-5 delays whose waits were all withdrawn keep their timers only until there are more than a few delays", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 60 }),
        (minSweep, delays) => {
          const { host } = makeTimerHost()
          const queue = new TimerQueue(host, { minSweep })
          for (const delay of delays) {
            queue.start(delay, () => {}).withdraw()
            expect(queue.held.length).toBeLessThanOrEqual(minSweep + 1)
          }
        }
      ),
      fcParams(100)
    ))

  it("R-SYNC-5 on Node's timers, the live clock's queue keeps the process alive exactly while one of its waits is live: one referenced timer per delay with a live wait, none once every wait is withdrawn", () =>
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            { weight: 3, arbitrary: fc.record({ start: fc.integer({ min: 0, max: 4 }) }) },
            { weight: 2, arbitrary: fc.record({ withdraw: fc.nat(20) }) }
          ),
          { maxLength: 30 }
        ),
        (steps) => {
          // Timers that keep the process alive, less those that did before: the queue's own, as nothing
          // else runs while the property does. Far-off delays: none fires meanwhile.
          const alive = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length
          const before = alive()
          const live: Array<{ readonly delay: number; readonly wait: { readonly withdraw: () => void } }> = []
          for (const step of steps) {
            if ("start" in step) {
              const delay = 3_600_000 + step.start
              live.push({ delay, wait: liveTimers.start(delay, () => {}) })
            } else if (live.length > 0) {
              const [taken] = live.splice(step.withdraw % live.length, 1)
              taken?.wait.withdraw()
            }
            expect(alive() - before, "timers keeping the process alive").toBe(new Set(live.map((w) => w.delay)).size)
          }
          for (const { wait } of live.splice(0)) wait.withdraw()
          expect(alive()).toBe(before)
        }
      ),
      fcParams(100)
    ))
})
