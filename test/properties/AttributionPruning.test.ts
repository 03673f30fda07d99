/**
 * The attribution of answers without a responder on one connection (R-SOCK-9, R-GSYNC-6) past the
 * pruning of the requests it remembers: however many requests of calls that ended were written over
 * the connection before (more than the 1,024 at which it first forgets those), an answer without a
 * responder to a call still waiting is the module's its request went to when it went to one module of
 * the connection, and stays unattributed when copies went to several.
 *
 * The oracle is SPEC.md's rule and the writes made here, never the attribution's code.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Message from "../../src/model/Message.ts"
import { attributionOver } from "../support/attribution.ts"
import { fcParams } from "../support/fc.ts"

const modules = ["a", "b", "c"]

/** A call still waiting: the modules its copies go to (one, or several for a group call), and when. */
const arbLiveCall = fc.record({
  to: fc.subarray(modules, { minLength: 1 }),
  at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })
})

describe("R-SOCK-9 R-GSYNC-6 attribution past the pruning of ended calls' requests", () => {
  it("R-SOCK-9 R-GSYNC-6 after any number of calls that ended unanswered (past 1,024 too), an answer without a responder to a waiting call is its one module's, or unattributed when its copies went to several", () =>
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1000, max: 2600 })),
        fc.array(arbLiveCall, { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (ended, live, seed) => {
          const pending = new Set<string>()
          const { handed, write, answer } = attributionOver(modules, (id) => pending.has(id))
          // Each live call's copies are written at its place among the ended calls' requests.
          const places = live.map(({ at }) => Math.floor(at * (ended + 1)))
          for (let i = 0; i <= ended; i++) {
            live.forEach(({ to }, c) => {
              if (places[c] !== i) return
              const request = Message.make({ header: { id: `live${c}`, timestamp: 1, sync: true } })
              pending.add(request.header.id)
              for (const module of to) write(request, module)
            })
            if (i === ended) break
            // A call that ends unanswered (its deadline): its request stays written, its call no longer pending.
            const id = `ended${i}`
            pending.add(id)
            write(Message.make({ header: { id, timestamp: 1, sync: true } }), modules[(seed + i) % 3] as string)
            pending.delete(id)
          }
          live.forEach(({ to }, c) => {
            answer(`re-live${c}`, `live${c}`)
            expect(handed.at(-1), `live${c}, written to ${to.join(",")}`).toEqual([
              `re-live${c}`,
              to.length === 1 ? to[0] : undefined
            ])
          })
        }
      ),
      fcParams(60)
    ))
})
