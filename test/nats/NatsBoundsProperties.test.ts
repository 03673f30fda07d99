/**
 * The registry's bounds over a real nats-server (R-NATS-4): a client that is no beehive publishes
 * announcements on the registry subject as many processes. SPEC's verdict: the process knows at most
 * `maxPeers` of them and `maxPeerModules` module listings, the announcements past either ignored whole
 * and reported in `AnnouncementsIgnored` events whose counts add up to them, at most one event at once
 * and one at each heartbeat; what fits is learned as always. Until these bounds, the registry grew with
 * whatever the prefix's publishers announced.
 */
import { connect } from "@nats-io/transport-node"
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { NatsEvent } from "../../src/contexts/nats/NatsOptions.ts"
import { fcParams } from "../support/fc.ts"
import { procWith, sharedServer, waitUntil } from "./support.ts"

const server = sharedServer()

/** A plain NATS client of the server (no beehive), closed with the scope. */
const rawClient = Effect.acquireRelease(
  Effect.promise(() => connect({ servers: server.url })),
  (nc) => Effect.promise(() => nc.close())
)

/** Heartbeats a second apart and 3 missed: the announcers stay known while a case runs. */
const heartbeatMs = 1000

/** The registry as SPEC describes it, fed the announcements in the order published. */
const model = (maxPeers: number, maxPeerModules: number) => {
  const known = new Map<string, ReadonlySet<string>>()
  let ignored = 0
  return {
    known,
    get ignored() {
      return ignored
    },
    hear(process: string, modules: ReadonlyArray<string>) {
      const before = known.get(process)
      const listed = [...known.values()].reduce((n, m) => n + m.size, 0)
      const room = maxPeerModules - (listed - (before?.size ?? 0))
      if ((before === undefined && known.size >= maxPeers) || new Set(modules).size > room) ignored++
      else known.set(process, new Set(modules))
    }
  }
}

const ignoredEvents = (events: ReadonlyArray<NatsEvent>) =>
  events.flatMap((e) => (e._tag === "AnnouncementsIgnored" ? [e] : []))

describe("R-NATS-4 the registry's bounds", () => {
  let run = 0
  it(
    "R-NATS-4 R-NATS-10 announcements from many processes: those within maxPeers and maxPeerModules learned, the others ignored whole and reported, the reported counts adding up to them",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 1, max: 10 }),
          fc.array(
            fc.record({
              process: fc.nat(5),
              kind: fc.constantFrom("hello" as const, "beat" as const),
              modules: fc.uniqueArray(fc.constantFrom("a", "b", "c", "d", "e"), { maxLength: 5 })
            }),
            { minLength: 1, maxLength: 16 }
          ),
          (maxPeers, maxPeerModules, announcements) =>
            Effect.runPromise(
              Effect.scoped(
                Effect.gen(function* () {
                  const prefix = `bounds${++run}`
                  const p = yield* procWith(server.url, { prefix, heartbeatMs, maxPeers, maxPeerModules })
                  const raw = yield* rawClient
                  const expected = model(maxPeers, maxPeerModules)
                  for (const a of announcements) {
                    const process = `fake${a.process}`
                    expected.hear(process, a.modules)
                    raw.publish(`${prefix}.reg`, JSON.stringify({ v: 1, process, kind: a.kind, modules: a.modules }))
                  }
                  // Every ignored announcement reported, within a heartbeat.
                  const reported = () => ignoredEvents(p.events).reduce((n, e) => n + e.count, 0)
                  yield* waitUntil(
                    () =>
                      reported() === expected.ignored &&
                      p.events.filter((e) => e._tag === "PeerUp").length === expected.known.size,
                    `${expected.ignored} announcements reported ignored`,
                    3 * heartbeatMs
                  )
                  const remote = yield* p.nats.remoteModules
                  expect(remote.map(({ module, processes }) => [module, [...processes].sort()]).sort()).toEqual(
                    [...new Set([...expected.known.values()].flatMap((m) => [...m]))]
                      .map((m) => [m, [...expected.known].flatMap(([q, ms]) => (ms.has(m) ? [q] : [])).sort()])
                      .sort()
                  )
                  // One at once, the rest at the heartbeat (this case runs within two).
                  expect(ignoredEvents(p.events).length).toBeLessThanOrEqual(3)
                  for (const e of ignoredEvents(p.events)) expect(e.process.startsWith("fake")).toBe(true)
                })
              )
            )
        ),
        fcParams(10)
      ),
    120_000
  )

  it(
    "R-NATS-4 a flood of announcements from distinct processes keeps at most maxPeers of them, and is reported in a few events whose counts add up to the rest",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 16 }),
          fc.integer({ min: 500, max: 5000 }),
          fc.integer({ min: 1, max: 20 }),
          (maxPeers, processes, modulesEach) =>
            Effect.runPromise(
              Effect.scoped(
                Effect.gen(function* () {
                  const prefix = `flood${++run}`
                  const p = yield* procWith(server.url, { prefix, heartbeatMs, maxPeers })
                  const raw = yield* rawClient
                  const modules = Array.from({ length: modulesEach }, (_, i) => `m${i}`)
                  for (let i = 0; i < processes; i++)
                    raw.publish(`${prefix}.reg`, JSON.stringify({ v: 1, process: `f${i}`, kind: "beat", modules }))
                  const reported = () => ignoredEvents(p.events).reduce((n, e) => n + e.count, 0)
                  yield* waitUntil(
                    () => reported() === processes - maxPeers,
                    `${processes - maxPeers} announcements reported ignored`,
                    3 * heartbeatMs
                  )
                  const remote = yield* p.nats.remoteModules
                  expect(remote.map((r) => [r.module, r.processes.length])).toEqual(modules.map((m) => [m, maxPeers]))
                  expect(p.events.filter((e) => e._tag === "PeerUp")).toHaveLength(maxPeers)
                  expect(ignoredEvents(p.events).length).toBeLessThanOrEqual(3)
                  expect(ignoredEvents(p.events)[0]).toMatchObject({
                    reason: `${maxPeers} processes known (maxPeers)`,
                    moduleCount: modulesEach
                  })
                })
              )
            )
        ),
        fcParams(4)
      ),
    120_000
  )
})
